import { setTimeout as sleep } from "node:timers/promises";
import type { Ports } from "../act/ports.ts";
import { LEASE_TTL_MS, reconcilePool, type PoolReconcile } from "../act/reconcile.ts";
import type { Config } from "../config/index.ts";
import { LeaseLostError } from "../state/errors.ts";
import type { Lease } from "../state/state-store.ts";
import type { OpsCommand, OpsResult } from "./commands.ts";
import type { DecisionNumbers } from "../plan/decision.ts";
import { observeAndPlan, poolStatus, type PoolStatus } from "./read-commands.ts";
import {
  iso,
  prepareWrite,
  type Change,
  type PoolView,
  type WriteCommand,
} from "./write-commands.ts";

// Manual ops (DESIGN.md, "Three ways in"): one runner behind the ops Lambda and the CLI. Reads
// observe and plan; writes change the pool's control state or one host's tags under the pool's
// lease, then reconcile the pool at once so the change takes effect now, not at the next tick.

export interface OpsContext {
  config: Config;
  ports: Ports;
  now: Date;
  /** make no write at all (not even the lease): answer with what would change */
  dryRun: boolean;
  /** who holds the lease this command takes (shown in the state store) */
  owner: string;
  /**
   * How long to wait for a lease held by a reconcile in flight: `attempts` more tries, `waitMs`
   * apart (default 5 × 200 ms: a tick's reconcile usually ends within a second).
   */
  leaseRetry?: { attempts: number; waitMs: number };
}

/** The audit line of a write: who asked, what changed, why, when. */
export type Audit = { who: string; what: string; why: string; at: string };

/** What the reconcile run after a write did (`acted` false: another invocation plans instead). */
export type ReconcileSummary = {
  acted: boolean;
  note?: string;
  error?: string;
  summary?: string;
  numbers?: DecisionNumbers;
  decisions?: {
    host?: string;
    kind: string;
    rule: string;
    reason: string;
    status: string;
    why?: string;
  }[];
};

/** The body of a write's answer (200, 202; a dry run has no `reconcile`). */
export type WriteAnswer = {
  command: WriteCommand["command"];
  pool: string;
  host?: string;
  dryRun: boolean;
  message: string;
  changes: Change[];
  audit: Audit;
  reconcile?: ReconcileSummary;
};

/** The body of `status`: each pool's status (read-commands.ts). */
export type StatusReport = { at: string; pools: Record<string, PoolStatus> };

const DEFAULT_LEASE_RETRY = { attempts: 5, waitMs: 200 };

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

const answer = (status: OpsResult["status"], body: Record<string, unknown>): OpsResult => ({
  status,
  body,
});

/**
 * Runs one ops command. Never throws for a situation it expects: an unknown pool or host is 404,
 * a state the command cannot apply to is 409, a hold in the past 400, a lease another reconcile
 * keeps 409, and an adapter's failure 500 with its message (no stack).
 */
export async function runOps(command: OpsCommand, ctx: OpsContext): Promise<OpsResult> {
  const pool = command.pool;
  if (pool !== undefined && !Object.hasOwn(ctx.config.pools, pool))
    return answer(404, {
      error: `pool ${pool} is not in the config (pools: ${Object.keys(ctx.config.pools).join(", ")})`,
    });
  try {
    switch (command.command) {
      case "status":
        return await status(ctx, pool);
      case "plan": {
        const names = pool === undefined ? Object.keys(ctx.config.pools) : [pool];
        const { decisions } = await observeAndPlan(ctx.config, ctx.ports, names, ctx.now);
        return answer(200, { at: iso(ctx.now.getTime()), dryRun: true, decisions });
      }
      default:
        return await write(command, ctx);
    }
  } catch (error) {
    if (error instanceof LeaseLostError)
      return answer(409, {
        error: `${command.command}: the pool's lease was lost before the write (another reconcile took it over; nothing was written); retry`,
      });
    return answer(500, {
      error: `${command.command} failed: ${describeError(error)}; retry, or check the adapters' access (nothing more was done)`,
    });
  }
}

async function status(ctx: OpsContext, pool: string | undefined): Promise<OpsResult> {
  const names = pool === undefined ? Object.keys(ctx.config.pools) : [pool];
  const { snapshot, decisions } = await observeAndPlan(ctx.config, ctx.ports, names, ctx.now);
  const report: StatusReport = { at: iso(ctx.now.getTime()), pools: {} };
  for (const name of names) {
    const poolSnapshot = snapshot.pools[name];
    if (poolSnapshot)
      report.pools[name] = poolStatus(ctx.config, name, poolSnapshot, decisions, ctx.now);
  }
  return answer(200, report);
}

/** The pool as a write command checks it; `start` also needs the planner's numbers. */
async function readView(command: WriteCommand, ctx: OpsContext): Promise<PoolView> {
  if (command.command === "start") {
    const { snapshot, decisions } = await observeAndPlan(
      ctx.config,
      ctx.ports,
      [command.pool],
      ctx.now,
    );
    const numbers = decisions.find((d) => d.pool === command.pool && d.numbers)?.numbers;
    return {
      hosts: snapshot.pools[command.pool]?.hosts ?? [],
      control: await ctx.ports.store.readPool(command.pool),
      ...(numbers ? { numbers } : {}),
    };
  }
  const [hosts, control] = await Promise.all([
    ctx.ports.compute.listHosts(command.pool),
    ctx.ports.store.readPool(command.pool),
  ]);
  return { hosts, control };
}

