import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatTrace, formatTraceError, parseTrace } from "../../../shared/sim/trace.ts";
import type { TraceRun } from "../../../shared/sim/types.ts";

const run = (overrides: Partial<TraceRun> = {}): TraceRun => ({
  submittedAt: Date.parse("2026-01-05T09:12:00Z"),
  pool: "compute",
  durationMin: 35,
  hosts: 1,
  source: "adhoc",
  ...overrides,
});

const GOOD =
  '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "durationMin": 35, "source": "adhoc"}';

/** The errors of a rejected trace, failing loudly when it was accepted. */
function errorsOf(text: string): { line: number; field: string; message: string }[] {
  const result = parseTrace(text);
  if (result.ok)
    throw new Error(`expected the trace to be rejected, got ${result.runs.length} runs`);
  return result.errors;
}

/** The runs of an accepted trace, failing loudly with its errors. */
function runsOf(text: string): TraceRun[] {
  const result = parseTrace(text);
  if (!result.ok) throw new Error(`expected a valid trace, got ${JSON.stringify(result.errors)}`);
  return result.runs;
}

describe("parseTrace", () => {
  it("reads a run with hosts defaulting to 1", () => {
    const text = GOOD;

    const runs = runsOf(text);

    expect(runs).toEqual([run()]);
  });

  it("skips blank lines and # comments", () => {
    const text = ["# a trace", "", "   ", GOOD, "  # indented comment", ""].join("\n");

    const runs = runsOf(text);

    expect(runs).toHaveLength(1);
  });

  it("reads instants with an offset and fractional minutes", () => {
    const text =
      '{"submittedAt": "2026-07-01T10:12:30+01:00", "pool": "risk", "durationMin": 42.5, "hosts": 2, "source": "scheduled"}';

    const runs = runsOf(text);

    expect(runs).toEqual([
      {
        submittedAt: Date.parse("2026-07-01T09:12:30Z"),
        pool: "risk",
        durationMin: 42.5,
        hosts: 2,
        source: "scheduled",
      },
    ]);
  });

  it("sorts runs by submission, keeping the file's order for equal instants", () => {
    const text = [
      '{"submittedAt": "2026-01-05T11:00:00Z", "pool": "a", "durationMin": 1, "source": "adhoc"}',
      '{"submittedAt": "2026-01-05T10:00:00Z", "pool": "b", "durationMin": 1, "source": "adhoc"}',
      '{"submittedAt": "2026-01-05T10:00:00Z", "pool": "c", "durationMin": 1, "source": "adhoc"}',
    ].join("\n");

    const runs = runsOf(text);

    expect(runs.map((r) => r.pool)).toEqual(["b", "c", "a"]);
  });

  it("reads Windows line endings", () => {
    const text = `${GOOD}\r\n${GOOD}\r\n`;

    const runs = runsOf(text);

    expect(runs).toHaveLength(2);
  });

  it("accepts an empty trace", () => {
    expect(runsOf("")).toEqual([]);
  });

  it.each([
    [
      "bad JSON",
      '{"submittedAt": "2026-01-05T09:12:00Z",',
      "(line)",
      /expected one JSON object per line, found invalid JSON/,
    ],
    ["a JSON array", "[1, 2]", "(line)", /expected a JSON object, found an array/],
    [
      "a missing field",
      '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "source": "adhoc"}',
      "durationMin",
      /expected a number of minutes greater than 0, found nothing; fix: add "durationMin": 35/,
    ],
    [
      "an unknown key",
      '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "durationMin": 35, "source": "adhoc", "user": "ann"}',
      "user",
      /expected only the keys submittedAt, pool, durationMin, hosts, source, found unknown key "user"; fix: remove it/,
    ],
    [
      "a misspelt key",
      '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "durationMin": 35, "host": 2, "source": "adhoc"}',
      "host",
      /did you mean "hosts"\?/,
    ],
    [
      "an instant without a zone",
      '{"submittedAt": "2026-01-05T09:12:00", "pool": "compute", "durationMin": 35, "source": "adhoc"}',
      "submittedAt",
      /expected an ISO instant with Z or an offset .*, found "2026-01-05T09:12:00"; fix: add Z/,
    ],
    [
      "an impossible date",
      '{"submittedAt": "2026-02-30T09:12:00Z", "pool": "compute", "durationMin": 35, "source": "adhoc"}',
      "submittedAt",
      /found "2026-02-30T09:12:00Z"/,
    ],
    [
      "a negative duration",
      '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "durationMin": -5, "source": "adhoc"}',
      "durationMin",
      /expected a number of minutes greater than 0, found -5; fix: /,
    ],
    [
      "a duration in quotes",
      '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "durationMin": "35", "source": "adhoc"}',
      "durationMin",
      /found "35"; fix: write the minutes as a number without quotes/,
    ],
    [
      "hosts 0",
      '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "durationMin": 35, "hosts": 0, "source": "adhoc"}',
      "hosts",
      /expected a whole number of hosts of at least 1, found 0; fix: /,
    ],
    [
      "fractional hosts",
      '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "durationMin": 35, "hosts": 1.5, "source": "adhoc"}',
      "hosts",
      /found 1\.5/,
    ],
    [
      "a bad source",
      '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "durationMin": 35, "source": "cron"}',
      "source",
      /expected "adhoc" or "scheduled", found "cron"; fix: /,
    ],
    [
      "an empty pool",
      '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "", "durationMin": 35, "source": "adhoc"}',
      "pool",
      /expected a pool name, found ""/,
    ],
  ])("rejects %s, naming the line and the field", (_case, line, field, message) => {
    const text = `# header\n${GOOD}\n${line}\n`;

    const errors = errorsOf(text);

    expect(errors).toEqual([
      { line: 3, field, message: expect.stringMatching(message) as unknown },
    ]);
  });

  it("reports every bad line and every bad field at once", () => {
    const text = [
      GOOD,
      "not json",
      '{"submittedAt": "2026-01-05 09:12", "pool": "compute", "durationMin": 0, "hosts": 0, "source": "adhoc"}',
      GOOD,
      '{"pool": "compute", "durationMin": 35, "source": "nightly", "extra": true}',
    ].join("\n");

    const errors = errorsOf(text);

    expect(errors.map((e) => `${e.line} ${e.field}`)).toEqual([
      "2 (line)",
      "3 submittedAt",
      "3 durationMin",
      "3 hosts",
      "5 submittedAt",
      "5 source",
      "5 extra",
    ]);
  });

  it("gives one message per field when a value fails two checks", () => {
    const text =
      '{"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "durationMin": 35, "hosts": 0.5, "source": "adhoc"}';

    const errors = errorsOf(text);

    expect(errors).toHaveLength(1);
  });
});

