import type { Config, Pool } from "../config/index.ts";
import {
  compileRunSchedule,
  compileSchedule,
  evaluateSchedule,
  runScheduleFirings,
} from "../schedule/index.ts";
import { poolTimezone, prewarmSpare } from "./prewarm.ts";
import type { PoolControl } from "./snapshot.ts";

/** One thing holding hosts on, named for the reason text. */
export interface FloorSource {
  hosts: number;
  what: string;
}

const RUN_WITHOUT_DURATION_MS = 15 * 60_000;

/**
 * The pool's floor at `now` (DESIGN.md, "Floor"): the largest of each running window's hosts, each
 * run schedule's hosts from leadTime + startupEstimate before a firing until expectedDuration
 * after it, and each unexpired ops hold. A window that says stopped or any adds nothing.
 */
export function floorOf(
  poolName: string,
  pool: Pool,
  config: Config,
  control: PoolControl,
  now: number,
  demand = 0,
): { floor: number; sources: FloorSource[] } {
  const sources: FloorSource[] = [];
  for (const window of pool.windows) {
    const schedule = config.schedules[window.schedule];
    if (!schedule) continue; // config check rejects this; the planner never crashes on it
    const compiled = compileSchedule(schedule);
    if (compiled.ok && evaluateSchedule(compiled.value, new Date(now)) === "running") {
      sources.push({ hosts: window.hosts, what: window.schedule });
    }
  }
  for (const [name, run] of Object.entries(config.runSchedules)) {
    if (run.pool !== poolName) continue;
    const compiled = compileRunSchedule(run);
    if (!compiled.ok) continue;
    const before = run.leadTime + pool.startupEstimate;
    const after = run.expectedDuration ?? RUN_WITHOUT_DURATION_MS;
    // A firing f holds the floor over [f - before, f + after): look for f in (now - after, now + before].
    const firings = runScheduleFirings(
      compiled.value,
      new Date(now - after + 1),
      new Date(now + before + 1),
    );
    if (firings.length > 0) sources.push({ hosts: run.hosts, what: name });
  }
  for (const hold of control.holds) {
    if (Date.parse(hold.until) > now)
      sources.push({ hosts: hold.hosts, what: `hold by ${hold.by}` });
  }
  const { spare, probability } = prewarmSpare(
    poolTimezone(poolName, pool, config),
    pool,
    control,
    now,
  );
  if (spare > 0)
    sources.push({
      hosts: demand + spare,
      what: `learned pre-warm (${spare} spare, arrival chance ${probability})`,
    });
  const floor = Math.max(0, ...sources.map((s) => s.hosts));
  return { floor, sources };
}
