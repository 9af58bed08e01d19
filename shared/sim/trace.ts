// The workload trace file of the simulator: JSON Lines, parsed strictly, every bad line reported.
import { DateTime } from "luxon";
import { z } from "zod";
import type { TraceRun } from "./types.ts";

/** The keys of a trace line, in canonical order. */
export const TRACE_KEYS = ["submittedAt", "pool", "durationMin", "hosts", "source"] as const;

const ZONED_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

function described(input: unknown): string {
  if (input === undefined) return "nothing";
  if (typeof input === "string") return JSON.stringify(input);
  if (input === null || typeof input === "number" || typeof input === "boolean")
    return String(input);
  return Array.isArray(input) ? "an array" : "an object";
}

/** "expected X, found Y; fix: Z", with "add it" when the field is missing. */
function fieldMessage(expected: string, fix: string, addExample: string) {
  return (issue: { input: unknown }): string =>
    issue.input === undefined
      ? `expected ${expected}, found nothing; fix: add ${addExample}`
      : `expected ${expected}, found ${described(issue.input)}; fix: ${fix}`;
}

const instantMessage = fieldMessage(
  'an ISO instant with Z or an offset such as "2026-01-05T09:12:00Z"',
  "add Z (UTC) or the offset such as +01:00; a local time alone means a different moment in every zone",
  '"submittedAt": "2026-01-05T09:12:00Z"',
);

function isZonedInstant(text: string): boolean {
  return ZONED_ISO.test(text) && DateTime.fromISO(text, { setZone: true }).isValid;
}

/**
 * A workload trace: one run per line, as JSON, sorted by submission when read.
 *
 * ```jsonl
 * # the nightly batch and two analysts' runs
 * {"submittedAt": "2026-01-05T02:00:00Z", "pool": "compute", "durationMin": 150, "hosts": 4, "source": "scheduled"}
 * {"submittedAt": "2026-01-05T09:12:00Z", "pool": "compute", "durationMin": 35, "source": "adhoc"}
 * {"submittedAt": "2026-01-05T10:12:30+01:00", "pool": "compute", "durationMin": 42.5, "hosts": 2, "source": "adhoc"}
 * ```
 *
 * - `submittedAt`: when the run was submitted, ISO 8601 with `Z` or an offset (never local time);
 * - `pool`: the pool that runs it (a pool of the config);
 * - `durationMin`: how long it runs once started, minutes, > 0 (fractions allowed);
 * - `hosts`: hosts it needs at once, a whole number >= 1, default 1;
 * - `source`: `adhoc` (an analyst) or `scheduled` (a run schedule's firing).
 *
 * Blank lines and lines starting with `#` are skipped; any other key is an error.
 *
 * The schema's output is a `TraceRun` (`submittedAt` in epoch milliseconds).
 */
export const traceLineSchema = z.strictObject({
  submittedAt: z
    .string({ error: instantMessage })
    .refine(isZonedInstant, { error: instantMessage })
    .transform((text) => DateTime.fromISO(text, { setZone: true }).toMillis()),
  pool: z
    .string({ error: fieldMessage("a pool name", "write the pool's name", '"pool": "compute"') })
    .min(1, {
      error: () => 'expected a pool name, found ""; fix: write the name of a pool of the config',
    }),
  durationMin: z
    .number({
      error: fieldMessage(
        "a number of minutes greater than 0",
        "write the minutes as a number without quotes, e.g. 35",
        '"durationMin": 35',
      ),
    })
    .positive({
      error: (issue) =>
        `expected a number of minutes greater than 0, found ${described(issue.input)}; fix: write how long the run takes once started, e.g. 35`,
    }),
  hosts: z
    .number({
      error: fieldMessage(
        "a whole number of hosts of at least 1",
        "write a number without quotes, or leave it out for 1",
        '"hosts": 1',
      ),
    })
    .int({
      error: (issue) =>
        `expected a whole number of hosts of at least 1, found ${described(issue.input)}; fix: round it to the hosts the run needs at once`,
    })
    .min(1, {
      error: (issue) =>
        `expected a whole number of hosts of at least 1, found ${described(issue.input)}; fix: write 1 or more, or leave it out for 1`,
    })
    .default(1),
  source: z.enum(["adhoc", "scheduled"], {
    error: fieldMessage(
      '"adhoc" or "scheduled"',
      'write "adhoc" for an analyst\'s run or "scheduled" for a run schedule\'s firing',
      '"source": "adhoc"',
    ),
  }),
});

