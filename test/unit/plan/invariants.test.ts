import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Config, Pool } from "../../../shared/config/index.ts";
import {
  LIFECYCLES,
  STOP_CAUSES,
  TAG,
  TICK_MS,
  decisionSchema,
  plan,
  planSchema,
  type Decision,
  type Effect,
  type Lifecycle,
  type Plan,
  type PoolSnapshot,
  type Snapshot,
} from "../../../shared/plan/index.ts";
import { applyPlan, settleCloud } from "../../support/apply-plan.ts";
import {
  blockedPoolArbitrary,
  blockedReportsArbitrary,
  bootstrappingPoolArbitrary,
  bootstrapReportsArbitrary,
  buildScenario,
  quietPoolArbitrary,
  scenarioArbitrary,
  type BlockedReports,
  type BootstrapReports,
} from "../../support/arbitraries.ts";

// The planner invariants of DESIGN.md ("Invariants", "In the planner"), one fast-check property
// each, over random snapshots and configs. Busy facts are derived here from DESIGN.md's tables,
// not from view.ts, so a wrong view is caught too.

const RUNS = { numRuns: process.env.CI === "true" ? 1000 : 200 };
const SIM_TIMEOUT_MS = 600_000;
const POOL = "compute";

// ---- reading a plan ----

function poolOf(snapshot: Snapshot): PoolSnapshot {
  const pool = snapshot.pools[POOL];
  if (!pool) throw new Error("the scenario has no pool compute");
  return pool;
}

function settingsOf(config: Config): Pool {
  const pool = config.pools[POOL];
  if (!pool) throw new Error("the config has no pool compute");
  return pool;
}

function numbersOf(result: Plan): NonNullable<Decision["numbers"]> {
  const numbers = result.decisions.find(
    (d) => d.pool === POOL && d.host === undefined && d.numbers,
  )?.numbers;
  if (!numbers) throw new Error("the plan has no pool decision with numbers");
  return numbers;
}

const effectsOf = (result: Plan): Effect[] => result.decisions.flatMap((d) => d.effects);
const startsOf = (result: Plan): string[] =>
  effectsOf(result).flatMap((e) => (e.type === "start" ? [e.host] : []));
const stopsIn = (decision: Decision): Effect[] => decision.effects.filter((e) => e.type === "stop");

/** A decision writes `vor:lifecycle` = `lifecycle` on its host. */
const writesLifecycle = (decision: Decision, lifecycle: Lifecycle): boolean =>
  decision.effects.some((e) => e.type === "tags" && e.set[TAG.lifecycle] === lifecycle);

/** Every host an effect touches (tags, cloud calls, registry, bootstrap, state writes per host). */
function hostsTouched(effect: Effect): string[] {
  if (effect.type === "state") return "host" in effect.change ? [effect.change.host] : [];
  if (effect.type === "alert") return [];
  return [effect.host];
}

// ---- DESIGN.md's facts, derived independently ----

const LIVE = new Set(["pending", "running"]);
const oneOf = <T extends string>(values: readonly T[], value: string | undefined): T | undefined =>
  values.find((v) => v === value);
const time = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
};

interface HostFacts {
  id: string;
  excluded: boolean;
  /** the tag as written (unreadable values read as absent) */
  tagLifecycle: Lifecycle | undefined;
  canHoldWork: boolean;
  busy: boolean;
  busyUnknown: boolean;
}

interface PoolFacts {
  hosts: Map<string, HostFacts>;
  /** hosts a source proves busy, not leaving on an ops stop request */
  knownBusy: number;
  pendingNeed: number;
  blind: boolean;
}

/**
 * "Where each fact comes from": busy from an ok busy source of the pool; busy-unknown for hosts
 * that can hold work, proved busy by no ok source, while a busy source is failed or missing (or
 * older than signalMaxAge) or an unknown run-queue consumer is seen; the pending need.
 */
