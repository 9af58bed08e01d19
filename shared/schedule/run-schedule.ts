import { Cron } from "croner";
import { InvariantError } from "./errors.ts";
import { fieldsOf, memoised, readTimezone } from "./schedule.ts";
import { describeValue, quote, type Compiled, type ScheduleIssue } from "./types.ts";
import { instantOfWallClock, offsetMsAt } from "./zoned-time.ts";

/** A scheduled run as written in config: standard 5-field cron in a time zone. */
export interface RunScheduleInput {
  cron: string;
  timezone: string;
}

/** A validated run schedule, ready for `runScheduleFirings`. */
export interface RunSchedule {
  readonly cron: string;
  readonly timezone: string;
  /**
   * The next matching wall-clock time strictly after `wallMs` (both wall-clock times read as
   * UTC), or null when there is none. Croner runs in UTC here, so DST is ours to resolve.
   */
  readonly nextWallTime: (wallMs: number) => number | null;
}

const FIELDS = [
  { name: "a minute", allowed: "0-59, e.g. 0 or */15" },
  { name: "an hour", allowed: "0-23, e.g. 2 or 8-18" },
  { name: "a day of the month", allowed: "1-31, L or nW, e.g. 1 or 1,15" },
  { name: "a month", allowed: "1-12 or jan-dec, e.g. * or jan-mar" },
  {
    name: "a day of the week",
    allowed: "sun-sat (or 0-6, 0 = Sunday), e.g. mon-fri, fri#2 or friL",
  },
] as const;

// Croner reads 6 and 7 fields as seconds and years and "@daily" as a nickname; config takes
// plain cron only, so the number of fields is checked before croner sees it.
const CRON_OPTIONS = { timezone: "UTC", mode: "5-part" } as const;

/**
 * Validates a run schedule. Never throws for bad input: returns every issue at once (paths
 * `["cron"]`, `["timezone"]`), naming each bad cron field. Warns when the day-of-week field
 * uses numbers, since cron's day 0 is Sunday while windows number Monday 0.
 */
export function compileRunSchedule(input: RunScheduleInput): Compiled<RunSchedule> {
  return memoised(compiledRunSchedules, input, compileRunScheduleNow);
}

const compiledRunSchedules = new WeakMap<object, Compiled<RunSchedule>>();

function compileRunScheduleNow(input: RunScheduleInput): Compiled<RunSchedule> {
  const fields = fieldsOf(input);
  const issues: ScheduleIssue[] = [];
  const warnings: ScheduleIssue[] = [];
  const timezone = readTimezone(fields, issues);

  const cron = fields["cron"];
  const wallClock = typeof cron === "string" ? parseCron(cron, issues, warnings) : undefined;
  if (typeof cron !== "string") {
    issues.push({
      path: ["cron"],
      message: `expected a cron expression such as "0 2 * * mon-fri", found ${describeValue(cron)}; quote the expression`,
    });
  }

  if (issues.length > 0 || !wallClock || typeof cron !== "string" || timezone === undefined) {
    return { ok: false, issues };
  }
  const nextWallTime = (wallMs: number): number | null =>
    wallClock.nextRun(new Date(wallMs))?.getTime() ?? null;
  return { ok: true, value: { cron, timezone, nextWallTime }, warnings };
}

function parseCron(
  cron: string,
  issues: ScheduleIssue[],
  warnings: ScheduleIssue[],
): Cron | undefined {
  const parts = cron
    .trim()
    .split(/\s+/)
    .filter((part) => part !== "");
  if (parts.length !== FIELDS.length) {
    issues.push({
      path: ["cron"],
      message: `expected 5 cron fields (minute hour day-of-month month day-of-week), found ${parts.length} in ${quote(cron)}; write e.g. "0 2 * * mon-fri" (no seconds, years or @nicknames)`,
    });
    return undefined;
  }

  // Trying each field alone among wildcards names every bad field, not just croner's first.
  const before = issues.length;
  parts.forEach((part, index) => {
    const probe = parts.map((other, i) => (i === index ? other : "*")).join(" ");
    if (tryCron(probe) instanceof Error) {
      const field = FIELDS[index];
      if (!field) throw new InvariantError(`no cron field at index ${index}`);
      issues.push({
        path: ["cron"],
        message: `expected ${field.name} (${field.allowed}) in field ${index + 1} of ${quote(cron)}, found ${quote(part)}; fix that field`,
      });
    }
  });
  if (issues.length > before) return undefined;

  const wallClock = tryCron(parts.join(" "));
  if (wallClock instanceof Error) {
    issues.push({
      path: ["cron"],
      message: `expected a valid cron expression, found ${quote(cron)} (${wallClock.message}); check how its fields combine`,
    });
    return undefined;
  }
  // Any fixed start will do: a pattern that matches no date at all ("0 0 30 feb *") never
  // matches, whatever the year.
  if (wallClock.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) {
    issues.push({
      path: ["cron"],
      message: `expected a cron expression that fires, found ${quote(cron)}, which matches no date; check the day-of-month and month fields`,
    });
    return undefined;
  }

  const dayOfWeek = parts[4] ?? "";
  // Digits that name days, not occurrences ("fri#2") or steps ("*/2").
  if (/\d/.test(dayOfWeek.replace(/#\d+/g, "").replace(/\/\d+/g, ""))) {
    warnings.push({
      path: ["cron"],
      message: `expected day names in the day-of-week field, found ${quote(dayOfWeek)}; cron's day 0 is Sunday while windows use Instance Scheduler numbering (0 = Monday), so prefer names such as "mon-fri"`,
    });
  }
  return wallClock;
}

function tryCron(pattern: string): Cron | Error {
  try {
    return new Cron(pattern, CRON_OPTIONS);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * The instants at which `rs` fires in [from, to), ascending, each once. Wall-clock times are
 * placed as power windows place them: a time skipped by clocks going forward fires at the
 * transition (several skipped times fire once there), and a repeated time fires at its first
 * occurrence only, so "*\/30 1 * * *" fires twice on a fall-back day in London, not four times.
 *
 * @throws InvariantError when `from` is after `to` or either is an invalid date.
 */
export function runScheduleFirings(rs: RunSchedule, from: Date, to: Date): Date[] {
  const fromMs = from.getTime();
  const toMs = to.getTime();
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs > toMs) {
    throw new InvariantError(
      `runScheduleFirings needs from <= to, got ${String(from)} and ${String(to)}`,
    );
  }
  const tz = rs.timezone;
  // Start at the earliest wall time that can land on `from`: when `from` is the end of a
  // spring-forward gap, the skipped wall times before it resolve to it too.
  const wallStart = fromMs + Math.min(offsetMsAt(tz, fromMs), offsetMsAt(tz, fromMs - 1));
  // Croner works in whole seconds and returns times strictly after the cursor.
  let cursor = Math.floor(wallStart / 1000) * 1000 - 1000;

  const firings: Date[] = [];
  let previous = -Infinity;
  for (;;) {
    const next = rs.nextWallTime(cursor);
    if (next === null) break;
    cursor = next;
    const instant = instantOfWallClock(tz, next);
    if (instant >= toMs) break;
    // Resolution never goes backwards in time, so a repeat can only equal the previous one.
    if (instant >= fromMs && instant > previous) firings.push(new Date(instant));
    previous = Math.max(previous, instant);
  }
  return firings;
}
