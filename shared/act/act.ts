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

/**
 * Carries a plan's decisions out through the ports, in order, each decision's effects in order
 * (DESIGN.md, "Decisions"). It decides nothing, except to skip a stop whose last-moment busy
 * re-read shows work or fails (a lagging busy signal must never kill a run). A failed effect ends
 * its decision; the next decision still runs, so a partial failure never hides the rest.
 */
export async function act(
  plan: Plan,
  ports: Ports,
  leases: ReadonlyMap<string, Lease>,
  now: Date,
): Promise<ActResult> {
  const outcomes: Outcome[] = [];
  const bootstraps: BootstrapRequest[] = [];
  for (const decision of plan.decisions) {
    if (decision.effects.length === 0) {
      outcomes.push({ decision, status: "nothing" });
      continue;
    }
    const lease = leases.get(decision.pool);
    if (!lease || lease.expiresAt.getTime() <= now.getTime()) {
      outcomes.push({
        decision,
        status: "skipped",
        why: "the pool's lease is not held: another reconcile acts",
      });
      continue;
    }
    const skip = await busyRecheck(decision, ports);
    if (skip) {
      outcomes.push({ decision, status: "skipped", why: skip });
      continue;
    }
    try {
      for (const effect of decision.effects)
        await carryOut(effect, decision.pool, ports, lease, now, bootstraps);
      outcomes.push({ decision, status: "done" });
    } catch (error) {
      outcomes.push({ decision, status: "failed", why: describeError(error) });
    }
  }
  return { outcomes, bootstraps };
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
    case "start": {
      const outcome = (await ports.compute.start([effect.host])).get(effect.host) ?? {
        ok: false,
        code: "no-answer",
        why: "no outcome",
      };
      // The start and its immediate result are recorded: observe trusts them over Describe.
      await ports.store.updatePool(lease, now, (control) => ({
        ...control,
        startRecords: {
          ...control.startRecords,
          [effect.host]: outcome.ok
            ? { at, result: "ok" }
            : { at, result: "failed", code: outcome.code },
        },
      }));
      return;
    }
    case "stop": {
      const outcome = (
        await ports.compute.stop([effect.host], { hibernate: effect.hibernate })
      ).get(effect.host);
      if (outcome && !outcome.ok)
        throw new Error(`stop of ${effect.host} refused: ${outcome.code} (${outcome.why})`);
      return;
    }
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
