import {
  hostDecision,
  iso,
  lifecycleTags,
  minutes,
  projectedLifecycle,
  registry,
  type PoolContext,
} from "./context.ts";
import type { Effect } from "./decision.ts";
import { stopEffects } from "./lifecycle.ts";
import { TAG, type Lifecycle } from "./tags.ts";
import type { HostView } from "./view.ts";

// Ops stops, draining, scale-out and scale-in (DESIGN.md, "Scale-out", "Scale-in", "Ops stops").

const LIVE = new Set(["pending", "running"]);

/** Drain effects: draining written (drain-confirmed deleted first), the registry told, then confirmed. */
function drainEffects(ctx: PoolContext, host: HostView, reason: string): Effect[] {
  return [
    lifecycleTags(ctx, host, "draining", reason, {}, [TAG.drainConfirmed, TAG.idleSince]),
    ...registry(ctx, host, "maintenance"),
    { type: "tags", host: host.id, set: { [TAG.drainConfirmed]: ctx.nowIso }, remove: [] },
  ];
}

function undrainEffects(ctx: PoolContext, host: HostView, reason: string): Effect[] {
  return [
    lifecycleTags(ctx, host, "ready", reason, {}, [
      TAG.drainConfirmed,
      TAG.idleSince,
      TAG.stopCause,
    ]),
    ...registry(ctx, host, "register"),
  ];
}

/** Ops stop requests: forced stops at once (audited); unforced drains at once, stops once idle. */
export function planOpsStops(ctx: PoolContext): void {
  for (const host of ctx.hosts) {
    const request = ctx.snapshot.control.stopRequests[host.id];
    if (!request || ctx.decided.has(host.id) || !LIVE.has(host.cloud)) continue;
    const lifecycle = projectedLifecycle(ctx, host);
    const who = `ops stop by ${request.by} (${request.why})`;
    if (request.force) {
      const reason = `${who}, forced: stopping now${host.busy ? ` although busy (${host.busyWhy ?? ""})` : host.busyUnknown ? " although possibly busy" : ""}`;
      hostDecision(
        ctx,
        host,
        "stop",
        "ops.force-stop",
        reason,
        [
          ...stopEffects(ctx, host, "ops-force", reason),
          {
            type: "alert",
            key: `ops-force:${host.id}:${request.at}`,
            message: `${ctx.name}: AUDIT ${host.id} force-stopped by ${request.by}: ${request.why}`,
          },
        ],
        "stopping",
      );
      continue;
    }
    if (lifecycle === "ready" || lifecycle === "adopted") {
      const reason = `${who}: draining now, stops once idle ${minutes(ctx.pool.drainGrace)} after the drain is confirmed`;
      hostDecision(
        ctx,
        host,
        "drain",
        "ops.drain",
        reason,
        drainEffects(ctx, host, reason),
        "draining",
      );
    } else if (lifecycle === "starting" || lifecycle === "bootstrapping") {
      // It never served work: nothing to drain.
      const reason = `${who}: it never reached ready, stopping now`;
      hostDecision(
        ctx,
        host,
        "stop",
        "ops.stop",
        reason,
        stopEffects(ctx, host, "ops", reason),
        "stopping",
      );
    } else if (lifecycle === "draining") {
      drainingHost(ctx, host, "ops");
    }
  }
}

/**
 * Draining hosts that got work return to ready (not for an ops stop). Runs before capacity is
 * counted, so a busy draining host counts once, as the ready host it becomes.
 */
export function planDrainingWork(ctx: PoolContext): void {
  for (const host of ctx.hosts) {
    if (ctx.decided.has(host.id) || host.lifecycle !== "draining" || host.cloud !== "running")
      continue;
    if (host.busy) drainingHost(ctx, host, "scale-in");
  }
}

/** The other draining hosts, after scale-out had the chance to return them: confirm, wait, stop. */
export function planDraining(ctx: PoolContext): void {
  for (const host of ctx.hosts) {
    if (ctx.decided.has(host.id) || host.lifecycle !== "draining" || host.cloud !== "running")
      continue;
    drainingHost(ctx, host, "scale-in");
  }
}

