import {
  TICK_MS,
  alertOnce,
  hostDecision,
  iso,
  lifecycleTags,
  minutes,
  registry,
  stateEffect,
  type PoolContext,
} from "./context.ts";
import type { Effect } from "./decision.ts";
import { TAG, type StopCause } from "./tags.ts";
import type { HostView } from "./view.ts";

// The lifecycle table (DESIGN.md, "Where state lives"): what each pair of lifecycle tag and cloud
// state leads to. Hosts in `ready`, `draining`, `bootstrapping` and `adopted` with a live cloud
// state are left to the later passes (ops stops, bootstrap, scale).

const STALE_ON_STOP = [TAG.idleSince, TAG.drainConfirmed];

/**
 * A host leaving bootstrap: its claim is revoked (a late result is refused) and its results are
 * dropped, so they can never make it ready after its next start.
 */
function forgetBootstrap(host: HostView): Effect[] {
  return [
    stateEffect({ op: "revoke-claim", host: host.id }),
    stateEffect({ op: "clear-bootstrap-results", host: host.id }),
  ];
}

/** Effects of a stop: revoke a bootstrap claim, write `stopping` with its cause, then the call. */
export function stopEffects(
  ctx: PoolContext,
  host: HostView,
  cause: StopCause,
  reason: string,
  extra: Record<string, string> = {},
): Effect[] {
  // Only hosts that may hold work get act's last-moment busy re-read; a forced stop skips it.
  const recheckBusy = host.canHoldWork && cause !== "ops-force";
  return [
    // A stopped host's bootstrap results must never make it ready after its next start.
    ...(host.lifecycle === "bootstrapping" || host.lifecycle === "adopted"
      ? forgetBootstrap(host)
      : []),
    lifecycleTags(
      ctx,
      host,
      "stopping",
      reason,
      { [TAG.stopCause]: cause, ...extra },
      STALE_ON_STOP,
    ),
    { type: "stop", host: host.id, hibernate: ctx.config.cloud.hibernate, recheckBusy },
  ];
}

/** A start that failed (its immediate result, or Describe still says stopped after startGrace). */
function startFailed(ctx: PoolContext, host: HostView, why: string): void {
  const failures = ctx.counters.startFailures + 1;
  const backoffMs = Math.min(TICK_MS * 2 ** (failures - 1), ctx.pool.startBackoffMax);
  ctx.counters.startFailures = failures;
  ctx.counters.startBackoffUntil = iso(ctx.now + backoffMs);
  const reason = `start failed (${why}); the pool's starts pause ${minutes(backoffMs)} (failure ${failures} in a row), another off host is picked next`;
  hostDecision(
    ctx,
    host,
    "mark",
    "start.failed",
    reason,
    [
      lifecycleTags(ctx, host, "off", reason),
      stateEffect({ op: "clear-start-record", host: host.id }),
      stateEffect({
        op: "counters",
        startFailures: failures,
        startBackoffUntil: ctx.counters.startBackoffUntil,
      }),
      ...alertOnce(
        ctx,
        "start-failed",
        `starting hosts fails (${host.id}: ${why}); starts back off`,
      ),
    ],
    "off",
  );
}