describe("formatTraceError", () => {
  it("reads as line, field and message", () => {
    expect(formatTraceError({ line: 3, field: "hosts", message: "expected ..." })).toBe(
      "line 3: hosts: expected ...",
    );
  });
});

describe("formatTrace", () => {
  it("writes the canonical line: every key, UTC, no milliseconds", () => {
    const runs = [run({ submittedAt: Date.parse("2026-07-01T10:12:30.750+01:00") })];

    const text = formatTrace(runs);

    expect(text).toBe(
      '{"submittedAt":"2026-07-01T09:12:30Z","pool":"compute","durationMin":35,"hosts":1,"source":"adhoc"}\n',
    );
  });

  it("writes nothing for no runs", () => {
    expect(formatTrace([])).toBe("");
  });

  it("round-trips through parseTrace, sorted by submission", () => {
    const traceRun = fc.record({
      // Whole seconds: the canonical form has no milliseconds.
      submittedAt: fc
        .integer({
          min: Date.parse("2000-01-01T00:00:00Z") / 1000,
          max: Date.parse("2100-01-01T00:00:00Z") / 1000,
        })
        .map((s) => s * 1000),
      pool: fc.string({ minLength: 1, maxLength: 12 }),
      durationMin: fc.double({ min: 0.001, max: 10_000, noNaN: true }),
      hosts: fc.integer({ min: 1, max: 64 }),
      source: fc.constantFrom("adhoc" as const, "scheduled" as const),
    });

    fc.assert(
      fc.property(fc.array(traceRun, { maxLength: 30 }), (runs) => {
        const result = parseTrace(formatTrace(runs));

        expect(result).toEqual({
          ok: true,
          runs: [...runs].sort((a, b) => a.submittedAt - b.submittedAt),
        });
      }),
    );
  });
});
