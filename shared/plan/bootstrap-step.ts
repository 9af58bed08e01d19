import {
  TICK_MS,
  hostDecision,
  iso,
  lifecycleTags,
  minutes,
  projectedLifecycle,
  registry,
  stateEffect,
  type PoolContext,
} from "./context.ts";
import type { Effect } from "./decision.ts";
import { stopEffects } from "./lifecycle.ts";
import type { BootstrapResult } from "./snapshot.ts";
import { TAG } from "./tags.ts";
import type { HostView } from "./view.ts";

// The bootstrap step of `bootstrapping` and `adopted` hosts (DESIGN.md, "Bootstrap"): the
// bootstrapper records raw results; the planner classifies them here, so two bootstrappers never
// decide alone. Host-caused failures count attempts; outside faults block; booting counts nothing.

/** Failures that mean "still booting" while within bootGrace of reaching running. */
const BOOTING = [
  /^ssh:unreachable$/,
  /^ssh:timeout$/,
  // hostKey mode pinned: the console output shows no host keys yet (cloud-init prints them late)
  /^ssh:host-keys-pending$/,
  /^ssm:not-registered$/,
  // a playpen not mounted yet; its mount point missing too when cloud-init's mounts creates it
  /^playpen:.*:(mount|not-mounted|missing)$/,
];
/** Faults outside the host: they block it and count nothing. */
const OUTSIDE = [/^vault:/, /^throttl/, /^capacity/, /^consul:/, /^channel:/, /^cloud:throttl/];

// Results count only for the current attempt of the current lifecycle: a result from before the
// host's last start (or before its lifecycle changed) says nothing about it now.
const currentResults = (ctx: PoolContext, host: HostView): BootstrapResult[] => {
  const from = Math.max(host.tags.attemptAt ?? 0, host.tags.since ?? 0);
  return (ctx.snapshot.control.bootstrapResults[host.id] ?? []).filter(
    (r) => !r.reference && Date.parse(r.at) >= from,
  );
};

/** Backoff between attempts: 1, 2, 4 ... ticks from vor:attempt-at. */
const backoffMs = (attempts: number) => TICK_MS * 2 ** Math.max(0, attempts - 1);

type Comparison = "shared" | "host" | "no-reference";

/** Whether a playpen failure is the host's or the shared storage's (DESIGN.md, "Outside faults"). */
function comparePlaypen(ctx: PoolContext, host: HostView, playpen: string): Comparison {
  const window = ctx.now - ctx.pool.bootstrapTimeout;
  let passedElsewhere = false;
  for (const [other, results] of Object.entries(ctx.snapshot.control.bootstrapResults)) {
    if (other === host.id) continue;
    for (const result of results) {
      if (Date.parse(result.at) < window) continue;
      if (result.outcome === "failed" && result.playpen === playpen) return "shared";
      if (
        result.outcome === "passed" &&
        (result.playpen === undefined || result.playpen === playpen)
      )
        passedElsewhere = true;
    }
  }
  return passedElsewhere ? "host" : "no-reference";
}

/** Runs the bootstrap pass; `blockEnds`: a host passes in this plan, so every block ends. */
export function planBootstrap(ctx: PoolContext): void {
  const candidates = ctx.hosts.filter(
    (h) =>
      !ctx.decided.has(h.id) &&
      h.cloud === "running" &&
      ["bootstrapping", "adopted"].includes(projectedLifecycle(ctx, h) ?? ""),
  );
  const passing = new Set(
    candidates.filter((h) => currentResults(ctx, h).at(-1)?.outcome === "passed").map((h) => h.id),
  );
  for (const host of candidates) {
    if (passing.has(host.id)) {
      ready(ctx, host);
      continue;
    }
    if (host.tags.blocked !== undefined && passing.size > 0) {
      const reason = `block (${host.tags.blocked}) ended: another host passed; its bootstrap timeout restarts`;
      hostDecision(ctx, host, "mark", "bootstrap.unblocked", reason, [
        lifecycleTags(
          ctx,
          host,
          host.lifecycle === "adopted" ? "adopted" : "bootstrapping",
          reason,
          {},
          [TAG.blocked],
        ),
      ]);
      continue;
    }
    stepHost(ctx, host);
  }
}

