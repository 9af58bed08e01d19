import {
  alertOnce,
  hostDecision,
  minutes,
  poolDecision,
  projectedLifecycle,
  stateEffect,
  type PoolContext,
} from "./context.ts";
import { stopEffects } from "./lifecycle.ts";
import type { HostView } from "./view.ts";

// Blocked hosts and pool protection (DESIGN.md, "Bootstrap" and "Quarantine"): an outside fault
// held past blockedTimeout protects the pool and stops its blocked hosts but one probe, so a broken
// image or a long outage costs at most that long; protection lifts by itself after its cooldown.

// Runs before the bootstrap pass, on the blocks earlier plans recorded, so a blocked host can be
// stopped before it gets another bootstrap step.
function blockedHosts(ctx: PoolContext): HostView[] {
  return ctx.hosts.filter((h) => {
    const lifecycle = projectedLifecycle(ctx, h);
    return (
      h.tags.blocked !== undefined &&
      h.cloud === "running" &&
      (lifecycle === "bootstrapping" || lifecycle === "adopted")
    );
  });
}

export function planBlocked(ctx: PoolContext, desired: number): void {
  const control = ctx.snapshot.control;
  const blocked = blockedHosts(ctx);
  const blockedSince =
    control.marks.blockedSince === null ? undefined : Date.parse(control.marks.blockedSince);
  const protection = control.protection;

  if (
    protection?.cause === "failures" &&
    ctx.flags.protected &&
    ctx.now - Date.parse(protection.since) >= ctx.pool.protectionCooldown
  ) {
    ctx.flags.protected = false;
    ctx.counters.consecutiveFailures = 0;
    poolDecision(
      ctx,
      "unprotect",
      "unprotect.cooldown",
      `protection (${protection.reason}) lifted after protectionCooldown ${minutes(ctx.pool.protectionCooldown)}`,
      [
        stateEffect({ op: "unprotect" }),
        stateEffect({ op: "counters", consecutiveFailures: 0 }),
        stateEffect({ op: "alert-episode-end", key: "protected" }),
      ],
    );
  }

  if (blocked.length === 0) {
    if (protection?.cause === "blocked" && ctx.flags.protected) {
      // No host is blocked because the block's hosts were stopped (blocked.stop), not because one
      // passed (that lifts it in the bootstrap pass): the protection holds until
      // protectionCooldown, so the next demand does not start hosts into the same fault.
      if (ctx.now - Date.parse(protection.since) >= ctx.pool.protectionCooldown) {
        liftAfterCooldown(ctx, protection.reason);
      }
      return;
    }
    if (blockedSince !== undefined) {
      poolDecision(ctx, "mark", "blocked.ended", "no host is blocked any more", [
        stateEffect({ op: "mark", name: "blockedSince", value: null }),
      ]);
    }
    return;
  }
  if (blockedSince === undefined) {
    poolDecision(
      ctx,
      "mark",
      "blocked.since",
      `${blocked.length} host${blocked.length === 1 ? "" : "s"} blocked by an outside fault (${blocked.map((h) => `${h.id} ${h.tags.blocked ?? "new"}`).join(", ")})`,
      [stateEffect({ op: "mark", name: "blockedSince", value: ctx.nowIso })],
    );
    return;
  }

  // The probe: the one blocked host kept running to see when the fault ends (while hosts are wanted).
  const stoppable = blocked.filter((h) => !h.canHoldWork);
  const probe = desired > 0 ? stoppable[0] : undefined;
  const codes = [...new Set(blocked.map((h) => h.tags.blocked ?? "outside fault"))].join(", ");

  if (
    protection?.cause === "blocked" &&
    ctx.flags.protected &&
    ctx.now - Date.parse(protection.since) >= ctx.pool.protectionCooldown
  ) {
    // Cooldown over: stop the probe still blocked, so a different off host may start as the next probe.
    liftAfterCooldown(ctx, protection.reason);
    for (const host of stoppable)
      stopBlocked(
        ctx,
        host,
        "still blocked when protection lifted: stopping the probe, another host probes next",
      );
    return;
  }

  if (ctx.now - blockedSince < ctx.pool.blockedTimeout) return;
  if (!ctx.flags.protected) {
    ctx.flags.protected = true;
    const why = `bootstrap blocked ${minutes(ctx.now - blockedSince)} by ${codes} (blockedTimeout ${minutes(ctx.pool.blockedTimeout)})`;
    poolDecision(ctx, "protect", "protect.blocked", `protected, no starts: ${why}`, [
      stateEffect({ op: "protect", since: ctx.nowIso, reason: why, cause: "blocked" }),
      ...alertOnce(ctx, "protected", `protected (no starts): ${why}`),
    ]);
  }
  for (const host of stoppable) {
    if (host === probe) continue;
    stopBlocked(
      ctx,
      host,
      `blocked past blockedTimeout ${minutes(ctx.pool.blockedTimeout)}${probe ? `; ${probe.id} stays as the probe` : " and no host is wanted"}: stopping it, nothing counted`,
    );
  }
  for (const host of blocked.filter((h) => h.canHoldWork && !ctx.decided.has(h.id))) {
    hostDecision(
      ctx,
      host,
      "skip",
      "blocked.adopted",
      `blocked (${host.tags.blocked ?? ""}) but adopted: only reported`,
      [],
    );
  }
}

/** A block's protection lifted after protectionCooldown: a new probe may start. */
function liftAfterCooldown(ctx: PoolContext, reason: string): void {
  ctx.flags.protected = false;
  poolDecision(
    ctx,
    "unprotect",
    "unprotect.cooldown",
    `protection (${reason}) lifted after protectionCooldown ${minutes(ctx.pool.protectionCooldown)}; a new probe may start`,
    [
      stateEffect({ op: "unprotect" }),
      stateEffect({ op: "mark", name: "blockedSince", value: null }),
      stateEffect({ op: "alert-episode-end", key: "protected" }),
    ],
  );
}

function stopBlocked(ctx: PoolContext, host: HostView, reason: string): void {
  if (ctx.decided.has(host.id)) return; // decided this plan (its result was classified): next plan
  hostDecision(
    ctx,
    host,
    "stop",
    "blocked.stop",
    reason,
    stopEffects(ctx, host, "blocked", reason),
    "stopping",
  );
}
