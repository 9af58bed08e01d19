import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../../../shared/config/index.ts";
import { formatTrace, parseTrace } from "../../../shared/sim/trace.ts";
import { generateTrace, startOfUtcWeek, TRACE_SHAPE } from "../../../shared/sim/trace-generate.ts";
import type { TraceRun } from "../../../shared/sim/types.ts";
import { EXIT, UsageError } from "../../../bin/cli/errors.ts";
import { traceGenerate } from "../../../bin/cli/trace-commands.ts";
import { memoryIo } from "../../support/cli-io.ts";
import { rawConfigWith } from "../../support/config-builder.ts";
import { plannerConfig } from "../../support/snapshot-builder.ts";
import { tempConfigFile } from "../../support/temp-files.ts";

const LONDON = "Europe/London";
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** A Monday; the window holds January's month end (Thu 29th, Fri 30th). */
const JAN_19 = Date.parse("2026-01-19T00:00:00Z");
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

async function exampleConfig(): Promise<Config> {
  const result = await loadConfig("examples/vor-power.yaml");
  if (!result.ok)
    throw new Error(`the example config is invalid: ${JSON.stringify(result.errors)}`);
  return result.config;
}

const example = await exampleConfig();

const twoWeeks = (seed: number, start = JAN_19): TraceRun[] =>
  generateTrace({ config: example, start, days: 14, seed });

const local = (run: TraceRun): DateTime => DateTime.fromMillis(run.submittedAt, { zone: LONDON });

const adhoc = (runs: TraceRun[]): TraceRun[] => runs.filter((r) => r.source === "adhoc");

const sum = (values: number[]): number => values.reduce((total, v) => total + v, 0);

const hostMinutes = (runs: TraceRun[]): number => sum(runs.map((r) => r.hosts * r.durationMin));

/** The busiest hour's average concurrent host demand, if every run started when submitted. */
function busiestHourDemand(runs: TraceRun[]): number {
  const byHour = new Map<number, number>();
  for (const run of runs) {
    const end = run.submittedAt + run.durationMin * 60_000;
    for (let hour = Math.floor(run.submittedAt / HOUR_MS); hour * HOUR_MS < end; hour += 1) {
      const overlap =
        Math.min(end, (hour + 1) * HOUR_MS) - Math.max(run.submittedAt, hour * HOUR_MS);
      byHour.set(hour, (byHour.get(hour) ?? 0) + (run.hosts * overlap) / HOUR_MS);
    }
  }
  return Math.max(...byHour.values());
}