export type TraceLine = z.output<typeof traceLineSchema>;

/** A problem with one line of a trace; `line` counts from 1, `field` is "(line)" for the whole line. */
export interface TraceError {
  line: number;
  field: string;
  message: string;
}

export type ParseTraceResult = { ok: true; runs: TraceRun[] } | { ok: false; errors: TraceError[] };

/** "line 3: durationMin: expected ..." */
export function formatTraceError(error: TraceError): string {
  return `line ${error.line}: ${error.field}: ${error.message}`;
}

/**
 * Reads a JSON Lines trace. Never throws for bad input: returns every problem of every line at
 * once (one per field, in the format's key order), or the runs sorted by `submittedAt` (lines with the same instant keep
 * their order).
 */
export function parseTrace(text: string): ParseTraceResult {
  const runs: TraceRun[] = [];
  const errors: TraceError[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === "" || content.startsWith("#")) return;

    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (error) {
      const reason = error instanceof Error ? error.message : "invalid";
      errors.push({
        line,
        field: "(line)",
        message: `expected one JSON object per line, found invalid JSON (${reason}); fix: write the run as {"submittedAt": ..., "pool": ..., "durationMin": ..., "source": ...} on one line, or start the line with # to comment it out`,
      });
      return;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      errors.push({
        line,
        field: "(line)",
        message: `expected a JSON object, found ${described(value)}; fix: write the run as {"submittedAt": ..., "pool": ..., "durationMin": ..., "source": ...}`,
      });
      return;
    }

    const parsed = traceLineSchema.safeParse(value);
    if (parsed.success) {
      runs.push(parsed.data);
      return;
    }
    const problems = new Map<string, string>();
    for (const issue of parsed.error.issues) {
      for (const { field, message } of describeIssue(issue)) {
        // A value can fail two checks (0.5 hosts: not whole, below 1); one message per field.
        if (!problems.has(field)) problems.set(field, message);
      }
    }
    // In the order of the format's keys, unknown keys last, whatever order zod found them in.
    const rank = (field: string): number => {
      const index = (TRACE_KEYS as readonly string[]).indexOf(field);
      return index === -1 ? TRACE_KEYS.length : index;
    };
    for (const [field, message] of [...problems].sort(([a], [b]) => rank(a) - rank(b))) {
      errors.push({ line, field, message });
    }
  });

  if (errors.length > 0) return { ok: false, errors };
  // Array.prototype.sort is stable, so equal instants keep their order in the file.
  return { ok: true, runs: runs.sort((a, b) => a.submittedAt - b.submittedAt) };
}

function describeIssue(issue: z.core.$ZodIssue): { field: string; message: string }[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const near = nearestKey(key);
      return {
        field: key,
        message: `expected only the keys ${TRACE_KEYS.join(", ")}, found unknown key ${JSON.stringify(key)}; fix: ${near === undefined ? "remove it" : `did you mean "${near}"?`}`,
      };
    });
  }
  return [{ field: issue.path.map(String).join(".") || "(line)", message: issue.message }];
}

/** The known key a typo probably meant: same letters ignoring case, or one or two edits away. */
function nearestKey(key: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const known of TRACE_KEYS) {
    const distance = editDistance(key.toLowerCase(), known.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance))
      best = { key: known, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** An instant as canonical trace text: UTC, whole seconds ("2026-01-05T09:12:00Z"). */
export function formatTraceInstant(epochMs: number): string {
  // Milliseconds are dropped (floored), so a parsed trace formats back to the same text.
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/**
 * Writes runs in the canonical form, in the order given: one line each with every key (hosts
 * too), instants in UTC without milliseconds, and a final newline. Empty list, empty text.
 */
export function formatTrace(runs: readonly TraceRun[]): string {
  return runs
    .map(
      (run) =>
        `${JSON.stringify({
          submittedAt: formatTraceInstant(run.submittedAt),
          pool: run.pool,
          durationMin: run.durationMin,
          hosts: run.hosts,
          source: run.source,
        })}\n`,
    )
    .join("");
}
