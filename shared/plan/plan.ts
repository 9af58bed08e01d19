import type { Config, Pool } from "../config/index.ts";
import { planBlocked } from "./blocked.ts";
import { planBootstrap, planReadyRetries } from "./bootstrap-step.ts";
import { alertOnce, iso, minutes, poolDecision, stateEffect, type PoolContext } from "./context.ts";
import type { Decision, DecisionNumbers, Effect, Plan } from "./decision.ts";
import { floorOf, type FloorSource } from "./floor.ts";
import { applyLifecycleTable } from "./lifecycle.ts";
import { learnArrivals, poolTimezone } from "./prewarm.ts";
import {
  isCapacity,
  planDraining,
  planDrainingWork,
  planIdleMarks,
  planOffMarks,
  planOpsStops,
  planScaleIn,
  planScaleOut,
} from "./scale.ts";
import type { PoolSnapshot, Snapshot } from "./snapshot.ts";
import {
  hostViews,
  pendingNeed,
  signalHealth,
  type HostView,
  type PendingNeed,
  type SignalHealth,
} from "./view.ts";

/**
 * Decides, for every pool of the snapshot, which hosts start, drain, stop, bootstrap or wait, and
 * why (DESIGN.md, "The planner model"). Pure: no I/O, no clock (`now` is given), no randomness.
 * Pools the snapshot has but the config does not are skipped with a reason.
 */