function factsOf(pool: Pool, snapshot: PoolSnapshot, now: number): PoolFacts {
  const { midtier, rabbitmq } = snapshot.signals;
  const fresh = (age: number) => age <= pool.signalMaxAge;
  const midtierOk = midtier?.status === "ok" && fresh(midtier.ageMs) ? midtier : undefined;
  const rabbitOk = rabbitmq?.status === "ok" && fresh(rabbitmq.ageMs) ? rabbitmq : undefined;
  const sourceOk = { midtier: midtierOk !== undefined, rabbitmq: rabbitOk !== undefined };
  const proved = new Set<string>();
  if (midtierOk && pool.busy.includes("midtier"))
    for (const run of midtierOk.data.runs)
      if (run.state !== "pending") for (const id of run.hostIds) proved.add(id);
  const rabbitBusy = rabbitOk && pool.busy.includes("rabbitmq") ? rabbitOk : undefined;
  if (rabbitBusy) for (const { host } of rabbitBusy.data.busy) proved.add(host);
  const blinding =
    pool.busy.some((source) => !sourceOk[source]) ||
    (rabbitBusy !== undefined && rabbitBusy.data.unknownConsumers.length > 0);

  const hosts = new Map<string, HostFacts>();
  for (const host of snapshot.hosts) {
    const tagLifecycle = oneOf(LIFECYCLES, host.tags[TAG.lifecycle]);
    const excluded = host.tags[TAG.exclude] === "true";
    const live = LIVE.has(host.cloudState);
    const read =
      (tagLifecycle === undefined || tagLifecycle === "off") && live ? "adopted" : tagLifecycle;
    const cause = oneOf(STOP_CAUSES, host.tags[TAG.stopCause]);
    const canHoldWork =
      !excluded &&
      live &&
      (read === "ready" ||
        read === "draining" ||
        read === "adopted" ||
        (read === "stopping" && (cause === "scale-in" || cause === "ops")));
    const busy = canHoldWork && proved.has(host.id);
    hosts.set(host.id, {
      id: host.id,
      excluded,
      tagLifecycle,
      canHoldWork,
      busy,
      busyUnknown: canHoldWork && !busy && blinding,
    });
  }
  const knownBusy = [...hosts.values()].filter(
    (h) => h.busy && !(h.id in snapshot.control.stopRequests),
  ).length;

  const pending = new Map<string, number>();
  const seen = new Set<string>();
  if (midtierOk)
    for (const run of midtierOk.data.runs) {
      seen.add(run.id);
      if (run.state === "pending") pending.set(run.id, run.hosts);
    }
  for (const s of snapshot.control.submitted)
    if (!seen.has(s.runId) && Date.parse(s.expiresAt) > now && !pending.has(s.runId))
      pending.set(s.runId, s.hosts);
  const needs = [...pending.values()];
  let single = needs.filter((n) => n <= 1).length;
  const multi = needs.filter((n) => n > 1).reduce((sum, n) => sum + n, 0);
  // Without the midtier, pending runs are max(known pending runs, ready messages): the messages
  // beyond the known runs are runs of one host each.
  if (!midtierOk && rabbitOk) single += Math.max(0, rabbitOk.data.readyMessages - pending.size);
  return {
    hosts,
    knownBusy,
    pendingNeed: multi + Math.ceil(single / pool.runsPerHost),
    blind: [...hosts.values()].some((h) => h.busyUnknown),
  };
}

// ---- simulation ----

interface TickResult {
  at: number;
  plan: Plan;
  /** the state once the plan is carried out, before the cloud moves */
  applied: Snapshot;
  /** the state at the next tick (the cloud has moved) */
  next: Snapshot;
}

