import { z } from "zod";
import type { Config } from "../config/index.ts";
import type { PoolControl, Snapshot } from "../plan/snapshot.ts";
import { plan } from "../plan/plan.ts";
import { observePool } from "./observe.ts";
import type { Ports } from "./ports.ts";
import { reconcileOrPlan, type PoolReport } from "./reconcile.ts";

// A submitted run (DESIGN.md, "Three ways in"): the run-submitted handler and `vor-power submit`
// store it for the planner (it counts as demand until the midtier lists it, or until eventTtl),
// then reconcile its pool at once, so hosts start without waiting for the next tick.

/** One submitted run as senders write it (the SQS body, the EventBridge detail). Unknown keys are errors. */
export const submittedRunSchema = z.strictObject({
  runId: z.string().min(1).max(200),
  /** optional when the config has a single pool */
  pool: z.string().min(1).optional(),
  hosts: z.number().int().min(1).max(1000).default(1),
});

export interface SubmittedRun {
  pool: string;
  runId: string;
  hosts: number;
}

/** The run from a sender's payload with its pool resolved against the config, or why it is bad. */
export function parseSubmittedRun(
  payload: unknown,
  config: Config,
): { ok: true; run: SubmittedRun } | { ok: false; why: string } {
  const run = submittedRunSchema.safeParse(payload);
  if (!run.success) {
    const issues = run.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
    return { ok: false, why: `not a submitted run {runId, pool?, hosts?}: ${issues.join("; ")}` };
  }
  const pools = Object.keys(config.pools);
  const pool = run.data.pool ?? (pools.length === 1 ? pools[0] : undefined);
  if (pool === undefined)
    return {
      ok: false,
      why: `run ${run.data.runId} names no pool, and the config has ${pools.length} (${pools.join(", ")}): the sender must name one`,
    };
  if (!Object.hasOwn(config.pools, pool))
    return {
      ok: false,
      why: `run ${run.data.runId} names pool ${pool}, which the config does not have (${pools.join(", ")})`,
    };
  return { ok: true, run: { pool, runId: run.data.runId, hosts: run.data.hosts } };
}

/** The state-store record of a run submitted now: it counts until the pool's eventTtl. */
export function submittedRecord(
  config: Config,
  run: SubmittedRun,
  now: Date,
): PoolControl["submitted"][number] {
  const ttl = config.pools[run.pool]?.eventTtl ?? 0;
  return {
    runId: run.runId,
    hosts: run.hosts,
    at: now.toISOString(),
    expiresAt: new Date(now.getTime() + ttl).toISOString(),
  };
}

/**
 * Stores one run and reconciles its pool. On a dry run nothing is stored: the pool is observed
 * and planned with the run added, so the answer shows what submitting it would start.
 */
export async function submitRun(
  run: SubmittedRun,
  deps: { config: Config; ports: Ports; dryRun: boolean },
  now: Date,
  owner: string,
): Promise<PoolReport> {
  const { config, ports, dryRun } = deps;
  const record = submittedRecord(config, run, now);
  if (!dryRun) {
    await ports.store.addSubmitted(run.pool, record);
    return reconcileOrPlan(run.pool, deps, now, owner);
  }
  try {
    const observed = await observePool(run.pool, ports);
    const withRun = {
      ...observed,
      control: {
        ...observed.control,
        submitted: [...observed.control.submitted.filter((s) => s.runId !== run.runId), record],
      },
    };
    const snapshot: Snapshot = { observedAt: now.toISOString(), pools: { [run.pool]: withRun } };
    const planned = plan(snapshot, config, now);
    return {
      pool: run.pool,
      dryRun,
      acted: false,
      snapshot,
      decisions: planned.decisions,
      outcomes: [],
    };
  } catch (error) {
    return { pool: run.pool, dryRun, acted: false, decisions: [], outcomes: [], error };
  }
}