export function plan(snapshot: Snapshot, config: Config, now: Date): Plan {
  const decisions: Decision[] = [];
  for (const [name, poolSnapshot] of Object.entries(snapshot.pools).sort(([a], [b]) =>
    a < b ? -1 : 1,
  )) {
    const pool = config.pools[name];
    if (!pool) {
      decisions.push({
        pool: name,
        kind: "skip",
        rule: "pool.unknown",
        reason: `${name}: in the snapshot but not in the config: left alone`,
        effects: [],
      });
      continue;
    }
    decisions.push(...planPool(name, pool, config, poolSnapshot, now.getTime()));
  }
  return { at: now.toISOString(), decisions };
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

function planPool(
  name: string,
  pool: Pool,
  config: Config,
  snapshot: PoolSnapshot,
  now: number,
): Decision[] {
  const control = snapshot.control;
  const health = signalHealth(pool, snapshot);
  const { hosts, excluded, unknownConsumers } = hostViews(snapshot, health);
  const pending = pendingNeed(pool, snapshot, health, now);
  const ctx: PoolContext = {
    name,
    pool,
    config,
    snapshot,
    now,
    nowIso: iso(now),
    hosts,
    decisions: [],
    decided: new Set(),
    projected: new Map(),
    counters: { ...control.counters },
    flags: { protected: control.protection !== null },
  };

  // Demand counts hosts proved busy (busy-unknown ones count as capacity, never as demand);
  // a host ops asked to stop is leaving and is not counted.
  const busy = hosts.filter((h) => h.busy && !(h.id in control.stopRequests));
  const demand = busy.length + pending.hosts;
  const { floor, sources } = floorOf(name, pool, config, control, now, demand);
  const desired = Math.min(pool.max, Math.max(pool.min, floor, demand));
  const blind = hosts.some((h) => h.busyUnknown);

  if (control.paused) {
    const numbers = {
      desired,
      demand,
      floor,
      capacity: hosts.filter((h) => isCapacity(ctx, h)).length,
    };
    return [
      {
        pool: name,
        kind: "freeze",
        rule: "freeze.paused",
        reason: `${name}: paused by ${control.paused.by} (${control.paused.why}) since ${control.paused.at}: no actions; ${explain(numbers, pool, busy, pending, sources)}`,
        numbers,
        effects: [],
      },
    ];
  }

  bookkeeping(ctx, health, unknownConsumers, pending, blind, demand);
  for (const id of excluded) {
    ctx.decisions.push({
      pool: name,
      host: id,
      kind: "skip",
      rule: "host.excluded",
      reason: `${id}: excluded by ops (vor:exclude): never started or stopped, not counted`,
      effects: [],
    });
  }
  applyLifecycleTable(ctx);
  planOpsStops(ctx);
  planBlocked(ctx, desired);
  planBootstrap(ctx);
  planDrainingWork(ctx);

  const capacityBefore = hosts.filter((h) => isCapacity(ctx, h)).length;
  const numbers: DecisionNumbers = { desired, demand, floor, capacity: capacityBefore };
  const why = explain(numbers, pool, busy, pending, sources);
  let summary: { kind: Decision["kind"]; rule: string; text: string };
  if (desired > capacityBefore) {
    const rule =
      demand >= floor && demand > pool.min
        ? "scale-out.pending"
        : floor > pool.min
          ? "scale-out.floor"
          : "scale-out.min";
    const started = planScaleOut(
      ctx,
      desired - capacityBefore,
      `${name} wants ${desired}, has ${capacityBefore}`,
      rule,
    );
    summary = {
      kind: "none",
      rule: "pool.scale-out",
      text: `${why}; ${plural(desired - capacityBefore, "host")} short, ${started} starting`,
    };
  } else if (capacityBefore > desired && blind) {
    summary = {
      kind: "freeze",
      rule: "freeze.blind",
      text: `${why}; ${plural(capacityBefore - desired, "host")} above desired, but the pool is blind (${blindWhy(health, unknownConsumers)}): no drain, no stop of hosts that may hold work`,
    };
  } else if (capacityBefore > desired) {
    planScaleIn(ctx, capacityBefore - desired, `${name} wants ${desired}, has ${capacityBefore}`);
    summary = {
      kind: "none",
      rule: "pool.scale-in",
      text: `${why}; ${plural(capacityBefore - desired, "host")} above desired: idle hosts drain`,
    };
  } else {
    summary = { kind: "none", rule: "pool.steady", text: `${why}; nothing to change` };
  }
  planDraining(ctx);
  planReadyRetries(ctx);
  planIdleMarks(ctx);
  planOffMarks(ctx);
  // Every pool-level decision carries the pool's numbers (the Decision contract).
  const decisions = ctx.decisions.map((d) =>
    d.host === undefined && !d.numbers ? { ...d, numbers } : d,
  );
  return [
    {
      pool: name,
      kind: summary.kind,
      rule: summary.rule,
      reason: `${name}: ${summary.text}`,
      numbers,
      effects: [],
    },
    ...decisions,
  ];
}

/** "desired 3 (demand): demand 3 = 2 busy hosts + 1 pending run, floor 1 (business-hours: 1), capacity 2" */
function explain(
  numbers: DecisionNumbers,
  pool: Pool,
  busy: HostView[],
  pending: PendingNeed,
  sources: FloorSource[],
): string {
  const { desired, demand, floor, capacity } = numbers;
  const raw = Math.max(floor, demand);
  const basis =
    raw > pool.max
      ? `max ${pool.max}, below the ${demand >= floor ? "demand" : "floor"} of ${raw}`
      : raw < pool.min || raw === 0
        ? `min ${pool.min}`
        : demand >= floor
          ? "demand"
          : "floor";
  const need =
    pending.hosts !== pending.runs && pending.hosts > 0
      ? ` needing ${plural(pending.hosts, "host")}`
      : "";
  const floorWords =
    sources.length > 0 ? ` (${sources.map((s) => `${s.what}: ${s.hosts}`).join(", ")})` : "";
  return `desired ${desired} (${basis}): demand ${demand} = ${plural(busy.length, "busy host")} + ${pending.words}${need}, floor ${floor}${floorWords}, capacity ${capacity}`;
}

function blindWhy(health: readonly SignalHealth[], unknownConsumers: readonly string[]): string {
  const down = health
    .filter((h) => h.status !== "ok")
    .map((h) => `${h.source} ${h.status}: ${h.why}`);
  const consumers = unknownConsumers.map((c) => `unknown consumer ${c}`);
  return [...down, ...consumers].join("; ");
}

/** Pool-level marks: signal health since-when and alerts, blind since, submitted runs to drop. */
function bookkeeping(
  ctx: PoolContext,
  health: readonly SignalHealth[],
  unknownConsumers: readonly string[],
  pending: PendingNeed,
  blind: boolean,
  demand: number,
): void {
  const control = ctx.snapshot.control;
  const effects: Effect[] = [];
  const notes: string[] = [];
  for (const signal of health) {
    const downSince = control.marks.signalDownSince[signal.source];
    const key = `signal:${signal.source}`;
    if (signal.status === "ok") {
      if (downSince !== undefined) {
        effects.push(stateEffect({ op: "signal-down", source: signal.source, since: null }));
        if (key in control.alertsSent) effects.push(stateEffect({ op: "alert-episode-end", key }));
        notes.push(`${signal.source} readable again`);
      }
      continue;
    }
    if (downSince === undefined) {
      effects.push(stateEffect({ op: "signal-down", source: signal.source, since: ctx.nowIso }));
      notes.push(`${signal.source} ${signal.status} (${signal.why})`);
    } else if (ctx.now - Date.parse(downSince) >= ctx.pool.signalAlertAfter) {
      const alert = alertOnce(
        ctx,
        key,
        `busy source ${signal.source} ${signal.status} since ${downSince} (${signal.why}); scale-in is frozen while it is down`,
      );
      if (alert.length > 0)
        notes.push(`${signal.source} down ${minutes(ctx.now - Date.parse(downSince))}: alert`);
      effects.push(...alert);
    }
  }
  for (const connection of unknownConsumers) {
    effects.push(
      ...alertOnce(
        ctx,
        `consumer:${connection}`,
        `a run-queue consumer from connection ${connection} maps to no known host: the pool is blind until it is mapped or ignored (ignoreConsumers)`,
      ),
    );
  }
  if (blind && control.marks.blindSince === null)
    effects.push(stateEffect({ op: "mark", name: "blindSince", value: ctx.nowIso }));
  if (!blind && control.marks.blindSince !== null)
    effects.push(stateEffect({ op: "mark", name: "blindSince", value: null }));
  if (pending.dropSubmitted.length > 0) {
    effects.push(stateEffect({ op: "drop-submitted", runIds: pending.dropSubmitted }));
    notes.push(
      `${plural(pending.dropSubmitted.length, "submitted run")} seen by the midtier or expired`,
    );
  }
  if (ctx.pool.prewarm === "learned") {
    const tz = poolTimezone(ctx.name, ctx.pool, ctx.config);
    for (const [slot, value] of Object.entries(
      learnArrivals(tz, ctx.pool, control, ctx.now, demand),
    ))
      effects.push(stateEffect({ op: "learn", slot, value }));
  }
  if (effects.length === 0) return;
  poolDecision(
    ctx,
    effects.some((e) => e.type === "alert") ? "alert" : "mark",
    "pool.bookkeeping",
    notes.length > 0 ? notes.join("; ") : "pool marks updated",
    effects,
  );
}
