import type { Context } from "aws-lambda";
import { z } from "zod";
import { addMetrics, loggerFor } from "../../shared/observability.ts";
import { poolFailed, reconcileOrPlan, type PoolReport } from "../../shared/act/reconcile.ts";
import { reportPool } from "./pool-reconcile.ts";
import { dependencies, describeError, ownerOf, wrapHandler } from "./runtime.ts";

// The scheduled tick (DESIGN.md, "Three ways in"): EventBridge Scheduler invokes it every minute
// and it reconciles every pool of the config. A failed pool fails the invocation, after the other
// pools had their turn: a failed scheduled run must fail, never log-and-succeed.

const log = loggerFor("tick");

/**
 * The schedule's input (set in infra, with Scheduler's context attributes). A tick carries nothing
 * but its moment, so every field is optional and unknown ones are kept: any JSON object is a tick.
 */
export const tickEventSchema = z.looseObject({
  scheduleArn: z.string().optional(),
  scheduledTime: z.string().optional(),
  executionId: z.string().optional(),
  attemptNumber: z.union([z.string(), z.number()]).optional(),
});

export type TickResult =
  | { status: "rejected"; why: string }
  | {
      status: "done";
      at: string;
      dryRun: boolean;
      pools: { pool: string; acted: boolean; decisions: number }[];
    };

/** Reconciles every pool; throws once all were tried if any failed (Scheduler counts a failure). */
export async function tick(event: unknown, context: Context): Promise<TickResult> {
  const trigger = tickEventSchema.safeParse(event);
  if (!trigger.success) {
    // Not a retry case: the same input comes every minute until the schedule is fixed.
    const why = `the tick's input is not a JSON object (${z.prettifyError(trigger.error)}); fix the schedule's input in infra: nothing was reconciled`;
    log.error(why);
    addMetrics({ Failures: 1 });
    return { status: "rejected", why };
  }
  const deps = await dependencies();
  const now = deps.clock();
  const owner = ownerOf(context);
  log.info("tick", {
    at: now.toISOString(),
    dryRun: deps.dryRun,
    ...(trigger.data.scheduledTime ? { scheduledTime: trigger.data.scheduledTime } : {}),
  });

  const reports: PoolReport[] = await Promise.all(
    Object.keys(deps.config.pools).map((pool) => reconcileOrPlan(pool, deps, now, owner)),
  );
  for (const report of reports) reportPool(log, report, now);

  const failed = reports.filter(poolFailed);
  if (failed.length > 0) {
    throw new Error(
      `tick at ${now.toISOString()} failed for ${failed.map(failureOf).join("; ")}; the other pools were reconciled, and the next tick plans again`,
    );
  }
  return {
    status: "done",
    at: now.toISOString(),
    dryRun: deps.dryRun,
    pools: reports.map((r) => ({ pool: r.pool, acted: r.acted, decisions: r.decisions.length })),
  };
}

function failureOf(report: PoolReport): string {
  if (report.error !== undefined) return `pool ${report.pool} (${describeError(report.error)})`;
  const failed = report.outcomes.filter((o) => o.status === "failed");
  return `pool ${report.pool} (${failed.map((o) => `${o.decision.rule}${o.decision.host ? ` on ${o.decision.host}` : ""}: ${o.why ?? "failed"}`).join(", ")})`;
}

export const handler = wrapHandler(tick, { log, correlationIdPath: "executionId" });