/** Runs the table for every host whose pair it settles; returns nothing, adds decisions. */
export function applyLifecycleTable(ctx: PoolContext): void {
  for (const host of ctx.hosts) {
    const { tags, cloud } = host;
    const since = tags.since ?? ctx.now;
    switch (host.lifecycle) {
      case undefined:
        // Absent and stopped: mark off. No vor:since (it was never stopped by us): no cooldown.
        if (cloud === "stopped") {
          ctx.projected.set(host.id, "off");
          // The mark is written only if scale-out does not start it in this plan (see scale.ts).
        } else {
          hostDecision(
            ctx,
            host,
            "none",
            "lifecycle.wait",
            `untagged and ${cloud}: waiting for it to stop`,
            [],
          );
        }
        break;
      case "off":
        if (cloud === "stopping")
          hostDecision(ctx, host, "none", "lifecycle.wait", "off, still stopping", []);
        break;
      case "adopted":
        if (host.tags.lifecycle !== "adopted") {
          // Absent or off in the tags, live in the cloud: someone started it.
          const wasOff = host.tags.lifecycle === "off";
          const reason = `${cloud} but not started by vor-power: adopted, it is checked in place before it is trusted`;
          hostDecision(
            ctx,
            host,
            "adopt",
            "lifecycle.adopt",
            reason,
            [
              lifecycleTags(ctx, host, "adopted", reason),
              ...(wasOff
                ? alertOnce(
                    ctx,
                    `adopted:${host.id}:${iso(since)}`,
                    `${host.id} was started outside vor-power; adopted`,
                  )
                : []),
            ],
            "adopted",
          );
        } else if (cloud === "pending" || cloud === "stopping") {
          hostDecision(ctx, host, "none", "lifecycle.wait", `adopted, ${cloud}`, []);
        } else if (cloud === "stopped") {
          const reason = "adopted and now stopped: off";
          hostDecision(
            ctx,
            host,
            "mark",
            "lifecycle.stopped",
            reason,
            [
              ...forgetBootstrap(host),
              lifecycleTags(ctx, host, "off", reason, {}, [
                TAG.idleSince,
                TAG.attemptAt,
                TAG.blocked,
              ]),
            ],
            "off",
          );
        }
        break;
      case "starting":
        startingHost(ctx, host, since);
        break;
      case "bootstrapping":
      case "ready":
      case "draining":
        if (cloud === "stopping") {
          hostDecision(
            ctx,
            host,
            "none",
            "lifecycle.wait",
            `${host.lifecycle} but stopping: stopped by someone else, waiting for it to stop`,
            [],
          );
        } else if (cloud === "stopped") {
          const reason = `${host.lifecycle} but stopped by someone else: off`;
          hostDecision(
            ctx,
            host,
            "mark",
            "lifecycle.stopped-outside",
            reason,
            [
              ...(host.lifecycle === "bootstrapping"
                ? forgetBootstrap(host)
                : registry(ctx, host, "deregister")),
              lifecycleTags(ctx, host, "off", reason, {}, [
                TAG.idleSince,
                TAG.drainConfirmed,
                TAG.stopCause,
              ]),
              ...alertOnce(
                ctx,
                `stopped-outside:${host.id}:${iso(since)}`,
                `${host.id} was stopped outside vor-power while ${host.lifecycle}`,
              ),
            ],
            "off",
          );
        } else if (cloud === "pending" && host.lifecycle !== "bootstrapping") {
          const reason = `${host.lifecycle} but pending: restarted by someone between ticks; adopted (it may hold runs)`;
          hostDecision(
            ctx,
            host,
            "adopt",
            "lifecycle.restarted-outside",
            reason,
            [
              lifecycleTags(ctx, host, "adopted", reason, {}, [TAG.idleSince, TAG.drainConfirmed]),
              ...alertOnce(
                ctx,
                `restarted-outside:${host.id}:${iso(since)}`,
                `${host.id} was restarted outside vor-power`,
              ),
            ],
            "adopted",
          );
        } else if (cloud === "pending") {
          hostDecision(ctx, host, "none", "lifecycle.wait", "bootstrapping, pending", []);
        }
        break;
      case "stopping":
        stoppingHost(ctx, host);
        break;
      case "failed":
        hostDecision(
          ctx,
          host,
          cloud === "pending" || cloud === "running" ? "alert" : "skip",
          "host.failed",
          `failed (${tags.failure ?? "no code"}): left alone until ops reset${cloud === "pending" || cloud === "running" ? `; it is ${cloud}, someone started it` : ""}`,
          cloud === "pending" || cloud === "running"
            ? alertOnce(
                ctx,
                `failed-started:${host.id}`,
                `${host.id} is failed but ${cloud}: someone started it; ops reset sends it through bootstrap again`,
              )
            : [],
        );
        break;
    }
  }
}

function startingHost(ctx: PoolContext, host: HostView, since: number): void {
  const record = ctx.snapshot.control.startRecords[host.id];
  if (record?.result === "failed") {
    startFailed(ctx, host, record.code ?? "the start call failed");
    return;
  }
  const startedAt = record ? Date.parse(record.at) : since;
  switch (host.cloud) {
    case "pending":
      if (ctx.now - since >= ctx.pool.startTimeout) {
        const reason = `still pending ${minutes(ctx.now - since)} after its start (startTimeout ${minutes(ctx.pool.startTimeout)}): stopping it`;
        hostDecision(
          ctx,
          host,
          "stop",
          "start.timeout",
          reason,
          stopEffects(ctx, host, "start-timeout", reason),
          "stopping",
        );
      } else {
        hostDecision(
          ctx,
          host,
          "none",
          "lifecycle.wait",
          `starting, pending for ${minutes(ctx.now - since)}`,
          [],
        );
      }
      return;
    case "running": {
      const reason = "running after its start: bootstrapping now";
      const backToNormal =
        ctx.counters.startFailures > 0 || ctx.counters.startBackoffUntil !== null;
      if (backToNormal) {
        ctx.counters.startFailures = 0;
        ctx.counters.startBackoffUntil = null;
      }
      hostDecision(
        ctx,
        host,
        "mark",
        "start.running",
        reason,
        [
          // The bootstrap begins in the same decision: a tick saved between boot and ready.
          lifecycleTags(ctx, host, "bootstrapping", reason, { [TAG.attemptAt]: ctx.nowIso }, [
            TAG.failure,
            TAG.blocked,
          ]),
          stateEffect({ op: "clear-start-record", host: host.id }),
          stateEffect({ op: "clear-bootstrap-results", host: host.id }),
          ...(backToNormal
            ? [stateEffect({ op: "counters", startFailures: 0, startBackoffUntil: null })]
            : []),
          ...("start-failed" in ctx.snapshot.control.alertsSent
            ? [stateEffect({ op: "alert-episode-end", key: "start-failed" })]
            : []),
          { type: "bootstrap", host: host.id, reference: false },
        ],
        "bootstrapping",
      );
      return;
    }
    default:
      // stopping or stopped: EC2's Describe is eventually consistent just after a start.
      if (ctx.now - startedAt < ctx.pool.startGrace) {
        hostDecision(
          ctx,
          host,
          "none",
          "start.grace",
          `started ${minutes(ctx.now - startedAt)} ago but reads ${host.cloud}: trusting the start record for startGrace ${minutes(ctx.pool.startGrace)}`,
          [],
        );
      } else {
        startFailed(
          ctx,
          host,
          `still ${host.cloud} ${minutes(ctx.now - startedAt)} after the start`,
        );
      }
  }
}

