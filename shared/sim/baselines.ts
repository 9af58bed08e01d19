import type { Config } from "../config/index.ts";
import {
  compileRunSchedule,
  compileSchedule,
  evaluateSchedule,
  runScheduleFirings,
} from "../schedule/index.ts";
import type { TraceRun, WorldSettings } from "./types.ts";
import { World, bootedReady, type SimHost } from "./world.ts";

// The baselines of DESIGN.md's simulator section, run in the same world as vor-power with the
// same midtier. They have no tags and no bootstrap port: a host is ready boot + bootstrap after
// its start, and every one of them is an ideal version of its kind (no faults).

const MINUTE = 60_000;

export type Baseline = "always-on" | "schedule-only" | "reactive";

function poolsOf(config: Config): Record<string, { hosts: number; runsPerHost: number }> {
  return Object.fromEntries(
    Object.entries(config.pools).map(([name, pool]) => [
      name,
      { hosts: pool.max, runsPerHost: pool.runsPerHost },
    ]),
  );
}

function startReady(world: World, host: SimHost): void {
  if (world.start(host))
    host.readyAt = world.now + (world.settings.bootMin + world.settings.bootstrapMin) * MINUTE;
}

/** Whether `schedule-only` wants the pool on: a window running, or around a run schedule. */
function scheduledOn(config: Config, pool: string, at: number): boolean {
  const spec = config.pools[pool];
  if (!spec) return false;
  for (const window of spec.windows) {
    const schedule = config.schedules[window.schedule];
    const compiled = schedule ? compileSchedule(schedule) : undefined;
    if (compiled?.ok && evaluateSchedule(compiled.value, new Date(at)) === "running") return true;
  }
  for (const run of Object.values(config.runSchedules)) {
    if (run.pool !== pool) continue;
    const compiled = compileRunSchedule(run);
    if (!compiled.ok) continue;
    const after = run.expectedDuration ?? 15 * MINUTE;
    // On from leadTime before a firing until expectedDuration after it (what Instance Scheduler would be set to).
    if (
      runScheduleFirings(compiled.value, new Date(at - after + 1), new Date(at + run.leadTime + 1))
        .length > 0
    )
      return true;
  }
  return false;
}

/** Runs one baseline over the trace; returns its world (measures, runs) when done. */
export function runBaseline(
  baseline: Baseline,
  config: Config,
  trace: readonly TraceRun[],
  settings: WorldSettings,
  onTick?: (fraction: number) => void,
): World {
  const world = new World(settings, trace, poolsOf(config));
  const ready = bootedReady(world);
  const tickMs = settings.tickMin * MINUTE;
  const end = settings.start + settings.days * 24 * 60 * MINUTE;
  if (baseline === "always-on") {
    // On from before the first tick: ready at the start, billed throughout.
    for (const host of world.hosts) {
      world.start(host);
      host.cloud = "running";
      host.transitionAt = undefined;
      host.launchedAt = settings.start;
      host.readyAt = settings.start;
    }
  }
  for (let t = settings.start; t < end; t += tickMs) {
    world.advance(t, ready);
    if (baseline === "schedule-only") scheduleOnly(world, config, t);
    if (baseline === "reactive") reactive(world, config);
    world.dispatch(ready);
    world.sample();
    onTick?.((t - settings.start) / (end - settings.start));
  }
  world.advance(end, ready);
  return world;
}

function scheduleOnly(world: World, config: Config, t: number): void {
  for (const pool of Object.keys(config.pools)) {
    const on = scheduledOn(config, pool, t);
    for (const host of world.hosts.filter((h) => h.pool === pool)) {
      if (on && host.cloud === "stopped") startReady(world, host);
      // Instance Scheduler stops at the period's end whatever runs there: those runs die.
      if (!on && (host.cloud === "running" || host.cloud === "pending")) world.stop(host);
    }
  }
}

function reactive(world: World, config: Config): void {
  for (const [pool, spec] of Object.entries(config.pools)) {
    const hosts = world.hosts.filter((h) => h.pool === pool);
    const pending = world.pendingRuns(pool);
    const singles = pending.filter((r) => r.hosts <= 1).length;
    const need =
      pending.filter((r) => r.hosts > 1).reduce((sum, r) => sum + r.hosts, 0) +
      Math.ceil(singles / spec.runsPerHost);
    const coming = hosts.filter(
      (h) => h.cloud === "pending" || (h.cloud === "running" && h.runs.size === 0),
    ).length;
    let toStart = Math.max(0, need - coming);
    for (const host of hosts) {
      if (toStart === 0) break;
      if (host.cloud === "stopped") {
        startReady(world, host);
        toStart--;
      }
    }
    // KEDA-like scale-down: a host idle for idleTimeout is stopped.
    for (const host of hosts) {
      if (
        host.cloud === "running" &&
        host.runs.size === 0 &&
        world.now - host.idleSince >= spec.idleTimeout
      )
        world.stop(host);
    }
  }
}
