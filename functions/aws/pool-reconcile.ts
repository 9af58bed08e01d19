import type { Logger } from "@aws-lambda-powertools/logger";
import type { PoolReport } from "../../shared/act/reconcile.ts";
import type { Decision } from "../../shared/plan/decision.ts";
import type { PoolControl } from "../../shared/plan/snapshot.ts";
import { addMetrics, type MetricName } from "../../shared/observability.ts";
import { describeError } from "./runtime.ts";

// How the handlers (tick, run-submitted, host-state-change) report one pool's reconcile
// (`reconcileOrPlan`, shared/act/reconcile.ts): one log line per decision with its rule and reason,
// and the pool's metrics.

/** Logs the pool's decisions with their rules, reasons and outcomes, and adds its metrics. */
export function reportPool(log: Logger, report: PoolReport, now: Date): void {
  const { pool } = report;
  if (report.error !== undefined) {
    log.error(`${pool}: reconcile failed: ${describeError(report.error)}`, {
      pool,
      error: report.error,
    });
  } else if (!report.dryRun && !report.acted) {
    log.info(`${pool}: another invocation holds the pool's lease; it was asked to plan once more`, {
      pool,
    });
  }
  const outcomes = new Map(report.outcomes.map((o) => [o.decision, o]));
  for (const decision of report.decisions) {
    const outcome = outcomes.get(decision);
    const line = {
      pool,
      ...(decision.host === undefined ? {} : { host: decision.host }),
      kind: decision.kind,
      rule: decision.rule,
      ...(decision.numbers ? { numbers: decision.numbers } : {}),
      outcome: report.dryRun ? "dry-run" : (outcome?.status ?? "nothing"),
      ...(outcome?.why === undefined ? {} : { why: outcome.why }),
    };
    if (outcome?.status === "failed") log.error(decision.reason, line);
    else log.info(decision.reason, line);
  }
  addMetrics(poolMetrics(report, now));
}

/**
 * The pool's metrics from its decisions and outcomes. HostsDesired and HostsCapacity come from the
 * last plan's pool numbers; Starts and Stops count the start and stop calls act made (a start the
 * cloud refused still counts: its start record carries the refusal); Failures counts failed
 * decisions and a failed reconcile; Holds counts the pool's ops holds in force; BlindMinutes is
 * how long the pool has been blind (0 when it is not), so an alarm can fire on a long blindness.
 */
export function poolMetrics(report: PoolReport, now: Date): Partial<Record<MetricName, number>> {
  const failures = report.outcomes.filter((o) => o.status === "failed").length;
  if (report.error !== undefined) return { Failures: failures + 1 };
  const calls = (type: "start" | "stop") =>
    report.outcomes.filter(
      (o) => o.status === "done" && o.decision.effects.some((e) => e.type === type),
    ).length;
  const numbers = report.decisions.findLast(
    (d) => d.host === undefined && d.numbers !== undefined,
  )?.numbers;
  const control = report.snapshot?.pools[report.pool]?.control;
  return {
    ...(numbers ? { HostsDesired: numbers.desired, HostsCapacity: numbers.capacity } : {}),
    Starts: calls("start"),
    Stops: calls("stop"),
    Failures: failures,
    ...(control
      ? {
          Holds: control.holds.filter((h) => Date.parse(h.until) > now.getTime()).length,
          BlindMinutes: blindMinutes(control, report.decisions, now),
        }
      : {}),
  };
}

/** Minutes since the pool became blind, as the plan leaves its blindSince mark; 0 when not blind. */
function blindMinutes(control: PoolControl, decisions: readonly Decision[], now: Date): number {
  let since = control.marks.blindSince;
  for (const decision of decisions) {
    for (const effect of decision.effects) {
      if (
        effect.type === "state" &&
        effect.change.op === "mark" &&
        effect.change.name === "blindSince"
      )
        since = effect.change.value;
    }
  }
  return since === null ? 0 : Math.max(0, Math.floor((now.getTime() - Date.parse(since)) / 60_000));
}
