// The built-in workload: a seeded trace shaped like a risk-analytics team's week (DESIGN.md, "The
// simulator"). Pure: the caller passes the start instant and the seed.
import { DateTime } from "luxon";
import type { Config, Pool } from "../config/index.ts";
import { compileRunSchedule, InvariantError, runScheduleFirings } from "../schedule/index.ts";
import { seededRandom, type Random } from "./random.ts";
import type { TraceRun } from "./types.ts";

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The parameters of the built-in trace, printed in the README. They describe the workload (how
 * analysts and the nightly batch behave), not any policy: none was tuned on a simulation result.
 *
 * Ad hoc runs arrive in clusters (an analyst submits a few variants within minutes): clusters
 * start as a Poisson process whose hourly rate follows the local hour of the pool's office, and
 * each cluster has a geometric number of runs. Rates describe a pool of `referenceMaxHosts` and
 * grow with the pool's `max`; `scale` multiplies them (scheduled runs follow the config alone).
 */
export const TRACE_SHAPE = {
  /** the office's zone when the pool has no window (else its first window's schedule's zone) */
  defaultTimezone: "Europe/London",
  /** ad hoc rates are for a pool of this many hosts, multiplied by max / this for others */
  referenceMaxHosts: 8,
  adhoc: {
    /**
     * clusters started per hour, Monday to Friday, by local hour 0-23: peaks mid-morning and after
     * lunch; sized so a pool of referenceMaxHosts covers the month-end peak (an operator sizes max
     * for the busiest hour), leaving the rest of the month well below it
     */
    weekdayClustersPerHour: [
      0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.25, 0.65, 1.05, 1.1, 0.9, 0.4, 0.7, 1.05, 0.95,
      0.7, 0.4, 0.25, 0.06, 0.04, 0.03, 0.03, 0.03,
    ],
    /** clusters started per hour on Saturday and Sunday: a few runs around midday */
    weekendClustersPerHour: [
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0.08, 0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.08, 0, 0, 0, 0,
      0, 0,
    ],
    /** after each run of a cluster, another follows with this probability, up to the cap (mean 1.9) */
    clusterContinueProbability: 0.5,
    maxClusterSize: 5,
    /** mean gap between the submissions of one cluster (exponential) */
    clusterGapMeanMin: 4,
    /** most runs: lognormal, half shorter than the median; sigma 0.5 puts two in three at 21-58 min */
    durationMedianMin: 35,
    durationSigma: 0.5,
    /** the occasional long run (a full revaluation): lognormal around 2 h */
    longRunShare: 0.05,
    longRunMedianMin: 120,
    longRunSigma: 0.25,
    minDurationMin: 5,
    maxDurationMin: 360,
    /** runs that need two hosts at once (never more than the pool's max) */
    twoHostShare: 0.1,
  },
  /**
   * The last business days (Mon-Fri, local) of each month: 1.5x the runs, each 1.35x as long,
   * so about 2x the ad hoc host-hours of the same weekday earlier in the month.
   */
  monthEnd: {
    businessDays: 2,
    arrivalFactor: 1.5,
    durationFactor: 1.35,
  },
  scheduled: {
    /** a scheduled run takes its expectedDuration times a lognormal factor: mostly shorter */
    durationMedianFactor: 0.85,
    durationSigma: 0.12,
    minFactor: 0.5,
    maxFactor: 1.25,
    /** when the run schedule gives no expectedDuration */
    defaultExpectedMin: 60,
  },
} as const;

export interface GenerateTraceOptions {
  config: Config;
  /** epoch ms of the first instant covered (the CLI uses a Monday 00:00Z) */
  start: number;
  days: number;
  seed: number;
  /** multiplies the ad hoc arrival rates; default 1 (the benchmark uses 10) */
  scale?: number;
}

/**
 * The built-in trace: every pool's ad hoc runs and run schedules' firings submitted in
 * [start, start + days), sorted by `submittedAt` (whole seconds). Deterministic for a seed: each
 * pool draws from its own stream, so adding a pool leaves the others' runs unchanged.
 *
 * @throws InvariantError when a run schedule of the (validated) config fails to compile, or the
 *   options are not finite numbers with days >= 0 and scale >= 0.
 */
export function generateTrace(options: GenerateTraceOptions): TraceRun[] {
  const { config, start, days, seed } = options;
  const scale = options.scale ?? 1;
  if (![start, days, seed, scale].every(Number.isFinite) || days < 0 || scale < 0) {
    throw new InvariantError(
      `generateTrace needs finite start, days >= 0, seed and scale >= 0, got ${JSON.stringify({ start, days, seed, scale })}`,
    );
  }
  const end = start + days * DAY_MS;
  const runs: TraceRun[] = [];
  for (const [name, pool] of Object.entries(config.pools)) {
    const random = seededRandom(mixSeed(seed, name));
    const poolRuns = [
      ...scheduledRuns(config, name, start, end, random),
      ...adhocRuns({ config, name, pool, start, end, scale, random }),
    ];
    runs.push(...poolRuns.filter((run) => run.submittedAt >= start && run.submittedAt < end));
  }
  return runs.sort((a, b) => a.submittedAt - b.submittedAt);
}

