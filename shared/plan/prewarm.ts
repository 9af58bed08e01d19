import type { Config, Pool } from "../config/index.ts";
import { offsetMsAt } from "../schedule/zoned-time.ts";
import type { PoolControl } from "./snapshot.ts";

// The learned pre-warm (DESIGN.md, "Floor"): hold one spare host warm above demand when work is
// likely to arrive within a startup, so the run that arrives finds a ready host instead of waiting
// boot + bootstrap. What it learns lives in the pool's state (`control.learned`, a flat map of
// numbers), written only through the plan's `learn` effects, so `plan` stays pure:
//
// - `rate:<weekday|weekend>:<hour>`: how many fresh arrivals (work that is not a follow-on of a
//   recent one) the pool usually sees in that local hour, an exponentially weighted average over
//   the hours seen. Weekdays share one profile and weekends another, so a week of history teaches
//   every weekday.
// - `gap:<minute>`: the distribution of the gap between consecutive arrivals, one bin per minute
//   up to the follow-on window (startup + idleTimeout), the last bin holding "longer". Risk work
//   comes in clusters (an analyst submits a few variants within minutes): right after an arrival
//   the chance of another is much higher than the hourly rate says.
// - bookkeeping: `hour` (the local hour being counted), `count` (fresh arrivals in it), `demand`
//   (the demand last seen: an arrival is a rise in demand), `last` (minute of the last arrival),
//   `arrivals` (how many were seen, for the averages' first weights).
//
// Measured on the built-in trace (README, "The simulator"): about a minute less mean wait for
// about 0.1x the oracle's cost more.

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** weight of one finished hour's count in its slot's rate */
const RATE_WEIGHT = 0.2;
/** weight of one arrival in the gap distribution, once there are more than 1/this arrivals */
const GAP_WEIGHT = 0.1;
/** the chance of an arrival within a startup at which a spare host is held */
const THRESHOLD = 0.3;

/** The pool's zone: its first window's schedule's, else its first run schedule's, else UTC. */
export function poolTimezone(poolName: string, pool: Pool, config: Config): string {
  const first = pool.windows[0];
  const schedule = first === undefined ? undefined : config.schedules[first.schedule];
  if (schedule) return schedule.timezone;
  const run = Object.values(config.runSchedules).find((r) => r.pool === poolName);
  return run?.timezone ?? "UTC";
}

/** Hours since the epoch on the zone's wall clock. */
function wallHour(tz: string, at: number): number {
  return Math.floor((at + offsetMsAt(tz, at)) / HOUR);
}

/** The rate slot of a wall-clock hour: weekday or weekend, and the hour of the day. */
function rateKey(hour: number): string {
  const weekday = (Math.floor(hour / 24) + 3) % 7; // 1970-01-01 was a Thursday; 0 = Monday
  return `rate:${weekday >= 5 ? "weekend" : "weekday"}:${hour % 24}`;
}

/** Minutes after an arrival within which another counts as its follow-on. */
function followMinutes(pool: Pool): number {
  return Math.ceil((pool.startupEstimate + pool.idleTimeout) / MINUTE);
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** The learned values this plan writes (only those that change), given the pool's demand now. */
export function learnArrivals(
  tz: string,
  pool: Pool,
  control: PoolControl,
  now: number,
  demand: number,
): Record<string, number> {
  const learned = control.learned;
  const changes: Record<string, number> = {};
  const hourNow = wallHour(tz, now);
  let count = learned.count ?? 0;
  const hour = learned.hour;
  if (hour !== undefined && hour < hourNow) {
    // Fold the finished hour into its slot (hours with no tick at all are not counted).
    const key = rateKey(hour);
    const previous = learned[key] ?? 0;
    changes[key] = round(previous + RATE_WEIGHT * (count - previous));
    count = 0;
    changes.count = 0;
  }
  changes.hour = hourNow;
  const previousDemand = learned.demand ?? 0;
  if (demand > previousDemand) {
    const nowMin = Math.floor(now / MINUTE);
    const last = learned.last;
    const bins = followMinutes(pool);
    const arrivals = (learned.arrivals ?? 0) + 1;
    changes.arrivals = arrivals;
    if (last !== undefined) {
      const gap = nowMin - last;
      // the first arrivals weigh 1/n (a plain average), later ones GAP_WEIGHT (it tracks change)
      const weight = Math.max(1 / arrivals, GAP_WEIGHT);
      for (let b = 0; b <= bins; b++) {
        const key = `gap:${b}`;
        const hit = b < bins ? gap === b : gap >= bins;
        changes[key] = round((learned[key] ?? 0) + weight * ((hit ? 1 : 0) - (learned[key] ?? 0)));
      }
    }
    // a follow-on is explained by the gaps; only fresh arrivals feed the hourly rate
    if (last === undefined || nowMin - last >= bins) changes.count = count + 1;
    changes.last = nowMin;
  }
  changes.demand = demand;
  for (const [key, value] of Object.entries(changes))
    if (learned[key] === value) Reflect.deleteProperty(changes, key);
  return changes;
}

/** The chance of a fresh arrival within `horizonMin` from the hourly rates of now and its end. */
function freshArrivalChance(
  tz: string,
  learned: PoolControl["learned"],
  now: number,
  horizonMin: number,
): number {
  const rates = [now, now + horizonMin * MINUTE].map((t) => learned[rateKey(wallHour(tz, t))] ?? 0);
  const perMinute = Math.max(...rates) / 60;
  return 1 - Math.exp(-perMinute * horizonMin);
}

/**
 * The chance that the last arrival is followed within `horizonMin`: of the gaps at least as long
 * as the time since it, the share that ends within the horizon.
 */
function followOnChance(
  pool: Pool,
  learned: PoolControl["learned"],
  now: number,
  horizonMin: number,
): number {
  const last = learned.last;
  if (last === undefined) return 0;
  const since = Math.floor(now / MINUTE - last);
  const bins = followMinutes(pool);
  if (since >= bins) return 0;
  let survive = 0;
  let within = 0;
  for (let b = since; b <= bins; b++) {
    const p = learned[`gap:${b}`] ?? 0;
    survive += p;
    if (b < Math.min(bins, since + horizonMin)) within += p;
  }
  return survive > 0 ? within / survive : 0;
}

/** Spare hosts to hold warm above demand now (0 or 1), and the arrival chance behind it. */
export function prewarmSpare(
  tz: string,
  pool: Pool,
  control: PoolControl,
  now: number,
): { spare: number; probability: number } {
  if (pool.prewarm !== "learned") return { spare: 0, probability: 0 };
  // a spare started now is ready after a startup; one tick more covers the plan's own delay
  const horizonMin = Math.ceil(pool.startupEstimate / MINUTE) + 1;
  const fresh = freshArrivalChance(tz, control.learned, now, horizonMin);
  const follow = followOnChance(pool, control.learned, now, horizonMin);
  const probability = 1 - (1 - fresh) * (1 - follow);
  return {
    spare: probability >= THRESHOLD ? 1 : 0,
    probability: Math.round(probability * 100) / 100,
  };
}
