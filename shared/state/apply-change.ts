import type { StateChange } from "../plan/decision.ts";
import type { PoolControl } from "../plan/snapshot.ts";

/**
 * A planner's state change applied to a pool's control state (pure: returns a new object). Used by
 * act through `StateStore.updatePool`, and by the simulator and tests. `revoke-claim` is not a
 * control-state change (claims live beside it): act sends it to the store's `revokeClaim`.
 */
export function applyStateChange(control: PoolControl, change: StateChange): PoolControl {
  const next = structuredClone(control);
  switch (change.op) {
    case "mark":
      next.marks[change.name] = change.value;
      break;
    case "signal-down":
      if (change.since === null) Reflect.deleteProperty(next.marks.signalDownSince, change.source);
      else next.marks.signalDownSince[change.source] = change.since;
      break;
    case "alert-episode-end":
      Reflect.deleteProperty(next.alertsSent, change.key);
      break;
    case "counters":
      if (change.consecutiveFailures !== undefined)
        next.counters.consecutiveFailures = change.consecutiveFailures;
      if (change.startFailures !== undefined) next.counters.startFailures = change.startFailures;
      if (change.startBackoffUntil !== undefined)
        next.counters.startBackoffUntil = change.startBackoffUntil;
      break;
    case "protect":
      next.protection = { since: change.since, reason: change.reason, cause: change.cause };
      break;
    case "unprotect":
      next.protection = null;
      break;
    case "clear-stop-request":
      Reflect.deleteProperty(next.stopRequests, change.host);
      break;
    case "clear-bootstrap-results":
      Reflect.deleteProperty(next.bootstrapResults, change.host);
      break;
    case "clear-start-record":
      Reflect.deleteProperty(next.startRecords, change.host);
      break;
    case "drop-submitted":
      next.submitted = next.submitted.filter((s) => !change.runIds.includes(s.runId));
      break;
    case "learn":
      next.learned = { ...next.learned, [change.slot]: change.value };
      break;
    case "revoke-claim":
      break;
  }
  return next;
}
