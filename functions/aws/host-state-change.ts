import type { Context } from "aws-lambda";
import { z } from "zod";
import { addMetrics, loggerFor } from "../../shared/observability.ts";
import { reconcileOrPlan } from "../../shared/act/reconcile.ts";
import { reportPool } from "./pool-reconcile.ts";
import { dependencies, describeError, isRetryable, ownerOf, wrapHandler } from "./runtime.ts";

// EC2's state-change notification, through an EventBridge rule: a host that reached `running`
// gets a reconcile of its pool at once, so its bootstrap begins (the planner's start.running
// decision) without waiting for the next tick. Every other state waits for the tick.

const log = loggerFor("host-state-change");

export const hostStateChangeSchema = z.object({
  id: z.string().optional(),
  "detail-type": z.literal("EC2 Instance State-change Notification"),
  detail: z.object({
    "instance-id": z.string().min(1),
    /** pending, running, stopping, stopped, shutting-down, terminated */
    state: z.string().min(1),
  }),
});

export type HostStateChangeResult =
  | { status: "rejected"; why: string }
  | { status: "ignored"; host: string; why: string }
  | { status: "reconciled"; host: string; pool: string; acted: boolean };

/**
 * Reconciles the pool of a host that reached running. The event carries no tags, so the pool is
 * found by listing each configured pool's hosts. A failure worth a retry is thrown (EventBridge
 * retries the invocation); anything else is logged and acknowledged.
 */
export async function hostStateChange(
  event: unknown,
  context: Context,
): Promise<HostStateChangeResult> {
  const trigger = hostStateChangeSchema.safeParse(event);
  if (!trigger.success) {
    const why = `not an EC2 Instance State-change Notification (${z.prettifyError(trigger.error)}); check the EventBridge rule's pattern: nothing was done`;
    log.error(why);
    addMetrics({ Failures: 1 });
    return { status: "rejected", why };
  }
  const { "instance-id": host, state } = trigger.data.detail;
  if (state !== "running") {
    const why = `${host} is ${state}: the next tick handles it`;
    log.info(why, { host, state });
    addMetrics({ Failures: 0 });
    return { status: "ignored", host, why };
  }
  const deps = await dependencies();
  const now = deps.clock();
  let pool: string | undefined;
  try {
    const pools = Object.keys(deps.config.pools);
    const listed = await Promise.all(pools.map((name) => deps.ports.compute.listHosts(name)));
    pool = pools.find((_, i) => listed[i]?.some((h) => h.id === host));
  } catch (error) {
    addMetrics({ Failures: 1 });
    return failure(host, `listing the pools' hosts to find ${host}'s pool failed`, error);
  }
  if (pool === undefined) {
    const why = `${host} is in no configured pool (no vor:pool tag naming one): not vor-power's`;
    log.info(why, { host });
    addMetrics({ Failures: 0 });
    return { status: "ignored", host, why };
  }
  log.info(`${host} reached running: reconciling pool ${pool}`, { host, pool });
  const report = await reconcileOrPlan(pool, deps, now, ownerOf(context));
  reportPool(log, report, now);
  if (report.error !== undefined)
    return failure(host, `reconciling pool ${pool} failed`, report.error);
  return { status: "reconciled", host, pool, acted: report.acted };
}

/** Throws when a retry can help (EventBridge retries); logs and acknowledges otherwise. */
function failure(host: string, what: string, error: unknown): HostStateChangeResult {
  const why = `${what}: ${describeError(error)}`;
  if (isRetryable(error))
    throw new Error(`${why}; EventBridge retries, and the tick catches up`, { cause: error });
  log.error(`${why}; not retried (it fails the same way), the tick catches up`, { host, error });
  return { status: "ignored", host, why };
}

export const handler = wrapHandler(hostStateChange, { log, correlationIdPath: "id" });