describe("generateTrace", () => {
  it("gives the same trace for the same seed", () => {
    const first = twoWeeks(7);

    const second = twoWeeks(7);

    expect(second).toEqual(first);
  });

  it("gives different traces for different seeds", () => {
    const one = twoWeeks(1);

    const two = twoWeeks(2);

    expect(formatTrace(two)).not.toBe(formatTrace(one));
  });

  it("writes sorted runs of whole seconds inside the range, which the trace format round-trips", () => {
    const runs = twoWeeks(1);

    const reread = parseTrace(formatTrace(runs));

    expect(reread).toEqual({ ok: true, runs });
    expect(runs.every((r) => r.submittedAt >= JAN_19 && r.submittedAt < JAN_19 + 14 * DAY_MS)).toBe(
      true,
    );
    expect(runs.every((r) => r.submittedAt % 1000 === 0 && r.pool === "compute")).toBe(true);
    expect(runs.map((r) => r.submittedAt)).toEqual(
      runs.map((r) => r.submittedAt).sort((a, b) => a - b),
    );
  });

  it("makes 180-250 runs in two weeks of the example on average, each seed within 150-300", () => {
    const counts = SEEDS.map((seed) => twoWeeks(seed).length);

    const mean = sum(counts) / counts.length;

    expect(mean).toBeGreaterThanOrEqual(180);
    expect(mean).toBeLessThanOrEqual(250);
    for (const count of counts) {
      expect(count).toBeGreaterThanOrEqual(150);
      expect(count).toBeLessThanOrEqual(300);
    }
  });

  it("keeps the busiest hour's demand near the pool's max at scale 1, on average over seeds", () => {
    const peaks = SEEDS.map((seed) => busiestHourDemand(twoWeeks(seed)));

    const mean = sum(peaks) / peaks.length;

    expect(mean).toBeLessThanOrEqual(1.25 * 8);
    expect(mean).toBeGreaterThan(3);
  });

  it("submits more ad hoc runs on weekdays than at weekends", () => {
    const runs = SEEDS.flatMap((seed) => adhoc(twoWeeks(seed)));

    const weekend = runs.filter((r) => local(r).weekday >= 6).length / (4 * SEEDS.length);
    const weekday = runs.filter((r) => local(r).weekday <= 5).length / (10 * SEEDS.length);

    expect(weekend).toBeGreaterThan(0);
    expect(weekend).toBeLessThan(10);
    expect(weekday).toBeGreaterThan(5 * weekend);
  });

  it("submits more ad hoc runs per hour in London business hours than at night", () => {
    const weekdayRuns = SEEDS.flatMap((seed) => adhoc(twoWeeks(seed))).filter(
      (r) => local(r).weekday <= 5,
    );

    const business =
      weekdayRuns.filter((r) => local(r).hour >= 7 && local(r).hour < 19).length / 12;
    const night = weekdayRuns.filter((r) => local(r).hour < 7 || local(r).hour >= 19).length / 12;

    expect(business).toBeGreaterThan(10 * night);
  });

  it("peaks mid-morning and after lunch, with a dip at lunch", () => {
    const weekdayRuns = SEEDS.flatMap((seed) => adhoc(twoWeeks(seed))).filter(
      (r) => local(r).weekday <= 5,
    );

    const inHour = (hour: number) => weekdayRuns.filter((r) => local(r).hour === hour).length;

    expect(inHour(10)).toBeGreaterThan(1.5 * inHour(12));
    expect(inHour(14)).toBeGreaterThan(1.5 * inHour(12));
    expect(inHour(12)).toBeGreaterThan(inHour(7));
  });

  it("submits ad hoc runs in clusters of several runs within minutes", () => {
    const runs = adhoc(twoWeeks(1));

    const gapsMin = runs
      .slice(1)
      .map((r, i) => (r.submittedAt - (runs[i]?.submittedAt ?? 0)) / 60_000);

    // Independent arrivals at ~30 a day would rarely come within 5 minutes of each other.
    expect(gapsMin.filter((gap) => gap < 5).length / gapsMin.length).toBeGreaterThan(0.3);
  });

  it("shapes ad hoc durations: typically 20-60 minutes, occasionally 2 hours, about 10% on 2 hosts", () => {
    const runs = SEEDS.flatMap((seed) => adhoc(twoWeeks(seed, Date.parse("2026-03-02T00:00:00Z"))));

    const minutes = runs.map((r) => r.durationMin).sort((a, b) => a - b);
    const median = minutes[Math.floor(minutes.length / 2)] ?? 0;
    const typical = minutes.filter((m) => m >= 20 && m <= 60).length / minutes.length;
    const long = minutes.filter((m) => m >= 100).length / minutes.length;
    const twoHosts = runs.filter((r) => r.hosts === 2).length / runs.length;

    expect(median).toBeGreaterThanOrEqual(30);
    expect(median).toBeLessThanOrEqual(45);
    expect(typical).toBeGreaterThan(0.55);
    expect(long).toBeGreaterThan(0.02);
    expect(long).toBeLessThan(0.12);
    expect(twoHosts).toBeGreaterThan(0.07);
    expect(twoHosts).toBeLessThan(0.13);
    expect(runs.every((r) => r.hosts === 1 || r.hosts === 2)).toBe(true);
  });

  it("doubles the ad hoc host-hours on the month's last two business days", () => {
    const runs = SEEDS.flatMap((seed) => adhoc(twoWeeks(seed)));
    const onDays = (...days: string[]) =>
      runs.filter((r) => days.includes(local(r).toISODate() ?? ""));

    const monthEnd = onDays("2026-01-29", "2026-01-30");
    const weekBefore = onDays("2026-01-22", "2026-01-23");

    const ratio = hostMinutes(monthEnd) / hostMinutes(weekBefore);
    expect(ratio).toBeGreaterThan(1.6);
    expect(ratio).toBeLessThan(2.6);
    expect(monthEnd.length).toBeGreaterThan(1.2 * weekBefore.length);
    expect(hostMinutes(monthEnd) / monthEnd.length).toBeGreaterThan(
      1.2 * (hostMinutes(weekBefore) / weekBefore.length),
    );
  });

  it("submits the nightly batch at every firing, 02:00 London on weekdays across the DST change", () => {
    // 16 March to 12 April 2026: London moves to BST on Sunday 29 March.
    const start = Date.parse("2026-03-16T00:00:00Z");

    const scheduled = generateTrace({ config: example, start, days: 28, seed: 3 }).filter(
      (r) => r.source === "scheduled",
    );

    const expected = [
      ...["16", "17", "18", "19", "20", "23", "24", "25", "26", "27"].map(
        (d) => `2026-03-${d}T02:00:00Z`,
      ),
      ...["2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02", "2026-04-03"].map(
        (d) => `${d}T01:00:00Z`,
      ),
      ...["06", "07", "08", "09", "10"].map((d) => `2026-04-${d}T01:00:00Z`),
    ].map((text) => Date.parse(text));
    expect(scheduled.map((r) => r.submittedAt)).toEqual(expected);
    expect(new Set(scheduled.map((r) => local(r).toFormat("HH:mm")))).toEqual(new Set(["02:00"]));
    expect(scheduled.every((r) => r.hosts === 4 && r.pool === "compute")).toBe(true);
  });

  it("makes scheduled runs last about their expectedDuration, mostly shorter", () => {
    const scheduled = SEEDS.flatMap((seed) => twoWeeks(seed)).filter(
      (r) => r.source === "scheduled",
    );

    const shorter = scheduled.filter((r) => r.durationMin < 180).length / scheduled.length;

    expect(scheduled).toHaveLength(10 * SEEDS.length);
    expect(shorter).toBeGreaterThan(0.7);
    expect(scheduled.every((r) => r.durationMin >= 0.5 * 180 && r.durationMin <= 1.25 * 180)).toBe(
      true,
    );
  });

  it("multiplies the ad hoc arrivals by scale and leaves scheduled runs alone", () => {
    const base = SEEDS.slice(0, 3).map((seed) => twoWeeks(seed));

    const scaled = SEEDS.slice(0, 3).map((seed) =>
      generateTrace({ config: example, start: JAN_19, days: 14, seed, scale: 10 }),
    );

    const ratio = sum(scaled.map((r) => adhoc(r).length)) / sum(base.map((r) => adhoc(r).length));
    expect(ratio).toBeGreaterThan(8.5);
    expect(ratio).toBeLessThan(11.5);
    expect(scaled.map((r) => r.length - adhoc(r).length)).toEqual([10, 10, 10]);
  });

  it("follows each pool's office zone and size, and gives each pool its own stream", () => {
    const withGpu = plannerConfig(
      [
        "schedules.new-york",
        {
          timezone: "America/New_York",
          periods: [{ begintime: "08:00", endtime: "18:00", weekdays: "mon-fri" }],
        },
      ],
      ["pools.gpu", { max: 1, windows: [{ schedule: "new-york", hosts: 1 }] }],
    );
    const computeOnly = plannerConfig();

    const runs = SEEDS.flatMap((seed) =>
      generateTrace({ config: withGpu, start: JAN_19, days: 14, seed }),
    );
    const alone = SEEDS.flatMap((seed) =>
      generateTrace({ config: computeOnly, start: JAN_19, days: 14, seed }),
    );

    const gpu = runs.filter((r) => r.pool === "gpu");
    const compute = runs.filter((r) => r.pool === "compute");
    expect(compute).toEqual(alone);
    expect(gpu.every((r) => r.hosts === 1 && r.source === "adhoc")).toBe(true);
    // A pool of 1 host gets about an eighth of a pool of 8's runs.
    expect(gpu.length / compute.length).toBeLessThan(0.25);
    const newYorkHour = (r: TraceRun) =>
      DateTime.fromMillis(r.submittedAt, { zone: "America/New_York" }).hour;
    const inOffice = gpu.filter((r) => newYorkHour(r) >= 7 && newYorkHour(r) < 19).length;
    expect(inOffice / gpu.length).toBeGreaterThan(0.8);
  });

  it("gives a pool of max 0 no ad hoc runs", () => {
    const config = plannerConfig(
      ["pools.compute.max", 0],
      ["pools.compute.windows", []],
      ["runSchedules", {}],
    );

    const runs = generateTrace({ config, start: JAN_19, days: 14, seed: 1 });

    expect(runs).toEqual([]);
  });

  it("exports its parameters for the README", () => {
    expect(TRACE_SHAPE.adhoc.weekdayClustersPerHour).toHaveLength(24);
    expect(TRACE_SHAPE.adhoc.weekendClustersPerHour).toHaveLength(24);
    expect(TRACE_SHAPE.monthEnd.businessDays).toBe(2);
  });
});

