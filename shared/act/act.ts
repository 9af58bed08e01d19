import type { CallOutcome } from "../cloud/compute-provider.ts";
import type { Decision, Effect, Plan } from "../plan/decision.ts";
import { applyStateChange } from "../state/apply-change.ts";
import type { Lease } from "../state/state-store.ts";
import type { Ports } from "./ports.ts";

/** What became of one decision. */
export interface Outcome {
  decision: Decision;
  status: "done" | "skipped" | "failed" | "nothing";
  /** for skipped and failed: why, without secrets */
  why?: string;
}

/** A bootstrap act asked for: begun after the lease section (it runs outside the lease). */
export interface BootstrapRequest {
  pool: string;
  host: string;
  reference: boolean;
}

export interface ActResult {
  outcomes: Outcome[];
  bootstraps: BootstrapRequest[];
}

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** A decision part-way through act: its effects before its cloud call are done. */
interface Pending {
  decision: Decision;
  lease: Lease;
  call: Extract<Effect, { type: "start" | "stop" }>;
  rest: Effect[];
}

/**
 * Carries a plan's decisions out through the ports, in order, each decision's effects in order
 * (DESIGN.md, "Decisions"). It decides nothing, except to skip a stop whose last-moment busy
 * re-read shows work or fails (a lagging busy signal must never kill a run). A failed effect ends
 * its decision; the next decision still runs, so a partial failure never hides the rest.
 *
 * Start and stop calls are gathered: every decision first writes what precedes its call (the
 * lifecycle tag before the call it announces), then one start call and one stop call carry all
 * hosts (the adapter splits them into bounded batches), then each decision finishes.
 */
export async function act(
  plan: Plan,
  ports: Ports,
  leases: ReadonlyMap<string, Lease>,
  now: Date,
): Promise<ActResult> {
  const outcomes = new Map<Decision, Outcome>();
  const bootstraps: BootstrapRequest[] = [];
  const pending: Pending[] = [];
  for (const decision of plan.decisions) {
    if (decision.effects.length === 0) {
      outcomes.set(decision, { decision, status: "nothing" });
      continue;
    }
    const lease = leases.get(decision.pool);
    if (!lease || lease.expiresAt.getTime() <= now.getTime()) {
      outcomes.set(decision, {
        decision,
        status: "skipped",
        why: "the pool's lease is not held: another reconcile acts",
      });
      continue;
    }
    const skip = await busyRecheck(decision, ports);
    if (skip) {
      outcomes.set(decision, { decision, status: "skipped", why: skip });
      continue;
    }
    const callAt = decision.effects.findIndex((e) => e.type === "start" || e.type === "stop");
    const before = callAt === -1 ? decision.effects : decision.effects.slice(0, callAt);
    try {
      for (const effect of before)
        await carryOut(effect, decision.pool, ports, lease, now, bootstraps);
    } catch (error) {
      outcomes.set(decision, { decision, status: "failed", why: describeError(error) });
      continue;
    }
    const call = decision.effects[callAt];
    if (call?.type === "start" || call?.type === "stop")
      pending.push({ decision, lease, call, rest: decision.effects.slice(callAt + 1) });
    else outcomes.set(decision, { decision, status: "done" });
  }

  const results = await callCloud(pending, ports);
  for (const item of pending) {
    const { decision, call } = item;
    try {
      const outcome = results.get(call.host) ?? {
        ok: false,
        code: "no-answer",
        why: "the call gave no outcome for this host",
      };
      if (call.type === "start") await recordStart(item, outcome, ports, now);
      else if (!outcome.ok)
        throw new Error(`stop of ${call.host} refused: ${outcome.code} (${outcome.why})`);
      for (const effect of item.rest)
        await carryOut(effect, decision.pool, ports, item.lease, now, bootstraps);
      outcomes.set(decision, { decision, status: "done" });
    } catch (error) {
      outcomes.set(decision, { decision, status: "failed", why: describeError(error) });
    }
  }
  return {
    outcomes: plan.decisions.map((d) => outcomes.get(d) ?? { decision: d, status: "nothing" }),
    bootstraps,
  };
}

/** One start call for every host to start, one stop call per hibernate choice. */
async function callCloud(
  pending: readonly Pending[],
  ports: Ports,
): Promise<Map<string, CallOutcome>> {
  const results = new Map<string, CallOutcome>();
  const hosts = (type: "start" | "stop", hibernate?: boolean) =>
    pending
      .filter(
        (p) =>
          p.call.type === type &&
          (hibernate === undefined || (p.call.type === "stop" && p.call.hibernate === hibernate)),
      )
      .map((p) => p.call.host);
  const calls: [string[], () => Promise<Map<string, CallOutcome>>][] = [
    [hosts("start"), () => ports.compute.start(hosts("start"))],
    [hosts("stop", false), () => ports.compute.stop(hosts("stop", false), { hibernate: false })],
    [hosts("stop", true), () => ports.compute.stop(hosts("stop", true), { hibernate: true })],
  ];
  for (const [ids, call] of calls) {
    if (ids.length === 0) continue;
    try {
      for (const [id, outcome] of await call()) results.set(id, outcome);
    } catch (error) {
      // A refusal of the whole call (access denied) fails each of its decisions, with the reason.
      for (const id of ids)
        results.set(id, { ok: false, code: "error", why: describeError(error) });
    }
  }
  return results;
}

// The start and its immediate result are recorded: observe trusts them over Describe.
async function recordStart(
  item: Pending,
  outcome: CallOutcome,
  ports: Ports,
  now: Date,
): Promise<void> {
  const at = now.toISOString();
  const host = item.call.host;
  await ports.store.updatePool(item.lease, now, (control) => ({
    ...control,
    startRecords: {
      ...control.startRecords,
      [host]: outcome.ok ? { at, result: "ok" } : { at, result: "failed", code: outcome.code },
    },
  }));
}

// The last-moment busy re-read, before the `stopping` tag is written (a failed re-read is busy).
async function busyRecheck(decision: Decision, ports: Ports): Promise<string | undefined> {
  const stop = decision.effects.find((e) => e.type === "stop");
  if (stop?.type !== "stop" || !stop.recheckBusy) return undefined;
  const busy = await ports.signals.isBusy(decision.pool, stop.host).catch(() => "unknown" as const);
  if (busy === false) return undefined;
  return busy === true
    ? `${stop.host} got work since the plan: not stopped`
    : `${stop.host}'s busy state could not be re-read: not stopped`;
}

async function carryOut(
  effect: Effect,
  pool: string,
  ports: Ports,
  lease: Lease,
  now: Date,
  bootstraps: BootstrapRequest[],
): Promise<void> {
  const at = now.toISOString();
  switch (effect.type) {
    case "tags":
      await ports.compute.writeTags(effect.host, effect.set, effect.remove);
      return;
    case "start":
    case "stop":
      throw new Error("a start or stop call reached carryOut: act gathers them (a bug)");
    case "bootstrap":
      bootstraps.push({ pool, host: effect.host, reference: effect.reference });
      return;
    case "registry":
      await ports.registry?.set(effect.host, effect.action);
      return;
    case "alert":
      await ports.alerter.send(effect.key, effect.message);
      await ports.store.updatePool(lease, now, (control) => ({
        ...control,
        alertsSent: { ...control.alertsSent, [effect.key]: at },
      }));
      return;
    case "state":
      if (effect.change.op === "revoke-claim")
        await ports.store.revokeClaim(pool, effect.change.host);
      else {
        const change = effect.change;
        await ports.store.updatePool(lease, now, (control) => applyStateChange(control, change));
      }
      return;
  }
}