/**
 * Ready hosts whose own passing results are still stored: their ready decision did not finish
 * (the Consul registration failed, or clearing the results did), and nothing else would retry it.
 * The registration is issued again and the results cleared, so a Consul outage at the moment a
 * host became ready does not leave it out of the list the midtier reads.
 */
export function planReadyRetries(ctx: PoolContext): void {
  for (const host of ctx.hosts) {
    if (
      ctx.decided.has(host.id) ||
      host.cloud !== "running" ||
      projectedLifecycle(ctx, host) !== "ready"
    )
      continue;
    const own = (ctx.snapshot.control.bootstrapResults[host.id] ?? []).filter((r) => !r.reference);
    if (own.at(-1)?.outcome !== "passed") continue;
    hostDecision(
      ctx,
      host,
      "ready",
      "ready.register",
      "ready, but its ready decision did not finish (the registration or clearing its results): registering it again",
      [
        ...registry(ctx, host, "register"),
        stateEffect({ op: "clear-bootstrap-results", host: host.id }),
      ],
    );
  }
}

function ready(ctx: PoolContext, host: HostView): void {
  const reason =
    host.lifecycle === "adopted"
      ? "adopted host passed every check in place: ready"
      : "access proved and every playpen check passed: ready";
  const effects: Effect[] = [
    lifecycleTags(ctx, host, "ready", reason, { [TAG.readyAt]: ctx.nowIso }, [
      TAG.attempts,
      TAG.attemptAt,
      TAG.failure,
      TAG.blocked,
      TAG.idleSince,
      TAG.drainConfirmed,
      TAG.stopCause,
    ]),
    ...registry(ctx, host, "register"),
    stateEffect({ op: "clear-bootstrap-results", host: host.id }),
  ];
  if (ctx.counters.consecutiveFailures > 0) {
    ctx.counters.consecutiveFailures = 0;
    effects.push(stateEffect({ op: "counters", consecutiveFailures: 0 }));
  }
  // Any host passing ends a block and its protection (DESIGN.md, "Bootstrap"): the probe itself,
  // when the blocked hosts beside it were stopped.
  if (ctx.snapshot.control.protection?.cause === "blocked" && ctx.flags.protected) {
    ctx.flags.protected = false;
    effects.push(
      stateEffect({ op: "unprotect" }),
      stateEffect({ op: "mark", name: "blockedSince", value: null }),
      stateEffect({ op: "alert-episode-end", key: "protected" }),
    );
  }
  hostDecision(
    ctx,
    host,
    "ready",
    host.lifecycle === "adopted" ? "bootstrap.adopted-passed" : "bootstrap.passed",
    reason,
    effects,
    "ready",
  );
}

function stepHost(ctx: PoolContext, host: HostView): void {
  const last = currentResults(ctx, host).at(-1);
  const since = host.tags.since ?? ctx.now;
  if (last !== undefined) {
    classify(ctx, host, last);
    return;
  }
  if (
    host.lifecycle === "bootstrapping" &&
    host.tags.blocked === undefined &&
    ctx.now - since >= ctx.pool.bootstrapTimeout
  ) {
    quarantine(
      ctx,
      host,
      "bootstrap:timeout",
      `not ready ${minutes(ctx.now - since)} after it started bootstrapping (bootstrapTimeout ${minutes(ctx.pool.bootstrapTimeout)})`,
      "quarantine.timeout",
    );
    return;
  }
  const attemptAt = host.tags.attemptAt;
  if (attemptAt === undefined || ctx.now - attemptAt >= backoffMs(host.tags.attempts)) {
    const reason = `${host.lifecycle === "adopted" ? "checking the adopted host in place" : "bootstrap step"}${host.tags.attempts > 0 ? ` (attempt ${host.tags.attempts + 1} of ${ctx.pool.maxBootstrapAttempts})` : ""}${host.tags.blocked ? `, probing the block ${host.tags.blocked}` : ""}`;
    hostDecision(ctx, host, "bootstrap", "bootstrap.step", reason, [
      { type: "tags", host: host.id, set: { [TAG.attemptAt]: ctx.nowIso }, remove: [] },
      { type: "bootstrap", host: host.id, reference: false },
    ]);
    return;
  }
  hostDecision(
    ctx,
    host,
    "none",
    "bootstrap.backoff",
    `next bootstrap attempt at ${iso(attemptAt + backoffMs(host.tags.attempts))}`,
    [],
  );
}