async function write(command: WriteCommand, ctx: OpsContext): Promise<OpsResult> {
  const { config, ports, now } = ctx;
  const pool = config.pools[command.pool];
  if (!pool) return answer(404, { error: `pool ${command.pool} is not in the config` });
  const base: Pick<WriteAnswer, "command" | "pool" | "host"> = {
    command: command.command,
    pool: command.pool,
    ...("host" in command ? { host: command.host } : {}),
  };

  if (ctx.dryRun) {
    const prepared = prepareWrite(command, pool, await readView(command, ctx), now);
    if (!prepared.ok) return prepared.result;
    const { what, message, changes } = prepared.write;
    const body: WriteAnswer = {
      ...base,
      dryRun: true,
      message: `dry run, nothing written: would ${what}: ${message}`,
      changes,
      audit: auditOf(command, what, now),
    };
    return answer(200, body);
  }

  const lease = await acquireLease(command.pool, ctx);
  if (!lease)
    return answer(409, {
      ...base,
      error: `another reconcile holds the lease of pool ${command.pool}; nothing was written; retry in a few seconds`,
    });
  let prepared: ReturnType<typeof prepareWrite>;
  try {
    // Checked under the lease: no reconcile changes the pool between the check and the write.
    prepared = prepareWrite(command, pool, await readView(command, ctx), now);
    if (prepared.ok) {
      const { update, tags, registry } = prepared.write;
      // Out of the midtier's list first: a refused Consul call leaves nothing half written.
      if (registry && ports.registry) await ports.registry.set(registry.host, registry.action);
      if (update) await ports.store.updatePool(lease, now, update);
      if (tags) await ports.compute.writeTags(tags.host, tags.set, tags.remove);
    }
  } finally {
    await releaseLease(lease, ports);
  }
  if (!prepared.ok) return prepared.result;

  const { what, changes, registry } = prepared.write;
  const message =
    registry && ports.registry
      ? `${prepared.write.message}; its Consul service is in maintenance`
      : prepared.write.message;
  const audit = auditOf(command, what, now);
  // The change is stored: a reconcile that cannot act now (a tick holds the lease, which then
  // plans once more) or fails applies it at the next tick. That is 202, not a failure.
  let reconcile: ReconcileSummary;
  let code: 200 | 202 = 200;
  try {
    const done = await reconcilePool(config, command.pool, ports, now, ctx.owner);
    reconcile = summarise(done, "host" in command ? command.host : undefined);
    if (!done.acted) code = 202;
  } catch (error) {
    code = 202;
    reconcile = {
      acted: false,
      error: `the change is stored, but the reconcile that applies it failed (${describeError(error)}); the next tick applies it`,
    };
  }
  const body: WriteAnswer = { ...base, dryRun: false, message, changes, audit, reconcile };
  return answer(code, body);
}

const auditOf = (command: WriteCommand, what: string, now: Date): Audit => ({
  who: command.by,
  what,
  why: command.why,
  at: iso(now.getTime()),
});

/**
 * Takes the pool's lease, waiting a little for a reconcile in flight (real time, bounded): a tick
 * holds it for about a second. `now` stays the command's instant, so only a release frees it.
 */
async function acquireLease(pool: string, ctx: OpsContext): Promise<Lease | null> {
  const retry = ctx.leaseRetry ?? DEFAULT_LEASE_RETRY;
  for (let attempt = 0; ; attempt++) {
    const lease = await ctx.ports.store.acquireLease(pool, ctx.owner, ctx.now, LEASE_TTL_MS);
    if (lease || attempt >= retry.attempts) return lease;
    await sleep(retry.waitMs);
  }
}

/**
 * Releases the lease. A reconcile requested meanwhile keeps it ("again"): that request is served
 * by the reconcile this command runs next, so release once more (bounded: each "again" consumes
 * one request).
 */
async function releaseLease(lease: Lease, ports: Ports): Promise<void> {
  for (let i = 0; i < 5; i++) if ((await ports.store.releaseLease(lease)) === "released") return;
}

/** The reconcile's decisions that did something, and every decision about the command's host. */
function summarise(done: PoolReconcile, host: string | undefined): ReconcileSummary {
  const summary = done.decisions.find((d) => d.host === undefined && d.numbers);
  return {
    acted: done.acted,
    ...(done.acted
      ? {}
      : { note: "another reconcile holds the lease; it plans once more with this change" }),
    ...(summary ? { summary: summary.reason, numbers: summary.numbers } : {}),
    decisions: done.outcomes
      .filter((o) => o.status !== "nothing" || (host !== undefined && o.decision.host === host))
      .map((o) => ({
        ...(o.decision.host === undefined ? {} : { host: o.decision.host }),
        kind: o.decision.kind,
        rule: o.decision.rule,
        reason: o.decision.reason,
        status: o.status,
        ...(o.why === undefined ? {} : { why: o.why }),
      })),
  };
}