describe("startOfUtcWeek", () => {
  it.each([
    ["2026-01-19T00:00:00Z", "2026-01-19T00:00:00Z"],
    ["2026-01-21T13:45:10Z", "2026-01-19T00:00:00Z"],
    ["2026-01-25T23:59:59Z", "2026-01-19T00:00:00Z"],
    ["2026-01-26T00:00:00Z", "2026-01-26T00:00:00Z"],
    ["1970-01-01T00:00:00Z", "1969-12-29T00:00:00Z"],
  ])("puts %s in the week of Monday %s", (instant, monday) => {
    expect(startOfUtcWeek(Date.parse(instant))).toBe(Date.parse(monday));
  });
});

/** Runs the command as runCli would: a UsageError becomes exit 2 with its message on stderr. */
async function cli(
  io: ReturnType<typeof memoryIo>,
  options: Parameters<typeof traceGenerate>[1],
): Promise<number> {
  try {
    return await traceGenerate(io, options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(error.message);
    return EXIT.usage;
  }
}

describe("vor-power trace generate", () => {
  it("writes the example's trace to stdout as JSON Lines that parseTrace accepts", async () => {
    const io = memoryIo();

    const code = await cli(io, { days: "14", seed: "1", start: "2026-01-19T00:00:00Z" });

    expect(code).toBe(EXIT.done);
    expect(io.stderr).toEqual([]);
    const parsed = parseTrace(io.stdout.join("\n"));
    expect(parsed).toEqual({ ok: true, runs: twoWeeks(1) });
  });

  it("writes to --out and says what it wrote", async () => {
    const config = tempConfigFile(rawConfigWith());
    const out = join(dirname(config), "trace.jsonl");
    const io = memoryIo();

    const code = await cli(io, {
      config,
      days: "7",
      seed: "2",
      start: "2026-01-19T00:00:00Z",
      out,
    });

    expect(code).toBe(EXIT.done);
    const parsed = parseTrace(readFileSync(out, "utf8"));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    expect(parsed.runs.length).toBeGreaterThan(50);
    expect(io.stdout).toEqual([
      expect.stringMatching(
        new RegExp(
          `^wrote ${parsed.runs.length} runs \\(\\d+ ad hoc, 5 scheduled\\) from 2026-01-19T00:00:00Z for 7 days, seed 2, to .*trace\\.jsonl$`,
        ),
      ),
    ]);
  });

  it("starts on Monday 00:00Z of the current week without --start", async () => {
    const io = memoryIo(new Date("2026-03-04T10:00:00Z"));

    await cli(io, { days: "1", seed: "1" });

    const parsed = parseTrace(io.stdout.join("\n"));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    expect(parsed.runs[0]?.submittedAt).toBe(Date.parse("2026-03-02T02:00:00Z"));
  });

  it.each([
    [{ days: "0", seed: "1" }, /^--days: expected a whole number from 1 to 366, found "0"/],
    [{ days: "two", seed: "1" }, /^--days: .*found "two"/],
    [
      { days: "14", seed: "-1" },
      /^--seed: expected a whole number from 0 to 4294967295, found "-1"/,
    ],
    [{ days: "14", seed: "1.5" }, /^--seed: .*found "1\.5"/],
    [
      { days: "14", seed: "1", start: "2026-01-19T00:00" },
      /^--start: expected an ISO instant with Z or an offset/,
    ],
    [{ days: "14", seed: "1", scale: "0" }, /^--scale: expected a load multiplier above 0/],
    [{ days: "14", seed: "1", out: "" }, /^--out: expected a file path/],
  ])("rejects %o with exit 2, naming the flag", async (options, message) => {
    const io = memoryIo();

    const code = await cli(io, options);

    expect(code).toBe(EXIT.usage);
    expect(io.stderr).toEqual([expect.stringMatching(message)]);
    expect(io.stdout).toEqual([]);
  });

  it("exits 2 listing the errors of an invalid config", async () => {
    const config = tempConfigFile(rawConfigWith(["pools.compute.min", 9]));
    const io = memoryIo();

    const code = await cli(io, { config, days: "14", seed: "1" });

    expect(code).toBe(EXIT.usage);
    expect(io.stderr[0]).toMatch(/: 1 error; nothing was run\.$/);
    expect(io.stdout).toEqual([]);
  });

  it("exits 1 when --out cannot be written", async () => {
    const io = memoryIo();

    const code = await cli(io, { days: "1", seed: "1", out: "/nonexistent/dir/trace.jsonl" });

    expect(code).toBe(EXIT.failed);
    expect(io.stderr.join("\n")).toContain("could not write /nonexistent/dir/trace.jsonl (ENOENT)");
  });
});
