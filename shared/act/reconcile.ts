import type { Config } from "../config/index.ts";
import { plan } from "../plan/plan.ts";
import type { Decision } from "../plan/decision.ts";
import type { Snapshot } from "../plan/snapshot.ts";
import { act, type BootstrapRequest, type Outcome } from "./act.ts";
import { observePool } from "./observe.ts";
import type { Ports } from "./ports.ts";

/** The lease lasts about two ticks: long enough to act, short enough that a crash costs little. */
export const LEASE_TTL_MS = 2 * 60_000;

export interface PoolReconcile {
  pool: string;
  /** false when another invocation holds the lease (a reconcile was requested from it) */
  acted: boolean;
  snapshot?: Snapshot;
  decisions: Decision[];
  outcomes: Outcome[];
}

/**
 * Observe, plan and act for one pool under its lease (DESIGN.md, "Concurrency"): take the lease or
 * leave a request for its holder; plan once more when a request arrived meanwhile; begin the
 * bootstraps once the lease is released. `hooks.beforeAct` lets the simulator model work that lands
 * between plan and act.
 */
export async function reconcilePool(
  config: Config,
  pool: string,
  ports: Ports,
  now: Date,
  owner: string,
  hooks: { beforeAct?: () => Promise<void> | void } = {},
): Promise<PoolReconcile> {
  let lease = await ports.store.acquireLease(pool, owner, now, LEASE_TTL_MS);
  if (!lease) {
    await ports.store.requestReconcile(pool);
    lease = await ports.store.acquireLease(pool, owner, now, LEASE_TTL_MS);
    if (!lease) return { pool, acted: false, decisions: [], outcomes: [] };
  }
  const result: PoolReconcile = { pool, acted: true, decisions: [], outcomes: [] };
  const bootstraps: BootstrapRequest[] = [];
  for (let round = 0; round < 3; round++) {
    const snapshot: Snapshot = {
      observedAt: now.toISOString(),
      pools: { [pool]: await observePool(pool, ports) },
    };
    const planned = plan(snapshot, config, now);
    await hooks.beforeAct?.();
    const done = await act(planned, ports, new Map([[pool, lease]]), now);
    result.snapshot = snapshot;
    result.decisions.push(...planned.decisions);
    result.outcomes.push(...done.outcomes);
    bootstraps.push(...done.bootstraps);
    if ((await ports.store.releaseLease(lease)) === "released") break;
  }
  // Bootstraps take up to checkTimeout per step: they run after the lease is released, each
  // under its host's claim, side by side (DESIGN.md, "Concurrency"). One failing never stops
  // the others; a host asked for twice across rounds is begun once.
  const begun = new Set<string>();
  const settled = await Promise.allSettled(
    bootstraps
      .filter((r) => {
        const key = `${r.host}/${String(r.reference)}`;
        return !begun.has(key) && Boolean(begun.add(key));
      })
      .map((r) => ports.bootstrap.begin(r.pool, r.host, { reference: r.reference }, now)),
  );
  const failed = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
  if (failed.length > 0)
    throw new AggregateError(
      failed,
      `${failed.length} bootstrap(s) of pool ${pool} failed to begin`,
    );
  return result;
}

/** What became of one pool in this invocation. A failure is kept, so no pool hides another. */
export interface PoolReport {
  pool: string;
  dryRun: boolean;
  /** false on a dry run, when the reconcile failed, or when another invocation held the lease */
  acted: boolean;
  snapshot?: Snapshot;
  decisions: Decision[];
  outcomes: Outcome[];
  /** the reconcile threw: observe, the lease or the state store failed */
  error?: unknown;
}

/** Reconciles one pool (observe, plan, act under its lease), or only plans it on a dry run. */
export async function reconcileOrPlan(
  pool: string,
  deps: { config: Config; ports: Ports; dryRun: boolean },
  now: Date,
  owner: string,
): Promise<PoolReport> {
  const { config, ports, dryRun } = deps;
  try {
    if (dryRun) {
      const snapshot: Snapshot = {
        observedAt: now.toISOString(),
        pools: { [pool]: await observePool(pool, ports) },
      };
      const planned = plan(snapshot, config, now);
      return { pool, dryRun, acted: false, snapshot, decisions: planned.decisions, outcomes: [] };
    }
    const result = await reconcilePool(config, pool, ports, now, owner);
    return { ...result, dryRun };
  } catch (error) {
    return { pool, dryRun, acted: false, decisions: [], outcomes: [], error };
  }
}

/** Whether anything of the pool's reconcile failed: the reconcile itself, or a decision's act. */
export const poolFailed = (report: PoolReport): boolean =>
  report.error !== undefined || report.outcomes.some((o) => o.status === "failed");