/** One tick: plan at `at`, carry it out, let the bootstrapper report, let the cloud move. */
function tick(
  snapshot: Snapshot,
  config: Config,
  at: number,
  report: (pool: PoolSnapshot, host: string, atIso: string) => void = () => undefined,
): TickResult {
  const observed = { ...snapshot, observedAt: new Date(at).toISOString() };
  const result = plan(observed, config, new Date(at));
  const applied = applyPlan(observed, result);
  const pool = poolOf(applied);
  for (const effect of effectsOf(result))
    if (effect.type === "bootstrap" && !effect.reference) report(pool, effect.host, result.at);
  return { at, plan: result, applied, next: settleCloud(applied) };
}

const tagOf = (snapshot: Snapshot, id: string, key: string): string | undefined =>
  poolOf(snapshot).hosts.find((h) => h.id === id)?.tags[key];

// ---- the properties ----

describe("plan invariants", () => {
  it("never stops a busy or busy-unknown host except by an audited forced stop, and never drains one except on an ops stop request", () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const { config, snapshot, now } = buildScenario(scenario);
        const pool = poolOf(snapshot);
        const facts = factsOf(settingsOf(config), pool, now.getTime());

        const result = plan(snapshot, config, now);

        for (const decision of result.decisions) {
          for (const stop of stopsIn(decision)) {
            if (stop.type !== "stop") continue;
            const host = facts.hosts.get(stop.host);
            if (!host || !(host.busy || host.busyUnknown)) continue;
            const forced = pool.control.stopRequests[stop.host]?.force === true;
            const audited = decision.effects.some((e) => e.type === "alert");
            const cause = decision.effects.some(
              (e) => e.type === "tags" && e.set[TAG.stopCause] === "ops-force",
            );
            expect({ decision, forced, audited, cause }).toMatchObject({
              forced: true,
              audited: true,
              cause: true,
            });
          }
          if (decision.host !== undefined && writesLifecycle(decision, "draining")) {
            const host = facts.hosts.get(decision.host);
            if (host && (host.busy || host.busyUnknown))
              expect(pool.control.stopRequests, JSON.stringify(decision)).toHaveProperty([
                decision.host,
              ]);
          }
        }
      }),
      RUNS,
    );
  });

  it("drains at most capacity minus desired hosts per plan for scale-in (ops stop requests aside)", () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const { config, snapshot, now } = buildScenario(scenario);
        const requests = poolOf(snapshot).control.stopRequests;

        const result = plan(snapshot, config, now);

        const { capacity, desired } = numbersOf(result);
        const drained = result.decisions.filter(
          (d) => d.host !== undefined && !(d.host in requests) && writesLifecycle(d, "draining"),
        );
        expect(drained.length).toBeLessThanOrEqual(Math.max(0, capacity - desired));
      }),
      RUNS,
    );
  });

  it("keeps desired within [min, max], starts at most maxStartsPerTick, never starts excluded or failed hosts, never touches excluded hosts, and starts nothing in a protected pool", () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const { config, snapshot, now } = buildScenario(scenario);
        const settings = settingsOf(config);
        const pool = poolOf(snapshot);
        const facts = factsOf(settings, pool, now.getTime());

        const result = plan(snapshot, config, now);

        const { desired } = numbersOf(result);
        expect(desired).toBeGreaterThanOrEqual(settings.min);
        expect(desired).toBeLessThanOrEqual(settings.max);
        const starts = startsOf(result);
        expect(starts.length).toBeLessThanOrEqual(settings.maxStartsPerTick);
        for (const id of starts) {
          const host = facts.hosts.get(id);
          expect(host?.excluded, `${id} started although excluded`).toBe(false);
          expect(host?.tagLifecycle, `${id} started although failed`).not.toBe("failed");
        }
        const excluded = [...facts.hosts.values()].filter((h) => h.excluded).map((h) => h.id);
        for (const decision of result.decisions) {
          if (decision.host !== undefined && excluded.includes(decision.host))
            expect(decision.effects, `${decision.host} is excluded`).toEqual([]);
          for (const effect of decision.effects)
            for (const id of hostsTouched(effect))
              expect(excluded, `${JSON.stringify(effect)} touches an excluded host`).not.toContain(
                id,
              );
        }
        // Protection as this plan leaves it: the snapshot's, then each protect / unprotect in order.
        let protectedNow = pool.control.protection !== null;
        for (const effect of effectsOf(result)) {
          if (effect.type === "state" && effect.change.op === "protect") protectedNow = true;
          if (effect.type === "state" && effect.change.op === "unprotect") protectedNow = false;
        }
        if (protectedNow) expect(starts, "starts in a protected pool").toEqual([]);
      }),
      RUNS,
    );
  });

  it("drains no host for scale-in before minUptime after vor:ready-at, and starts no host inside restartCooldown of its vor:since", () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const { config, snapshot, now } = buildScenario(scenario);
        const settings = settingsOf(config);
        const pool = poolOf(snapshot);
        const tagsOf = (id: string) => pool.hosts.find((h) => h.id === id)?.tags ?? {};

        const result = plan(snapshot, config, now);

        for (const decision of result.decisions) {
          const id = decision.host;
          if (id === undefined || id in pool.control.stopRequests) continue;
          if (!writesLifecycle(decision, "draining")) continue;
          const readyAt = time(tagsOf(id)[TAG.readyAt]);
          if (readyAt !== undefined)
            expect(
              now.getTime() - readyAt,
              `${id} drained inside minUptime`,
            ).toBeGreaterThanOrEqual(settings.minUptime);
        }
        for (const id of startsOf(result)) {
          const tags = tagsOf(id);
          const lifecycle = oneOf(LIFECYCLES, tags[TAG.lifecycle]);
          expect([undefined, "off"], `${id} started from ${String(lifecycle)}`).toContain(
            lifecycle,
          );
          const since = time(tags[TAG.since]);
          if (since !== undefined)
            expect(
              now.getTime() - since,
              `${id} started inside restartCooldown`,
            ).toBeGreaterThanOrEqual(settings.restartCooldown);
        }
      }),
      RUNS,
    );
  });

  it("starts in a blind pool at most clamp(max(floor, known busy + pending need), min, max) minus capacity", () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const { config, snapshot, now } = buildScenario(scenario);
        const settings = settingsOf(config);
        const pool = poolOf(snapshot);
        const facts = factsOf(settings, pool, now.getTime());
        fc.pre(facts.blind);

        const result = plan(snapshot, config, now);

        const { floor, capacity } = numbersOf(result);
        const forceStopped = new Set(
          result.decisions.filter((d) => d.rule === "ops.force-stop").map((d) => d.host),
        );
        const busyUnknown = [...facts.hosts.values()].filter(
          (h) => h.busyUnknown && !forceStopped.has(h.id),
        ).length;
        const wanted = Math.min(
          settings.max,
          Math.max(settings.min, floor, facts.knownBusy + facts.pendingNeed),
        );
        const bound = Math.max(0, wanted - Math.max(capacity, busyUnknown));
        expect(startsOf(result).length).toBeLessThanOrEqual(bound);
      }),
      RUNS,
    );
  });

  it(
    "stops every ready host above min within max(minUptime, idleTimeout) + drainGrace + two ticks in a quiet pool",
    () => {
      fc.assert(
        fc.property(quietPoolArbitrary, (scenario) => {
          const { config, snapshot, now } = buildScenario(scenario);
          const settings = settingsOf(config);
          const t0 = now.getTime();
          const deadline =
            t0 +
            Math.max(settings.minUptime, settings.idleTimeout) +
            settings.drainGrace +
            2 * TICK_MS;
          const serving = poolOf(snapshot)
            .hosts.filter((h) => h.cloudState === "running")
            .map((h) => h.id);

          let state = snapshot;
          for (let at = t0; at <= deadline; at += TICK_MS) state = tick(state, config, at).next;

          const stillUp = poolOf(state).hosts.filter(
            (h) => serving.includes(h.id) && LIVE.has(h.cloudState),
          );
          expect(stillUp.length, JSON.stringify(stillUp)).toBeLessThanOrEqual(settings.min);
        }),
        RUNS,
      );
    },
    SIM_TIMEOUT_MS,
  );

  it(
    "moves each bootstrapping host that is not blocked out of bootstrapping within bootstrapTimeout plus a tick",
    () => {
      fc.assert(
        fc.property(bootstrappingPoolArbitrary, bootstrapReportsArbitrary, (scenario, reports) => {
          const { config, snapshot, now } = buildScenario(scenario);
          const settings = settingsOf(config);
          const t0 = now.getTime();
          const end = t0 + settings.bootstrapTimeout + 3 * TICK_MS;
          let sent = 0;
          const report = hostCausedReports(reports, () => sent++);
          const everBlocked = new Set<string>();

          let state = snapshot;
          for (let at = t0; at <= end; at += TICK_MS) {
            const step = tick(state, config, at, report);
            for (const host of poolOf(step.applied).hosts) {
              if (host.tags[TAG.blocked] !== undefined) everBlocked.add(host.id);
              if (host.tags[TAG.lifecycle] !== "bootstrapping" || everBlocked.has(host.id))
                continue;
              const since = time(host.tags[TAG.since]) ?? at;
              expect(
                at < since + settings.bootstrapTimeout + TICK_MS,
                `${host.id} still bootstrapping at ${new Date(at).toISOString()} (since ${new Date(since).toISOString()}); ${JSON.stringify(step.plan.decisions.filter((d) => d.host === host.id))}`,
              ).toBe(true);
            }
            state = step.next;
          }
        }),
        RUNS,
      );
    },
    SIM_TIMEOUT_MS,
  );

  it(
    "stops every blocked host that cannot hold work, but one probe while desired > 0, within blockedTimeout plus a tick",
    () => {
      fc.assert(
        fc.property(blockedPoolArbitrary, blockedReportsArbitrary, (scenario, reports) => {
          const { config, snapshot, now } = buildScenario(scenario);
          const settings = settingsOf(config);
          const t0 = now.getTime();
          const pool0 = poolOf(snapshot);
          // Hosts blocked at the start, while they stay blocked (a host stopped and started again
          // begins a new episode, with a new blocked-since).
          const tracked = new Set(
            pool0.hosts.filter((h) => h.tags[TAG.blocked] !== undefined).map((h) => h.id),
          );
          const since = time(pool0.control.marks.blockedSince ?? undefined) ?? t0;
          const deadline = Math.max(t0, since + settings.blockedTimeout + TICK_MS);
          const report = outsideReports(reports);

          let state = snapshot;
          for (let at = t0; at <= deadline + 2 * TICK_MS; at += TICK_MS) {
            const step = tick(state, config, at, report);
            for (const id of tracked)
              if (
                tagOf(step.applied, id, TAG.lifecycle) !== "bootstrapping" ||
                tagOf(step.applied, id, TAG.blocked) === undefined
              )
                tracked.delete(id);
            if (at >= deadline) {
              const { desired } = numbersOf(step.plan);
              expect(
                tracked.size,
                `at ${new Date(at).toISOString()}, desired ${desired}: ${[...tracked].join(", ")} still blocked and running`,
              ).toBeLessThanOrEqual(desired > 0 ? 1 : 0);
            }
            state = step.next;
          }
        }),
        RUNS,
      );
    },
    SIM_TIMEOUT_MS,
  );

  it("repeats no decision for a host already acted on when re-planning at the same instant, and starts hosts only while desired > capacity", () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const { config, snapshot, now } = buildScenario(scenario);

        const first = plan(snapshot, config, now);
        const second = plan(applyPlan(snapshot, first), config, now);

        const actedOn = first.decisions.filter((d) => d.host !== undefined && d.effects.length > 0);
        for (const again of second.decisions) {
          if (again.host === undefined || again.effects.length === 0) continue;
          const before = actedOn.find((d) => d.host === again.host && d.kind === again.kind);
          expect(before, `repeated: ${JSON.stringify({ before, again })}`).toBeUndefined();
        }
        for (const result of [first, second]) {
          const { desired, capacity } = numbersOf(result);
          expect(startsOf(result).length).toBeLessThanOrEqual(Math.max(0, desired - capacity));
        }
      }),
      RUNS,
    );
  });

  it("never yields fewer desired hosts for more demand (a pending run or a busy host added)", () => {
    fc.assert(
      fc.property(
        scenarioArbitrary,
        fc.constantFrom("pending-run", "busy-host"),
        fc.integer({ min: 1, max: 3 }),
        fc.nat(),
        (scenario, more, hosts, pick) => {
          const { config, snapshot, now } = buildScenario(scenario);
          const busier = structuredClone(snapshot);
          const pool = poolOf(busier);
          if (more === "pending-run") {
            pool.control.submitted.push({
              runId: "more-demand",
              hosts,
              at: now.toISOString(),
              expiresAt: new Date(now.getTime() + 10 * 60_000).toISOString(),
            });
          } else {
            const target = pool.hosts[pick % Math.max(1, pool.hosts.length)];
            fc.pre(target !== undefined);
            const { midtier, rabbitmq } = pool.signals;
            if (midtier?.status === "ok")
              midtier.data.runs.push({
                id: "more-demand",
                state: "running",
                hosts: 1,
                hostIds: [target.id],
              });
            else if (rabbitmq?.status === "ok")
              rabbitmq.data.busy.push({ host: target.id, why: "consumer on a run queue" });
            else fc.pre(false);
          }

          const base = numbersOf(plan(snapshot, config, now)).desired;
          const busierDesired = numbersOf(plan(busier, config, now)).desired;

          expect(busierDesired).toBeGreaterThanOrEqual(base);
        },
      ),
      RUNS,
    );
  });

  it("returns decisions that validate against decisionSchema with a reason, never throws, is deterministic and leaves its input alone", () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const { config, snapshot, now } = buildScenario(scenario);
        const copy = structuredClone(snapshot);

        const result = plan(snapshot, config, now);
        const again = plan(copy, config, new Date(now.getTime()));

        expect(planSchema.safeParse(result).success).toBe(true);
        for (const decision of result.decisions) {
          const parsed = decisionSchema.safeParse(decision);
          expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
          expect(decision.reason.trim().length, JSON.stringify(decision)).toBeGreaterThan(0);
        }
        expect(again).toEqual(result);
        expect(snapshot).toEqual(copy);
      }),
      RUNS,
    );
  });
});

// ---- bootstrapper stand-ins ----

/** Each bootstrap step reports nothing, or a host-caused failure (codes in turn). */
function hostCausedReports(
  reports: BootstrapReports,
  next: () => number,
): (pool: PoolSnapshot, host: string, atIso: string) => void {
  return (pool, host, atIso) => {
    if (reports.kind === "never") return;
    const code = reports.codes[next() % reports.codes.length] ?? "ssh:key-refused";
    (pool.control.bootstrapResults[host] ??= []).push({
      at: atIso,
      outcome: "failed",
      step: "access",
      code,
      reference: false,
    });
  };
}

/** Each bootstrap step reports nothing, or the outside fault again. */
function outsideReports(
  reports: BlockedReports,
): (pool: PoolSnapshot, host: string, atIso: string) => void {
  return (pool, host, atIso) => {
    if (reports.kind === "never") return;
    (pool.control.bootstrapResults[host] ??= []).push({
      at: atIso,
      outcome: "failed",
      step: "access",
      code: reports.code,
      reference: false,
    });
  };
}