function drainingHost(ctx: PoolContext, host: HostView, cause: "scale-in" | "ops"): void {
  const confirmed = host.tags.drainConfirmed;
  const since = host.tags.since ?? 0;
  if (cause === "scale-in" && host.busy) {
    const reason = `got work while draining (${host.busyWhy ?? ""}): back to ready`;
    hostDecision(
      ctx,
      host,
      "undrain",
      "scale-in.undrain-work",
      reason,
      undrainEffects(ctx, host, reason),
      "ready",
    );
    return;
  }
  if (confirmed === undefined || confirmed < since) {
    const reason = "drain not confirmed yet: removing it from the ready list again";
    hostDecision(ctx, host, "drain", "scale-in.drain-confirm", reason, [
      ...registry(ctx, host, "maintenance"),
      { type: "tags", host: host.id, set: { [TAG.drainConfirmed]: ctx.nowIso }, remove: [] },
    ]);
    return;
  }
  if (host.busy || host.busyUnknown) {
    hostDecision(
      ctx,
      host,
      host.busyUnknown ? "freeze" : "none",
      host.busyUnknown ? "freeze.blind" : "ops.drain-wait",
      host.busyUnknown
        ? "draining, possibly busy (a busy source is down): not stopped"
        : `draining for an ops stop, still busy (${host.busyWhy ?? ""})`,
      [],
    );
    return;
  }
  const stopAt = confirmed + ctx.pool.drainGrace;
  if (ctx.now < stopAt) {
    hostDecision(
      ctx,
      host,
      "none",
      "scale-in.drain-grace",
      `draining, idle; stops at ${iso(stopAt)} (drainGrace ${minutes(ctx.pool.drainGrace)} after the drain was confirmed)`,
      [],
    );
    return;
  }
  const reason = `idle ${minutes(ctx.now - confirmed)} after its drain was confirmed: stopping (${cause})`;
  hostDecision(
    ctx,
    host,
    "stop",
    cause === "ops" ? "ops.stop" : "scale-in.stop",
    reason,
    stopEffects(ctx, host, cause, reason),
    "stopping",
  );
}

/** What counts as capacity once this plan is applied (DESIGN.md, "Capacity"). */
export function isCapacity(ctx: PoolContext, host: HostView): boolean {
  const lifecycle = projectedLifecycle(ctx, host);
  if (host.busyUnknown && lifecycle !== "off" && lifecycle !== "failed") return true;
  if (lifecycle === "starting") return true;
  return (
    (lifecycle === "bootstrapping" || lifecycle === "adopted" || lifecycle === "ready") &&
    LIVE.has(host.cloud)
  );
}

/** Scale-out: undrain draining hosts first (not those ops asked to stop), then start off hosts. */
export function planScaleOut(ctx: PoolContext, short: number, why: string, rule: string): number {
  let started = 0;
  let need = short;
  const draining = ctx.hosts
    .filter(
      (h) =>
        !ctx.decided.has(h.id) &&
        h.lifecycle === "draining" &&
        h.cloud === "running" &&
        !(h.id in ctx.snapshot.control.stopRequests),
    )
    .sort((a, b) => (b.tags.since ?? 0) - (a.tags.since ?? 0) || (a.id < b.id ? -1 : 1));
  for (const host of draining.slice(0, need)) {
    const reason = `${why}: back to ready from draining (warm, no start needed)`;
    hostDecision(
      ctx,
      host,
      "undrain",
      "scale-out.undrain",
      reason,
      undrainEffects(ctx, host, reason),
      "ready",
    );
    need--;
  }
  if (need <= 0) return 0;
  if (ctx.flags.protected) {
    const protection = ctx.snapshot.control.protection;
    ctx.decisions.push({
      pool: ctx.name,
      kind: "freeze",
      rule: "freeze.protected",
      reason: `${ctx.name}: ${need} more host${need === 1 ? "" : "s"} wanted but the pool is protected (${protection?.reason ?? "see status"}): no starts`,
      effects: [],
    });
    return 0;
  }
  const backoff = ctx.counters.startBackoffUntil;
  if (backoff !== null && Date.parse(backoff) > ctx.now) {
    ctx.decisions.push({
      pool: ctx.name,
      kind: "freeze",
      rule: "scale-out.backoff",
      reason: `${ctx.name}: ${need} more host${need === 1 ? "" : "s"} wanted, but starts back off until ${backoff} after ${ctx.counters.startFailures} failed start${ctx.counters.startFailures === 1 ? "" : "s"}`,
      effects: [],
    });
    return 0;
  }
  const candidates = ctx.hosts
    .filter((h) => {
      if (
        ctx.decided.has(h.id) ||
        h.cloud !== "stopped" ||
        h.id in ctx.snapshot.control.stopRequests
      )
        return false;
      if (h.lifecycle !== "off" && h.lifecycle !== undefined) return false;
      return h.tags.since === undefined || ctx.now - h.tags.since >= ctx.pool.restartCooldown;
    })
    .sort(
      (a, b) =>
        a.tags.attempts - b.tags.attempts ||
        (a.tags.since ?? 0) - (b.tags.since ?? 0) ||
        (a.id < b.id ? -1 : 1),
    );
  const count = Math.min(need, ctx.pool.maxStartsPerTick, candidates.length);
  for (const host of candidates.slice(0, count)) {
    const order =
      host.tags.attempts > 0
        ? `${host.tags.attempts} attempts`
        : host.tags.since === undefined
          ? "never started by vor-power"
          : `off since ${iso(host.tags.since)}`;
    const reason = `${why}: starting (${order})`;
    hostDecision(
      ctx,
      host,
      "start",
      rule,
      reason,
      [
        lifecycleTags(ctx, host, "starting", reason, {}, [
          TAG.attempts,
          TAG.attemptAt,
          TAG.failure,
          TAG.blocked,
          TAG.stopCause,
          TAG.idleSince,
          TAG.drainConfirmed,
        ]),
        { type: "start", host: host.id },
      ],
      "starting",
    );
    started++;
  }
  if (count < need) {
    const limit =
      count === ctx.pool.maxStartsPerTick
        ? `maxStartsPerTick ${ctx.pool.maxStartsPerTick}`
        : `no more off host can start (${candidates.length} candidate${candidates.length === 1 ? "" : "s"}; the rest are in restartCooldown, excluded, failed or running)`;
    ctx.decisions.push({
      pool: ctx.name,
      kind: "none",
      rule: "scale-out.limited",
      reason: `${ctx.name}: ${need - count} more host${need - count === 1 ? "" : "s"} wanted than started this tick: ${limit}`,
      effects: [],
    });
  }
  return started;
}