function stoppingHost(ctx: PoolContext, host: HostView): void {
  const cause = host.tags.stopCause;
  switch (host.cloud) {
    case "stopping":
      hostDecision(ctx, host, "none", "lifecycle.wait", `stopping (${cause ?? "no cause"})`, []);
      return;
    case "stopped": {
      const clearRequest =
        host.id in ctx.snapshot.control.stopRequests
          ? [stateEffect({ op: "clear-stop-request", host: host.id })]
          : [];
      if (cause === "quarantine") {
        quarantined(ctx, host, clearRequest);
        return;
      }
      const reason = `stopped (${cause ?? "no cause"}): off`;
      hostDecision(
        ctx,
        host,
        "mark",
        "lifecycle.stopped",
        reason,
        [
          ...clearRequest,
          ...(cause === "scale-in" || cause === "ops" || cause === "ops-force"
            ? registry(ctx, host, "deregister")
            : []),
          // A host the block stopped is off, not blocked: its next start bootstraps afresh.
          lifecycleTags(ctx, host, "off", reason, {}, [
            TAG.stopCause,
            TAG.idleSince,
            TAG.drainConfirmed,
            TAG.blocked,
          ]),
        ],
        "off",
      );
      return;
    }
    default: {
      // A stop that did not happen (a crash between tag and call).
      if ((cause === "scale-in" || cause === "ops") && (host.busy || host.busyUnknown)) {
        const reason = `stopping (${cause}) but still ${host.cloud} and ${host.busy ? `busy (${host.busyWhy ?? ""})` : "possibly busy (a busy source is down)"}: back to ready`;
        hostDecision(
          ctx,
          host,
          "undrain",
          "lifecycle.stop-not-done",
          reason,
          [
            lifecycleTags(ctx, host, "ready", reason, {}, [
              TAG.stopCause,
              TAG.drainConfirmed,
              TAG.idleSince,
            ]),
            ...registry(ctx, host, "register"),
            ...alertOnce(
              ctx,
              `stop-not-done:${host.id}`,
              `${host.id} was being stopped but holds work: returned to ready`,
            ),
          ],
          "ready",
        );
        return;
      }
      const reason = `stopping (${cause ?? "no cause"}) but still ${host.cloud}: stopping it again`;
      hostDecision(ctx, host, "stop", "lifecycle.stop-again", reason, [
        {
          type: "stop",
          host: host.id,
          hibernate: ctx.config.cloud.hibernate,
          recheckBusy: host.canHoldWork && cause !== "ops-force",
        },
      ]);
    }
  }
}

/** A quarantined host has stopped: tag it failed, alert, count it; protect the pool after too many. */
function quarantined(ctx: PoolContext, host: HostView, clearRequest: Effect[]): void {
  const failures = ctx.counters.consecutiveFailures + 1;
  ctx.counters.consecutiveFailures = failures;
  const reason = `quarantined and stopped: failed (${host.tags.failure ?? "bootstrap failed"}); ops reset clears it`;
  const protect = failures >= ctx.pool.maxConsecutiveFailures && !ctx.flags.protected;
  hostDecision(
    ctx,
    host,
    "quarantine",
    "quarantine.failed",
    reason,
    [
      ...clearRequest,
      lifecycleTags(ctx, host, "failed", reason, {}, [TAG.stopCause]),
      stateEffect({ op: "counters", consecutiveFailures: failures }),
      ...alertOnce(
        ctx,
        `failed:${host.id}:${iso(host.tags.since ?? ctx.now)}`,
        `${host.id} quarantined: ${host.tags.failure ?? "bootstrap failed"}`,
      ),
    ],
    "failed",
  );
  if (protect) {
    ctx.flags.protected = true;
    const why = `${failures} hosts failed in a row (maxConsecutiveFailures ${ctx.pool.maxConsecutiveFailures})`;
    ctx.decisions.push({
      pool: ctx.name,
      kind: "protect",
      rule: "protect.failures",
      reason: `${ctx.name}: protected, no starts: ${why}; lifts after ${minutes(ctx.pool.protectionCooldown)} or on ops resume-pool`,
      effects: [
        stateEffect({ op: "protect", since: ctx.nowIso, reason: why, cause: "failures" }),
        ...alertOnce(ctx, "protected", `protected (no starts): ${why}`),
      ],
    });
  }
}