function classify(ctx: PoolContext, host: HostView, result: BootstrapResult): void {
  const code = result.outcome === "skipped" ? result.code || "channel:none" : result.code;
  const clear = stateEffect({ op: "clear-bootstrap-results", host: host.id });
  const booting = host.launchedAt !== undefined && ctx.now - host.launchedAt < ctx.pool.bootGrace;
  if (result.outcome === "failed" && booting && BOOTING.some((p) => p.test(code))) {
    hostDecision(
      ctx,
      host,
      "mark",
      "bootstrap.booting",
      `${code} within bootGrace ${minutes(ctx.pool.bootGrace)} of booting: still booting, nothing counted`,
      [clear],
    );
    return;
  }
  if (result.outcome === "skipped" || OUTSIDE.some((p) => p.test(code))) {
    block(ctx, host, code, `${code}: an outside fault, not the host's; nothing counted`, clear);
    return;
  }
  if (result.playpen !== undefined) {
    const comparison = comparePlaypen(ctx, host, result.playpen);
    if (comparison === "shared") {
      block(
        ctx,
        host,
        code,
        `${code} fails on another host of the pool too: the shared storage, not this host`,
        clear,
      );
      return;
    }
    if (comparison === "no-reference") {
      const reference = ctx.hosts.find(
        (h) => h.id !== host.id && projectedLifecycle(ctx, h) === "ready" && h.cloud === "running",
      );
      const effects: Effect[] = reference
        ? [{ type: "bootstrap", host: reference.id, reference: true }]
        : [];
      block(
        ctx,
        host,
        code,
        `${code} with no other host to compare${reference ? `: re-running the check on ${reference.id} as a reference` : ""}; treated as the shared storage's until a reference passes`,
        clear,
        effects,
      );
      return;
    }
  }
  hostCaused(ctx, host, code, clear);
}

function block(
  ctx: PoolContext,
  host: HostView,
  code: string,
  reason: string,
  clear: Effect,
  extra: Effect[] = [],
): void {
  hostDecision(ctx, host, "blocked", "bootstrap.blocked", `blocked: ${reason}`, [
    { type: "tags", host: host.id, set: { [TAG.blocked]: code }, remove: [] },
    clear,
    ...extra,
  ]);
}

function hostCaused(ctx: PoolContext, host: HostView, code: string, clear: Effect): void {
  const attempts = host.tags.attempts + 1;
  if (attempts >= ctx.pool.maxBootstrapAttempts) {
    quarantine(
      ctx,
      host,
      code,
      `${code}: attempt ${attempts} of ${ctx.pool.maxBootstrapAttempts} failed`,
      "quarantine.attempts",
      clear,
    );
    return;
  }
  hostDecision(
    ctx,
    host,
    "mark",
    "bootstrap.failed",
    `${code}: host-caused failure, attempt ${attempts} of ${ctx.pool.maxBootstrapAttempts}; retry after ${minutes(backoffMs(attempts))}`,
    [
      {
        type: "tags",
        host: host.id,
        set: { [TAG.attempts]: String(attempts), [TAG.failure]: code },
        remove: [TAG.blocked],
      },
      clear,
    ],
  );
}

/** Quarantine: stopping with stop-cause quarantine (never an adopted host that may hold work). */
function quarantine(
  ctx: PoolContext,
  host: HostView,
  code: string,
  why: string,
  rule: string,
  ...extra: Effect[]
): void {
  if (host.busy || host.busyUnknown) {
    hostDecision(
      ctx,
      host,
      "skip",
      "quarantine.adopted-busy",
      `${why}; it ${host.busy ? `is busy (${host.busyWhy ?? ""})` : "may be busy"}, so it is only reported`,
      [...extra, { type: "tags", host: host.id, set: { [TAG.failure]: code }, remove: [] }],
    );
    return;
  }
  const reason = `${why}: quarantined, stopping it`;
  hostDecision(
    ctx,
    host,
    "quarantine",
    rule,
    reason,
    [...extra, ...stopEffects(ctx, host, "quarantine", reason, { [TAG.failure]: code })],
    "stopping",
  );
}