/** Monday 00:00Z of the week holding `epochMs` (the CLI's default start). */
export function startOfUtcWeek(epochMs: number): number {
  const dayStart = Math.floor(epochMs / DAY_MS) * DAY_MS;
  // 1970-01-01 was a Thursday: (days + 3) % 7 counts days since Monday.
  const sinceMonday = (((dayStart / DAY_MS + 3) % 7) + 7) % 7;
  return dayStart - sinceMonday * DAY_MS;
}

/** The office's zone: the pool's first window's schedule, else TRACE_SHAPE's default. */
export function officeTimezone(config: Config, pool: Pool): string {
  const first = pool.windows[0];
  const schedule = first === undefined ? undefined : config.schedules[first.schedule];
  return schedule?.timezone ?? TRACE_SHAPE.defaultTimezone;
}

function scheduledRuns(
  config: Config,
  poolName: string,
  start: number,
  end: number,
  random: Random,
): TraceRun[] {
  const shape = TRACE_SHAPE.scheduled;
  const runs: TraceRun[] = [];
  // Sorted by name, so the draws do not depend on the order of keys in the file.
  const entries = Object.entries(config.runSchedules)
    .filter(([, run]) => run.pool === poolName)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, run] of entries) {
    const compiled = compileRunSchedule({ cron: run.cron, timezone: run.timezone });
    if (!compiled.ok)
      throw new InvariantError(`run schedule ${name} of a valid config failed to compile`);
    const expectedMin =
      run.expectedDuration === undefined
        ? shape.defaultExpectedMin
        : run.expectedDuration / MINUTE_MS;
    for (const firing of runScheduleFirings(compiled.value, new Date(start), new Date(end))) {
      const factor = clamp(
        random.lognormal(shape.durationMedianFactor, shape.durationSigma),
        shape.minFactor,
        shape.maxFactor,
      );
      runs.push({
        submittedAt: firing.getTime(),
        pool: poolName,
        durationMin: Math.max(1, Math.round(expectedMin * factor)),
        hosts: run.hosts,
        source: "scheduled",
      });
    }
  }
  return runs;
}

function adhocRuns(options: {
  config: Config;
  name: string;
  pool: Pool;
  start: number;
  end: number;
  scale: number;
  random: Random;
}): TraceRun[] {
  const { config, name, pool, start, end, scale, random } = options;
  const shape = TRACE_SHAPE.adhoc;
  const zone = officeTimezone(config, pool);
  const poolFactor = pool.max / TRACE_SHAPE.referenceMaxHosts;
  const runs: TraceRun[] = [];

  let day = DateTime.fromMillis(start, { zone }).startOf("day");
  while (day.toMillis() < end) {
    const next = day.plus({ days: 1 }).startOf("day");
    const weekend = day.weekday >= 6;
    const monthEnd = !weekend && isMonthEnd(day);
    const profile = weekend ? shape.weekendClustersPerHour : shape.weekdayClustersPerHour;
    const arrivalFactor = monthEnd ? TRACE_SHAPE.monthEnd.arrivalFactor : 1;
    const durationFactor = monthEnd ? TRACE_SHAPE.monthEnd.durationFactor : 1;

    profile.forEach((rate, hour) => {
      // Local hours, so DST days are 23 or 25 hours long: a skipped hour has length 0 and a
      // repeated one counts twice.
      const from = localHour(day, hour);
      const to = hour === 23 ? next.toMillis() : localHour(day, hour + 1);
      const lengthHours = Math.max(0, to - from) / HOUR_MS;
      const clusters = random.poisson(rate * lengthHours * poolFactor * scale * arrivalFactor);
      for (let c = 0; c < clusters; c += 1) {
        let at = random.uniform(from, to);
        for (let size = 1; ; size += 1) {
          runs.push({
            submittedAt: Math.floor(at / 1000) * 1000,
            pool: name,
            durationMin: adhocDuration(random, durationFactor),
            hosts: random.chance(shape.twoHostShare) ? Math.max(1, Math.min(2, pool.max)) : 1,
            source: "adhoc",
          });
          if (size >= shape.maxClusterSize || !random.chance(shape.clusterContinueProbability))
            break;
          at += random.exponential(shape.clusterGapMeanMin * MINUTE_MS);
        }
      }
    });
    day = next;
  }
  return runs;
}

function adhocDuration(random: Random, factor: number): number {
  const shape = TRACE_SHAPE.adhoc;
  const minutes = random.chance(shape.longRunShare)
    ? random.lognormal(shape.longRunMedianMin, shape.longRunSigma)
    : random.lognormal(shape.durationMedianMin, shape.durationSigma);
  return Math.round(clamp(minutes * factor, shape.minDurationMin, shape.maxDurationMin));
}

function localHour(day: DateTime, hour: number): number {
  // In a skipped hour luxon moves forward to the first valid time, so that hour has length 0.
  return day.set({ hour, minute: 0, second: 0, millisecond: 0 }).toMillis();
}

/** Whether `day` (a weekday) is one of the month's last `monthEnd.businessDays` weekdays. */
function isMonthEnd(day: DateTime): boolean {
  let later = 0;
  for (let d = day.plus({ days: 1 }); d.month === day.month; d = d.plus({ days: 1 })) {
    if (d.weekday <= 5) later += 1;
  }
  return day.weekday <= 5 && later < TRACE_SHAPE.monthEnd.businessDays;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** A 32-bit seed for one pool's stream: FNV-1a over the pool name, mixed with the seed. */
function mixSeed(seed: number, poolName: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < poolName.length; i += 1) {
    hash ^= poolName.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
