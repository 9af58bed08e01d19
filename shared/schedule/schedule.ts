import { compilePeriod, type Period, type PeriodInput } from "./period.ts";
import { describeValue, quote, type Compiled, type ScheduleIssue } from "./types.ts";
import { isValidTimeZone } from "./zoned-time.ts";

/** A power window as written in config: periods in a time zone. */
export interface ScheduleInput {
  timezone: string;
  periods: PeriodInput[];
}

/** A validated power window, ready for `evaluateSchedule` and `scheduleTimeline`. */
export interface Schedule {
  readonly timezone: string;
  readonly periods: readonly Period[];
}

/**
 * Validates a power window. Never throws for bad input: returns every issue at once, with
 * paths relative to `input` (`["timezone"]`, `["periods", 0, "weekdays"]`), or the schedule
 * with warnings (numeric weekdays).
 */
export function compileSchedule(input: ScheduleInput): Compiled<Schedule> {
  return memoised(compiledSchedules, input, compileScheduleNow);
}

// The planner compiles each window of each pool every tick, and the simulator replays weeks of
// ticks: compiled results are kept per input object (config objects are never changed).
const compiledSchedules = new WeakMap<object, Compiled<Schedule>>();

/** `compile(input)`, remembered per input object (inputs that are not objects are not kept). */
export function memoised<I, T>(
  cache: WeakMap<object, Compiled<T>>,
  input: I,
  compile: (input: I) => Compiled<T>,
): Compiled<T> {
  if (typeof input !== "object" || input === null) return compile(input);
  const known = cache.get(input);
  if (known) return known;
  const compiled = compile(input);
  cache.set(input, compiled);
  return compiled;
}

function compileScheduleNow(input: ScheduleInput): Compiled<Schedule> {
  const fields = fieldsOf(input);
  const issues: ScheduleIssue[] = [];
  const warnings: ScheduleIssue[] = [];
  const timezone = readTimezone(fields, issues);

  const periods: Period[] = [];
  const rawPeriods = fields["periods"];
  if (!Array.isArray(rawPeriods) || rawPeriods.length === 0) {
    issues.push({
      path: ["periods"],
      message: `expected a list of at least one period, found ${Array.isArray(rawPeriods) ? "an empty list" : describeValue(rawPeriods)}; add a period such as { begintime: "07:00", endtime: "19:00", weekdays: "mon-fri" }`,
    });
  } else {
    rawPeriods.forEach((rawPeriod: unknown, index) => {
      const compiled = compilePeriod(rawPeriod, ["periods", index]);
      issues.push(...compiled.issues);
      warnings.push(...compiled.warnings);
      if (compiled.period) periods.push(compiled.period);
    });
  }

  if (issues.length > 0 || timezone === undefined) return { ok: false, issues };
  return { ok: true, value: { timezone, periods }, warnings };
}

/** The input's fields; bad runtime types (a YAML scalar where a map belongs) read as none. */
export function fieldsOf(input: unknown): Record<string, unknown> {
  return typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {};
}

/** The input's IANA time zone, or an issue at ["timezone"] (and undefined). */
export function readTimezone(
  fields: Record<string, unknown>,
  issues: ScheduleIssue[],
): string | undefined {
  const timezone = fields["timezone"];
  if (typeof timezone === "string" && isValidTimeZone(timezone)) return timezone;
  issues.push({ path: ["timezone"], message: invalidZoneMessage(timezone) });
  return undefined;
}

/** The message for a time zone that `isValidTimeZone` rejects; shared with run schedules. */
export function invalidZoneMessage(timezone: unknown): string {
  return `expected an IANA time zone such as "Europe/London" or "UTC", found ${typeof timezone === "string" ? quote(timezone) : describeValue(timezone)}; use a zone name, not an offset, so daylight saving time is followed`;
}
