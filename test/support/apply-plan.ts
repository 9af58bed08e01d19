import type { Decision, Effect, Plan, PoolSnapshot, Snapshot } from "../../shared/plan/index.ts";
import { applyStateChange } from "../../shared/state/apply-change.ts";

// A tiny in-memory applier for planner tests: carries a plan's effects out on a snapshot the way
// act will (tags, cloud calls answered at once, state-store writes, alerts recorded). It is not
// the production act (the simulator issue brings that); it exists so tests can run ticks.

export interface ApplyOptions {
  /** is the host busy right now (act's last-moment re-read before a stop)? default: never */
  busyNow?: (pool: string, host: string) => boolean;
}

function applyEffect(pool: PoolSnapshot, effect: Effect, at: string): void {
  const host = "host" in effect ? pool.hosts.find((h) => h.id === effect.host) : undefined;
  switch (effect.type) {
    case "tags":
      if (!host) throw new Error(`tags for unknown host ${effect.host}`);
      for (const key of effect.remove) Reflect.deleteProperty(host.tags, key);
      Object.assign(host.tags, effect.set);
      return;
    case "start":
      if (!host) throw new Error(`start of unknown host ${effect.host}`);
      if (host.cloudState === "stopped") {
        host.cloudState = "pending";
        host.launchedAt = at;
      }
      pool.control.startRecords[host.id] = { at, result: "ok" };
      return;
    case "stop":
      if (!host) throw new Error(`stop of unknown host ${effect.host}`);
      if (host.cloudState === "running" || host.cloudState === "pending")
        host.cloudState = "stopping";
      return;
    case "alert":
      pool.control.alertsSent[effect.key] = at;
      return;
    case "state":
      pool.control = applyStateChange(pool.control, effect.change);
      return;
    case "bootstrap":
    case "registry":
      return;
  }
}

/** The snapshot after `plan` is carried out (a new object; the input is not changed). */
export function applyPlan(snapshot: Snapshot, plan: Plan, options: ApplyOptions = {}): Snapshot {
  const next = structuredClone(snapshot);
  for (const decision of plan.decisions) {
    const pool = next.pools[decision.pool];
    if (!pool) continue;
    if (skipsStop(decision, options)) continue;
    for (const effect of decision.effects) applyEffect(pool, effect, plan.at);
  }
  return next;
}

// act re-reads a host's busy state before writing `stopping` and skips the stop if it got work.
function skipsStop(decision: Decision, options: ApplyOptions): boolean {
  const stop = decision.effects.find((e) => e.type === "stop");
  return (
    stop?.type === "stop" &&
    stop.recheckBusy &&
    (options.busyNow?.(decision.pool, stop.host) ?? false)
  );
}

/** Cloud progress over time: pending hosts boot, stopping hosts stop (what EC2 does between ticks). */
export function settleCloud(snapshot: Snapshot): Snapshot {
  const next = structuredClone(snapshot);
  for (const pool of Object.values(next.pools)) {
    for (const host of pool.hosts) {
      if (host.cloudState === "pending") host.cloudState = "running";
      else if (host.cloudState === "stopping") host.cloudState = "stopped";
    }
  }
  return next;
}
