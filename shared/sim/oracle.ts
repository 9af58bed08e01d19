import type { PolicyRun, TraceRun, WorldSettings } from "./types.ts";

const MINUTE = 60_000;

/**
 * The oracle (DESIGN.md): clairvoyant and unbounded by `max`; each run starts on time on hosts
 * turned on boot + bootstrap before it, and a host is kept on through a gap only when that is
 * cheaper than stopping and starting one again. The least cost of starting every run on time.
 */
export function runOracle(trace: readonly TraceRun[], settings: WorldSettings): PolicyRun {
  const end = settings.start + settings.days * 24 * 60 * MINUTE;
  const warmupMs = (settings.bootMin + settings.bootstrapMin) * MINUTE;
  const runs = trace
    .filter((r) => r.submittedAt < end)
    .sort((a, b) => a.submittedAt - b.submittedAt);
  // Per pool, hosts as [on-from, free-at] intervals; a host free at f serves a run at s >= f if the
  // gap is at most a restart's cost (the warm-up), else a fresh host starts.
  const intervals: [number, number][] = [];
  const free: Record<string, { index: number; freeAt: number }[]> = {};
  let starts = 0;
  for (const run of runs) {
    const pool = (free[run.pool] ??= []);
    const begin = run.submittedAt;
    const finish = begin + run.durationMin * MINUTE;
    const candidates = pool
      .filter((h) => h.freeAt <= begin && begin - h.freeAt <= warmupMs)
      .sort((a, b) => b.freeAt - a.freeAt)
      .slice(0, run.hosts);
    for (const host of candidates) {
      const interval = intervals[host.index];
      if (interval) interval[1] = finish;
      host.freeAt = finish;
    }
    for (let i = candidates.length; i < run.hosts; i++) {
      intervals.push([begin - warmupMs, finish]);
      pool.push({ index: intervals.length - 1, freeAt: finish });
      starts++;
    }
  }
  const tickMs = settings.tickMin * MINUTE;
  const ticks = Math.ceil((end - settings.start) / tickMs);
  const hostsOn = Array.from({ length: ticks }, () => 0);
  let hostMinutes = 0;
  for (const [from, to] of intervals) {
    hostMinutes += (Math.min(to, end) - Math.max(from, settings.start)) / MINUTE;
    for (
      let t = Math.max(0, Math.ceil((from - settings.start) / tickMs));
      t < ticks && settings.start + t * tickMs < to;
      t++
    ) {
      hostsOn[t] = (hostsOn[t] ?? 0) + 1;
    }
  }
  return {
    name: "oracle",
    hostMinutes,
    waitsMin: runs.map(() => 0),
    starts,
    stops: starts,
    runsKilled: 0,
    runsNeverStarted: 0,
    hostsOn,
  };
}
