import type { Context, SQSBatchItemFailure, SQSBatchResponse } from "aws-lambda";
import { z } from "zod";
import { reconcileOrPlan } from "../../shared/act/reconcile.ts";
import { parseSubmittedRun, submittedRecord } from "../../shared/act/submit-run.ts";
import type { Config } from "../../shared/config/index.ts";
import { addMetrics, loggerFor } from "../../shared/observability.ts";
import { reportPool } from "./pool-reconcile.ts";
import { dependencies, describeError, isRetryable, ownerOf, wrapHandler } from "./runtime.ts";

// The run-submitted event (DESIGN.md, "Three ways in"): an SQS batch (or one EventBridge event)
// telling vor-power that runs were submitted, before the midtier lists them. Each run is stored
// first (DESIGN.md, "Concurrency": the store write is what the planner reads), then each pool that
// got a run is reconciled once, so hosts start without waiting for the next tick.

const log = loggerFor("run-submitted");

const sqsEventSchema = z.object({ Records: z.array(z.unknown()).min(1) });
const sqsRecordSchema = z.object({ messageId: z.string().min(1), body: z.string() });
const eventBridgeSchema = z.object({ id: z.string().optional(), detail: z.looseObject({}) });

/** A record taken from the trigger: its id (the SQS messageId) and its payload, or why it is bad. */
type Entry =
  | { id: string; ok: true; pool: string; runId: string; hosts: number }
  | { id: string; ok: false; why: string };

/**
 * Stores each good run, then reconciles each pool that got one; returns the SQS messageIds worth
 * a retry. An EventBridge event has no batch response: a failure worth a retry is thrown instead.
 */
export async function runSubmitted(event: unknown, context: Context): Promise<SQSBatchResponse> {
  const sqs = sqsEventSchema.safeParse(event);
  const bridge = sqs.success ? undefined : eventBridgeSchema.safeParse(event);
  if (!sqs.success && !bridge?.success) {
    log.error(
      "run-submitted rejected: the event is neither an SQS batch (Records) nor an EventBridge event (detail); nothing was stored",
    );
    addMetrics({ Failures: 1 });
    return { batchItemFailures: [] };
  }
  const deps = await dependencies();
  const now = deps.clock();
  const entries: Entry[] = sqs.success
    ? sqs.data.Records.map((record, index) => fromSqsRecord(record, index, deps.config))
    : [fromPayload(bridge?.data?.id ?? "event", bridge?.data?.detail, deps.config)];

  const retry = new Set<string>();
  // A malformed record is logged with its reason and acknowledged, never returned as a batch
  // failure: it would come back unchanged after every visibility timeout until maxReceiveCount
  // sent it to the dead-letter queue, holding up nothing but costing a retry each time (GR's
  // control-plane drops such bodies for the same reason). Its run is not lost either: the
  // midtier lists it once queued, and the next tick sees it there.
  for (const entry of entries) {
    if (!entry.ok) log.error(`run-submitted record ${entry.id} dropped: ${entry.why}`);
  }
  const stored = new Map<string, string[]>();
  for (const entry of entries) {
    if (!entry.ok) continue;
    try {
      await deps.ports.store.addSubmitted(entry.pool, submittedRecord(deps.config, entry, now));
      stored.set(entry.pool, [...(stored.get(entry.pool) ?? []), entry.id]);
      log.info(`run ${entry.runId} stored for pool ${entry.pool}`, {
        pool: entry.pool,
        runId: entry.runId,
        hosts: entry.hosts,
        messageId: entry.id,
      });
    } catch (error) {
      noteFailure(
        entry.id,
        `storing run ${entry.runId} of pool ${entry.pool} failed`,
        error,
        retry,
      );
    }
  }

  // Each pool once, however many runs it got. A failed reconcile retries the records of its pool:
  // `addSubmitted` is idempotent by run id, so the retry stores nothing twice.
  const owner = ownerOf(context);
  for (const [pool, ids] of stored) {
    const report = await reconcileOrPlan(pool, deps, now, owner);
    reportPool(log, report, now);
    if (report.error !== undefined) {
      for (const id of ids) noteFailure(id, `reconciling pool ${pool} failed`, report.error, retry);
    }
  }

  // Failures: records dropped or returned (a reconciled pool has counted its own already).
  const dropped = entries.filter((e) => !e.ok).length;
  if (retry.size + dropped > 0) addMetrics({ Failures: retry.size + dropped });
  if (!sqs.success && retry.size > 0) {
    throw new Error(
      `run-submitted event ${[...retry].join(", ")} failed; EventBridge retries it (the run is stored when the store write succeeded)`,
    );
  }
  return {
    batchItemFailures: [...retry].map((id): SQSBatchItemFailure => ({ itemIdentifier: id })),
  };
}

/** Logs a failure; the record is retried when a retry can help, acknowledged otherwise. */
function noteFailure(id: string, what: string, error: unknown, retry: Set<string>): void {
  const retryable = isRetryable(error);
  log.error(
    `run-submitted record ${id}: ${what}: ${describeError(error)}; ${retryable ? "returned for a retry" : "acknowledged: a retry fails the same way, the tick reconciles the pool"}`,
    { messageId: id, error },
  );
  if (retryable) retry.add(id);
}

function fromSqsRecord(record: unknown, index: number, config: Config): Entry {
  const parsed = sqsRecordSchema.safeParse(record);
  if (!parsed.success)
    return { id: `Records[${index}]`, ok: false, why: "not an SQS record (messageId, body)" };
  const { messageId, body } = parsed.data;
  let payload: unknown;
  try {
    payload = JSON.parse(body) as unknown;
  } catch (error) {
    return { id: messageId, ok: false, why: `the body is not JSON (${describeError(error)})` };
  }
  return fromPayload(messageId, payload, config);
}

function fromPayload(id: string, payload: unknown, config: Config): Entry {
  const parsed = parseSubmittedRun(payload, config);
  return parsed.ok ? { id, ok: true, ...parsed.run } : { id, ok: false, why: parsed.why };
}

export const handler = wrapHandler(runSubmitted, { log, correlationIdPath: "id" });
