import { observePool } from "../act/observe.ts";
import type { Ports } from "../act/ports.ts";
import type { Config } from "../config/index.ts";
import type { Decision, DecisionNumbers } from "../plan/decision.ts";
import { plan } from "../plan/plan.ts";
import type { CloudState, PoolControl, PoolSnapshot, Snapshot } from "../plan/snapshot.ts";
import { TAG, readTags, type Lifecycle } from "../plan/tags.ts";
import { hostViews, signalHealth } from "../plan/view.ts";

// The ops reads: `status` (what each pool is and why) and `plan` (what the planner would do now).
// Both observe and plan; neither writes anything.

type ReadPorts = Pick<Ports, "compute" | "signals" | "store">;

/** Observes the named pools (each must be in the config) and plans them at `now`. */
export async function observeAndPlan(
  config: Config,
  ports: ReadPorts,
  pools: readonly string[],
  now: Date,
): Promise<{ snapshot: Snapshot; decisions: Decision[] }> {
  const observed = await Promise.all(pools.map((name) => observePool(name, ports)));
  const snapshot: Snapshot = {
    observedAt: now.toISOString(),
    pools: Object.fromEntries(pools.map((name, i) => [name, observed[i]])) as Snapshot["pools"],
  };
  return { snapshot, decisions: plan(snapshot, config, now).decisions };
}

/** One host as `status` shows it; `busy` is null for an excluded host (neither busy nor idle). */
export type HostStatus = {
  id: string;
  cloudState: CloudState;
  lifecycle: Lifecycle | null;
  since: string | null;
  reason: string | null;
  failure: string | null;
  blocked: string | null;
  excluded: boolean;
  busy: boolean | "unknown" | null;
  stopRequest: PoolControl["stopRequests"][string] | null;
};

/** One pool as `status` shows it. */
export type PoolStatus = {
  numbers: DecisionNumbers | null;
  /** the planner's pool-level reason: desired, demand, floor and capacity in words */
  summary: string | null;
  blind: boolean;
  signals: Record<string, string>;
  paused: PoolControl["paused"];
  protection: PoolControl["protection"];
  consecutiveFailures: number;
  holds: (PoolControl["holds"][number] & { active: boolean })[];
  stopRequests: PoolControl["stopRequests"];
  hosts: HostStatus[];
};

/** One pool's status: its hosts, its control state, blind or not, and the planner's numbers. */
export function poolStatus(
  config: Config,
  name: string,
  snapshot: PoolSnapshot,
  decisions: readonly Decision[],
  now: Date,
): PoolStatus {
  const pool = config.pools[name];
  const health = pool ? signalHealth(pool, snapshot) : [];
  const { hosts: views } = hostViews(snapshot, health);
  const viewOf = new Map(views.map((v) => [v.id, v]));
  const control = snapshot.control;
  const hosts = snapshot.hosts.map((host): HostStatus => {
    const tags = readTags(host.tags);
    const view = viewOf.get(host.id);
    return {
      id: host.id,
      cloudState: host.cloudState,
      lifecycle: tags.lifecycle ?? null,
      since: host.tags[TAG.since] ?? null,
      reason: host.tags[TAG.reason] ?? null,
      failure: tags.failure ?? null,
      blocked: tags.blocked ?? null,
      excluded: tags.excluded,
      // excluded hosts are neither busy nor idle to vor-power
      busy: view === undefined ? null : view.busy ? true : view.busyUnknown ? "unknown" : false,
      stopRequest: control.stopRequests[host.id] ?? null,
    };
  });
  return {
    numbers: decisions.find((d) => d.pool === name && d.numbers)?.numbers ?? null,
    summary: decisions.find((d) => d.pool === name && d.host === undefined)?.reason ?? null,
    blind: views.some((v) => v.busyUnknown),
    signals: Object.fromEntries(
      health.map((h) => [h.source, h.status === "ok" ? "ok" : `${h.status}: ${h.why}`]),
    ),
    paused: control.paused,
    protection: control.protection,
    consecutiveFailures: control.counters.consecutiveFailures,
    holds: control.holds.map((hold) => ({
      ...hold,
      active: Date.parse(hold.until) > now.getTime(),
    })),
    stopRequests: control.stopRequests,
    hosts,
  };
}
