// Literal instants and compiled fixtures for the schedule tests. Times come from luxon, not
// from the code under test, so expectations stay independent of our own DST resolution.
import { DateTime } from "luxon";
import {
  compileRunSchedule,
  compileSchedule,
  type Compiled,
  type PeriodInput,
  type RunSchedule,
  type Schedule,
  type ScheduleSegment,
} from "../../../shared/schedule/index.ts";

/**
 * The instant at which clocks in `zone` read `local` ("2026-03-29T00:59"). Throws for a local
 * time that occurs twice or not at all: write those as UTC instants with `utc`.
 */
export function at(local: string, zone: string): Date {
  const time = DateTime.fromISO(local, { zone });
  if (!time.isValid) throw new Error(`at(): ${local} in ${zone} is not a valid local time`);
  const readBack = time.toFormat(
    local.length > 16 ? "yyyy-MM-dd'T'HH:mm:ss" : "yyyy-MM-dd'T'HH:mm",
  );
  if (readBack !== local || time.getPossibleOffsets().length !== 1) {
    throw new Error(`at(): ${local} in ${zone} is skipped or repeated by DST; use utc()`);
  }
  return time.toJSDate();
}

/** A UTC instant written with its zone designator ("2026-10-25T00:30Z"). */
export function utc(iso: string): Date {
  if (!/(Z|[+-]\d\d:\d\d)$/.test(iso)) throw new Error(`utc(): ${iso} needs Z or an offset`);
  return new Date(iso);
}

/** Unwraps a compile result, failing loudly with its issues. */
export function valueOf<T>(compiled: Compiled<T>): T {
  if (!compiled.ok)
    throw new Error(`expected a valid input, got ${JSON.stringify(compiled.issues)}`);
  return compiled.value;
}

/** A compiled schedule of `periods` in `timezone`. */
export function windowOf(timezone: string, ...periods: PeriodInput[]): Schedule {
  return valueOf(compileSchedule({ timezone, periods }));
}

/** A compiled run schedule. */
export function runOf(cron: string, timezone: string): RunSchedule {
  return valueOf(compileRunSchedule({ cron, timezone }));
}

/** Segments as "from to state" lines in UTC, for readable equality. */
export function describeSegments(segments: ScheduleSegment[]): string[] {
  return segments.map((s) => `${iso(s.from)} ${iso(s.to)} ${s.state}`);
}

/** An instant as ISO without milliseconds, e.g. "2026-03-29T01:00Z". */
export function iso(date: Date): string {
  return date
    .toISOString()
    .replace(/:00\.000Z$/, "Z")
    .replace(/\.000Z$/, "Z");
}

/** The issues of a rejected compile result, failing loudly when it was accepted. */
export function issuesOf<T>(
  compiled: Compiled<T>,
): { path: (string | number)[]; message: string }[] {
  if (compiled.ok) throw new Error("expected the input to be rejected");
  return compiled.issues;
}

/** The warnings of an accepted compile result, failing loudly when it was rejected. */
export function warningsOf<T>(
  compiled: Compiled<T>,
): { path: (string | number)[]; message: string }[] {
  if (!compiled.ok)
    throw new Error(`expected a valid input, got ${JSON.stringify(compiled.issues)}`);
  return compiled.warnings;
}