/** Scale-in: drain idle ready hosts past minUptime and idleTimeout, longest idle first, at most `excess`. */
export function planScaleIn(ctx: PoolContext, excess: number, why: string): void {
  const ready = ctx.hosts.filter(
    (h) =>
      !ctx.decided.has(h.id) && projectedLifecycle(ctx, h) === "ready" && h.cloud === "running",
  );
  const eligible = ready
    .filter(
      (h) =>
        !h.busy &&
        !h.busyUnknown &&
        h.tags.idleSince !== undefined &&
        ctx.now - h.tags.idleSince >= ctx.pool.idleTimeout,
    )
    .filter((h) => h.tags.readyAt === undefined || ctx.now - h.tags.readyAt >= ctx.pool.minUptime)
    .sort((a, b) => (a.tags.idleSince ?? 0) - (b.tags.idleSince ?? 0) || (a.id < b.id ? -1 : 1));
  for (const host of eligible.slice(0, Math.max(0, excess))) {
    const reason = `${why}; idle since ${iso(host.tags.idleSince ?? ctx.now)} (idleTimeout ${minutes(ctx.pool.idleTimeout)}): draining`;
    hostDecision(
      ctx,
      host,
      "drain",
      "scale-in.idle",
      reason,
      drainEffects(ctx, host, reason),
      "draining",
    );
  }
}

/** vor:idle-since on ready hosts: set when first seen idle, removed when busy; left as is when possibly busy. */
export function planIdleMarks(ctx: PoolContext): void {
  for (const host of ctx.hosts) {
    if (
      ctx.decided.has(host.id) ||
      projectedLifecycle(ctx, host) !== "ready" ||
      host.cloud !== "running"
    )
      continue;
    if (host.busy && host.tags.idleSince !== undefined) {
      hostDecision(ctx, host, "mark", "idle.busy", `busy (${host.busyWhy ?? ""}): no longer idle`, [
        { type: "tags", host: host.id, set: {}, remove: [TAG.idleSince] },
      ]);
    } else if (!host.busy && !host.busyUnknown && host.tags.idleSince === undefined) {
      hostDecision(ctx, host, "mark", "idle.since", "ready and idle: idle from now", [
        { type: "tags", host: host.id, set: { [TAG.idleSince]: ctx.nowIso }, remove: [] },
      ]);
    } else {
      const state = host.busy
        ? `busy (${host.busyWhy ?? ""})`
        : host.busyUnknown
          ? "possibly busy (a busy source is down)"
          : `idle since ${iso(host.tags.idleSince ?? ctx.now)}`;
      hostDecision(ctx, host, "none", "host.serving", `ready, ${state}`, []);
    }
  }
}

/**
 * Off hosts nothing else decided: absent ones found stopped are marked off (unless scale-out
 * started them in this plan); the rest say when they may start again.
 */
export function planOffMarks(ctx: PoolContext): void {
  for (const host of ctx.hosts) {
    if (ctx.decided.has(host.id) || host.cloud !== "stopped") continue;
    if (host.lifecycle === undefined) {
      hostDecision(
        ctx,
        host,
        "mark",
        "lifecycle.mark-off",
        "stopped and never managed: off",
        [
          {
            type: "tags",
            host: host.id,
            set: { [TAG.lifecycle]: "off" satisfies Lifecycle },
            remove: [],
          },
        ],
        "off",
      );
    } else if (host.lifecycle === "off") {
      const until =
        host.tags.since === undefined ? undefined : host.tags.since + ctx.pool.restartCooldown;
      const when =
        until !== undefined && until > ctx.now
          ? `a start candidate from ${iso(until)} (restartCooldown)`
          : "a start candidate";
      hostDecision(ctx, host, "none", "host.off", `off, ${when}`, []);
    }
  }
}
