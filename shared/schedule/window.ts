import { InvariantError } from "./errors.ts";
import { covers, mergeIntervals, type Interval } from "./intervals.ts";
import { addDays, localDateKey, type LocalDate } from "./local-date.ts";
import { periodSpansOn } from "./period.ts";
import type { Schedule } from "./schedule.ts";
import type { ScheduleState } from "./types.ts";
import { instantOfWallClock, localDateAt } from "./zoned-time.ts";

/** A stretch of time with one state. */
export interface ScheduleSegment {
  from: Date;
  to: Date;
  state: ScheduleState;
}

// Running periods that touch or leave at most this gap run on: "08:00-12:00" and
// "12:01-17:00" keep hosts up over noon, as Instance Scheduler's adjacent-period check does.
const MERGE_GAP_MS = 60_000;

// A local day receives spans from itself and, through overnight periods, from the day
// before. Looking three days back and two ahead covers that, the merge gap at both ends and
// days shortened to nothing by a zone change (Pacific/Apia skipped 2011-12-30).
const DAYS_BEFORE = 3;
const DAYS_AFTER = 2;

/**
 * The state of `schedule` over [from, to): contiguous segments covering exactly that span in
 * order, adjacent segments with the same state merged. Empty when from equals to.
 *
 * A schedule is running where any period runs (after joining running periods at most a
 * minute apart), else any where a period says any, else stopped.
 *
 * @throws InvariantError when `from` is after `to` or either is an invalid date.
 */
export function scheduleTimeline(schedule: Schedule, from: Date, to: Date): ScheduleSegment[] {
  const fromMs = from.getTime();
  const toMs = to.getTime();
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs > toMs) {
    throw new InvariantError(
      `scheduleTimeline needs from <= to, got ${String(from)} and ${String(to)}`,
    );
  }
  if (fromMs === toMs) return [];

  const { running, any } = intervalsAround(schedule, fromMs, toMs);
  const stateAt = (instant: number): ScheduleState =>
    covers(running, instant) ? "running" : covers(any, instant) ? "any" : "stopped";

  const inside = [...running, ...any]
    .flatMap((i) => [i.start, i.end])
    .filter((instant) => instant > fromMs && instant < toMs);
  const bounds = [...new Set([fromMs, ...inside, toMs])].sort((a, b) => a - b);

  const segments: ScheduleSegment[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = bounds[i] ?? fromMs;
    const end = bounds[i + 1] ?? toMs;
    const state = stateAt(start);
    const last = segments.at(-1);
    if (last?.state === state) last.to = new Date(end);
    else segments.push({ from: new Date(start), to: new Date(end), state });
  }
  return segments;
}

/**
 * The state of `schedule` at `at`: the same answer as the segment of any timeline that
 * contains `at`.
 *
 * @throws InvariantError when `at` is an invalid date.
 */
export function evaluateSchedule(schedule: Schedule, at: Date): ScheduleState {
  const segment = scheduleTimeline(schedule, at, new Date(at.getTime() + 1))[0];
  if (!segment) throw new InvariantError(`no segment at ${at.toISOString()}`);
  return segment.state;
}

// Resolving a wall time costs several time-zone look-ups (about 200 us for a week of three
// periods), and the planner and the simulator evaluate the same windows every tick: resolved
// instants are memoised per zone. The answer never changes, so this is a cache, not state;
// it is bounded by clearing it when full.
const RESOLVED_LIMIT = 50_000;
const resolvedByZone = new Map<string, Map<number, number>>();

function resolveWallClock(tz: string, wallMs: number): number {
  let resolved = resolvedByZone.get(tz);
  if (!resolved) {
    resolved = new Map();
    resolvedByZone.set(tz, resolved);
  }
  let instant = resolved.get(wallMs);
  if (instant === undefined) {
    if (resolved.size >= RESOLVED_LIMIT) resolved.clear();
    instant = instantOfWallClock(tz, wallMs);
    resolved.set(wallMs, instant);
  }
  return instant;
}

// Running and any intervals of every period on the local days around [fromMs, toMs).
function intervalsAround(
  schedule: Schedule,
  fromMs: number,
  toMs: number,
): { running: Interval[]; any: Interval[] } {
  const tz = schedule.timezone;
  const instantOf = (date: LocalDate, minute: number): number =>
    resolveWallClock(tz, localDateKey(date) + minute * 60_000);

  const running: Interval[] = [];
  const any: Interval[] = [];
  const lastKey = localDateKey(addDays(localDateAt(tz, toMs), DAYS_AFTER));
  for (
    let day = addDays(localDateAt(tz, fromMs), -DAYS_BEFORE);
    localDateKey(day) <= lastKey;
    day = addDays(day, 1)
  ) {
    for (const period of schedule.periods) {
      for (const span of periodSpansOn(period, day)) {
        const interval = {
          start: instantOf(day, span.fromMinute),
          end: instantOf(day, span.toMinute),
        };
        (span.state === "running" ? running : any).push(interval);
      }
    }
  }
  return { running: mergeIntervals(running, MERGE_GAP_MS), any: mergeIntervals(any, 0) };
}
