import type { Config, Pool } from "../config/index.ts";
import type { Decision, DecisionKind, DecisionNumbers, Effect, StateChange } from "./decision.ts";
import type { PoolSnapshot } from "./snapshot.ts";
import { TAG, reasonTag, type Lifecycle } from "./tags.ts";
import type { HostView } from "./view.ts";

/** The planner's working state for one pool during one plan. */
export interface PoolContext {
  readonly name: string;
  readonly pool: Pool;
  readonly config: Config;
  readonly snapshot: PoolSnapshot;
  readonly now: number;
  readonly nowIso: string;
  readonly hosts: readonly HostView[];
  readonly decisions: Decision[];
  /** hosts that already have a decision this plan: one decision per host per plan */
  readonly decided: Set<string>;
  /** lifecycle each host has once this plan is applied */
  readonly projected: Map<string, Lifecycle>;
  /** the pool's counters as this plan leaves them (decisions write absolute values) */
  readonly counters: {
    consecutiveFailures: number;
    startFailures: number;
    startBackoffUntil: string | null;
  };
  /** whether the pool is protected once this plan is applied (no starts) */
  readonly flags: { protected: boolean };
}

/** The length of a tick (EventBridge Scheduler / Azure timer: every minute); backoffs count in ticks. */
export const TICK_MS = 60_000;

/** ISO text without zero milliseconds: 2026-03-04T10:00:00Z. */
export const iso = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");

/** "20m", "1h5m" for reasons. */
export function minutes(ms: number): string {
  const total = Math.round(ms / 60_000);
  if (total < 60) return `${total}m`;
  const hours = Math.floor(total / 60);
  return total % 60 === 0 ? `${hours}h` : `${hours}h${total % 60}m`;
}

export function hostDecision(
  ctx: PoolContext,
  host: HostView,
  kind: DecisionKind,
  rule: string,
  reason: string,
  effects: Effect[],
  becomes?: Lifecycle,
): void {
  ctx.decisions.push({
    pool: ctx.name,
    host: host.id,
    kind,
    rule,
    reason: `${host.id}: ${reason}`,
    effects,
  });
  ctx.decided.add(host.id);
  if (becomes) ctx.projected.set(host.id, becomes);
}

export function poolDecision(
  ctx: PoolContext,
  kind: DecisionKind,
  rule: string,
  reason: string,
  effects: Effect[],
  numbers?: DecisionNumbers,
): void {
  ctx.decisions.push({
    pool: ctx.name,
    kind,
    rule,
    reason: `${ctx.name}: ${reason}`,
    effects,
    ...(numbers ? { numbers } : {}),
  });
}

/** Tag writes that move a host to `lifecycle` now, with the reason; `remove` drops stale tags. */
export function lifecycleTags(
  ctx: PoolContext,
  host: HostView,
  lifecycle: Lifecycle,
  reason: string,
  extra: Record<string, string> = {},
  remove: string[] = [],
): Effect {
  return {
    type: "tags",
    host: host.id,
    set: {
      [TAG.lifecycle]: lifecycle,
      [TAG.since]: ctx.nowIso,
      [TAG.reason]: reasonTag(`${host.id}: ${reason}`),
      ...extra,
    },
    remove: remove.filter((key) => !(key in extra)),
  };
}

export const stateEffect = (change: StateChange): Effect => ({ type: "state", change });

/** Registry writes happen only when Consul is configured. */
export function registry(
  ctx: PoolContext,
  host: HostView,
  action: "register" | "maintenance" | "deregister",
): Effect[] {
  return ctx.config.consul ? [{ type: "registry", host: host.id, action }] : [];
}

/** An alert, once per episode: nothing when `key` was already sent. */
export function alertOnce(ctx: PoolContext, key: string, message: string): Effect[] {
  return key in ctx.snapshot.control.alertsSent
    ? []
    : [{ type: "alert", key, message: `${ctx.name}: ${message}` }];
}

/** The lifecycle a host will have after this plan. */
export function projectedLifecycle(ctx: PoolContext, host: HostView): Lifecycle | undefined {
  return ctx.projected.get(host.id) ?? host.lifecycle;
}
