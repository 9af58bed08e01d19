import { expect } from "vitest";
import type { Config } from "../../shared/config/index.ts";
import {
  plan,
  planSchema,
  snapshotSchema,
  TAG,
  type BootstrapResult,
  type Decision,
  type DecisionKind,
  type DecisionNumbers,
  type Effect,
  type Plan,
  type Snapshot,
  type SnapshotInput,
  type StateChange,
  type StopCause,
} from "../../shared/plan/index.ts";
import { at, host, okSignals, plannerConfig, snapshotOf } from "./snapshot-builder.ts";

// Planner fixtures and readers for rule tests: plan a pool at a literal instant, then read one
// decision and its effects by what they mean (tags written, stop cause, alerts, state writes).

export type PoolInput = SnapshotInput["pools"][string];
export type HostInput = NonNullable<PoolInput["hosts"]>[number];

/** A literal UTC instant with optional seconds: "2026-03-04T10:00" or "2026-03-04T09:59:30". */
export const instant = (text: string): Date =>
  /T\d\d:\d\d:\d\d(\.\d+)?$/.test(text) ? new Date(`${text}Z`) : at(text);

/** The ISO text of a literal UTC instant, as tags and the state store hold it. */
export const iso = (text: string): string => instant(text).toISOString();

/** Adds minutes to a literal instant: `plus("2026-03-04T10:00", 20)` is 10:20 as ISO text. */
export const plus = (text: string, minutes: number): string =>
  new Date(instant(text).getTime() + minutes * 60_000).toISOString();

/** A ready host serving since `readyAt`; idle since `idleSince` when given. */
export function readyHost(
  id: string,
  options: { readyAt?: string; idleSince?: string; launchedAt?: string } = {},
): HostInput {
  const readyAt = iso(options.readyAt ?? "2026-03-04T07:05");
  return host(
    id,
    "running",
    {
      lifecycle: "ready",
      since: readyAt,
      readyAt,
      ...(options.idleSince === undefined ? {} : { idleSince: iso(options.idleSince) }),
    },
    options.launchedAt === undefined ? undefined : iso(options.launchedAt),
  );
}

/** An off host, stopped since `since` (default: the evening before, long past restartCooldown). */
export function offHost(id: string, since = "2026-03-03T19:30", attempts?: number): HostInput {
  return host(id, "stopped", {
    lifecycle: "off",
    since: iso(since),
    ...(attempts === undefined ? {} : { attempts: String(attempts) }),
  });
}

/** A bootstrapping host that reached running at `since` (its launch time too). */
export function bootstrappingHost(
  id: string,
  since: string,
  tags: { attempts?: number; attemptAt?: string; blocked?: string; failure?: string } = {},
): HostInput {
  return host(
    id,
    "running",
    {
      lifecycle: "bootstrapping",
      since: iso(since),
      ...(tags.attempts === undefined ? {} : { attempts: String(tags.attempts) }),
      ...(tags.attemptAt === undefined ? {} : { attemptAt: iso(tags.attemptAt) }),
      ...(tags.blocked === undefined ? {} : { blocked: tags.blocked }),
      ...(tags.failure === undefined ? {} : { failure: tags.failure }),
    },
    iso(since),
  );
}

/** A raw bootstrap result as the bootstrapper records it. */
export function bootstrapResult(
  atText: string,
  outcome: BootstrapResult["outcome"],
  code = outcome === "passed" ? "ok" : "ssh:key-refused",
  options: { step?: string; playpen?: string; reference?: boolean } = {},
): BootstrapResult {
  return {
    at: iso(atText),
    outcome,
    step: options.step ?? (options.playpen === undefined ? "access" : "playpen"),
    code,
    ...(options.playpen === undefined ? {} : { playpen: options.playpen }),
    reference: options.reference ?? false,
  };
}

/** A snapshot of the pool "compute" at a literal instant; signals default to ok and quiet. */
export function poolAt(when: string, pool: PoolInput): Snapshot {
  return snapshotOf(at(when), { signals: okSignals(), ...pool });
}

/** Plans a snapshot at its observedAt and checks the result against the Plan contract. */
export function planFor(snapshot: Snapshot, config: Config = plannerConfig()): Plan {
  return planSchema.parse(plan(snapshot, config, new Date(snapshot.observedAt)));
}

/** Plans the pool "compute" at a literal instant with config changes ("pools.compute.min", 2). */
export function planAt(when: string, pool: PoolInput, ...changes: [string, unknown][]): Plan {
  return planFor(poolAt(when, pool), plannerConfig(...changes));
}

/** Plans several pools at once (for pools the config does not know). */
export function planPools(when: string, pools: Record<string, PoolInput>): Plan {
  const snapshot = snapshotSchema.parse({ observedAt: iso(when), pools });
  return planFor(snapshot);
}

const listed = (decisions: readonly Decision[]): string =>
  decisions.map((d) => `  ${d.host ?? "(pool)"} ${d.kind} ${d.rule}: ${d.reason}`).join("\n");

/** Every decision about `hostId`. */
export const decisionsFor = (result: Plan, hostId: string): Decision[] =>
  result.decisions.filter((d) => d.host === hostId);

/** The one decision about `hostId`; none or several is a loud failure listing the plan. */
export function decisionFor(result: Plan, hostId: string): Decision {
  const found = decisionsFor(result, hostId);
  const only = found[0];
  if (found.length !== 1 || only === undefined) {
    throw new Error(
      `expected one decision for ${hostId}, found ${found.length}; the plan:\n${listed(result.decisions)}`,
    );
  }
  return only;
}

/** Pool-level decisions (no host) with the rule. */
export const poolDecisionsWith = (result: Plan, rule: string): Decision[] =>
  result.decisions.filter((d) => d.host === undefined && d.rule === rule);

/** The one pool-level decision with the rule; none or several is a loud failure. */
export function poolDecisionWith(result: Plan, rule: string): Decision {
  const found = poolDecisionsWith(result, rule);
  const only = found[0];
  if (found.length !== 1 || only === undefined) {
    throw new Error(
      `expected one pool decision ${rule}, found ${found.length}; the plan:\n${listed(result.decisions)}`,
    );
  }
  return only;
}

/** The pool's summary decision: the one that states desired, demand, floor and capacity. */
export function summaryOf(result: Plan, pool = "compute"): Decision {
  const summary = result.decisions.find(
    (d) => d.pool === pool && d.host === undefined && d.numbers !== undefined,
  );
  if (!summary) throw new Error(`no summary for ${pool}; the plan:\n${listed(result.decisions)}`);
  return summary;
}

export const numbersOf = (result: Plan): DecisionNumbers | undefined => summaryOf(result).numbers;

const INSTANT = /\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)/g;

/** Text with every ISO instant in it written one way (toISOString): "10:00Z" reads "10:00:00.000Z". */
export const normalInstants = (text: string): string =>
  text.replace(INSTANT, (found) => new Date(found).toISOString());

function normalDeep<T>(value: T): T {
  if (typeof value === "string") return normalInstants(value) as T;
  if (Array.isArray(value)) return value.map(normalDeep) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, normalDeep(inner)]),
    ) as T;
  }
  return value;
}

/** Tag writes of a decision, merged in order (later writes win); instants as toISOString. */
export function tagsSetBy(decision: Decision, hostId = decision.host): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of decision.effects) {
    if (e.type === "tags" && e.host === hostId) Object.assign(out, normalDeep(e.set));
  }
  return out;
}

/** Tag keys a decision removes. */
export const tagsRemovedBy = (decision: Decision, hostId = decision.host): string[] =>
  decision.effects.flatMap((e) => (e.type === "tags" && e.host === hostId ? e.remove : []));

type StopEffect = Extract<Effect, { type: "stop" }>;
export const stopEffectOf = (decision: Decision): StopEffect | undefined =>
  decision.effects.find((e): e is StopEffect => e.type === "stop");

export const alertKeysOf = (decision: Decision): string[] =>
  decision.effects.flatMap((e) => (e.type === "alert" ? [e.key] : []));

/** State-store writes of a decision; instants as toISOString. */
export const stateChangesOf = (decision: Decision): StateChange[] =>
  decision.effects.flatMap((e) => (e.type === "state" ? [normalDeep(e.change)] : []));

/** Hosts a plan starts, in order. */
export const startsIn = (result: Plan): string[] =>
  result.decisions.flatMap((d) => d.effects.flatMap((e) => (e.type === "start" ? [e.host] : [])));

/** Hosts a plan stops, in order. */
export const stopsIn = (result: Plan): string[] =>
  result.decisions.flatMap((d) => d.effects.flatMap((e) => (e.type === "stop" ? [e.host] : [])));

/** Hosts a plan drains (writes `draining` on). */
export const drainsIn = (result: Plan): string[] =>
  result.decisions.flatMap((d) =>
    d.effects.flatMap((e) =>
      e.type === "tags" && e.set[TAG.lifecycle] === "draining" ? [e.host] : [],
    ),
  );

/** Every host any effect of the plan names. */
export const hostsTouchedBy = (result: Plan): Set<string> =>
  new Set(
    result.decisions.flatMap((d) =>
      d.effects.flatMap((e) => {
        if ("host" in e) return [e.host];
        if (e.type === "state" && "host" in e.change) return [e.change.host];
        return [];
      }),
    ),
  );

/** What a rule test expects of one decision; only the fields given are checked. */
export interface Expectation {
  kind: DecisionKind;
  rule: string;
  /** the lifecycle tag the decision writes; null: it writes none */
  becomes?: string | null;
  /** tag writes that must be among the decision's (values may be asymmetric matchers) */
  sets?: Record<string, unknown>;
  /** tag keys the decision must remove */
  removes?: string[];
  /** the stop effect; "none": the decision stops nothing */
  stop?: { recheckBusy: boolean; cause?: StopCause } | "none";
  /** alert keys (prefixes) the decision must send; []: it sends none */
  alerts?: string[];
  /** state-store writes that must be among the decision's (partial matches) */
  state?: Partial<StateChange>[];
  /** effects, when they must be exactly these types in this order */
  effectTypes?: Effect["type"][];
  /** words or numbers the reason must mention */
  words?: (string | number)[];
}

/** Asserts a decision against an expectation (kind, rule, effects, words of the reason). */
export function expectDecision(decision: Decision, expected: Expectation): void {
  expect({ kind: decision.kind, rule: decision.rule }).toEqual({
    kind: expected.kind,
    rule: expected.rule,
  });
  expect(decision.reason.trim()).not.toBe("");
  if (expected.becomes !== undefined) {
    expect(tagsSetBy(decision)[TAG.lifecycle]).toBe(expected.becomes ?? undefined);
  }
  if (expected.sets) expect(tagsSetBy(decision)).toMatchObject(expected.sets);
  if (expected.removes)
    expect(tagsRemovedBy(decision)).toEqual(expect.arrayContaining(expected.removes));
  if (expected.stop === "none") expect(stopEffectOf(decision)).toBeUndefined();
  else if (expected.stop) {
    expect(stopEffectOf(decision)).toMatchObject({
      host: decision.host,
      recheckBusy: expected.stop.recheckBusy,
    });
    if (expected.stop.cause) expect(tagsSetBy(decision)[TAG.stopCause]).toBe(expected.stop.cause);
  }
  if (expected.alerts) {
    const keys = alertKeysOf(decision);
    if (expected.alerts.length === 0) expect(keys).toEqual([]);
    for (const prefix of expected.alerts) {
      expect(
        keys.some((k) => k.startsWith(prefix)),
        `alert ${prefix} in ${keys.join(", ")}`,
      ).toBe(true);
    }
  }
  if (expected.state) {
    expect(stateChangesOf(decision)).toEqual(
      expect.arrayContaining(
        expected.state.map((s): unknown => expect.objectContaining(s) as unknown),
      ),
    );
  }
  if (expected.effectTypes) {
    expect(decision.effects.map((e) => e.type)).toEqual(expected.effectTypes);
  }
  for (const word of expected.words ?? []) {
    expect(normalInstants(decision.reason)).toContain(normalInstants(String(word)));
  }
}

/** One row of a rule table: a pool at an instant, and what the rule's decision must be. */
export interface RuleCase extends Expectation {
  /** the present-tense claim after the rule id in the test name */
  claim: string;
  at: string;
  pool: PoolInput;
  config?: [string, unknown][];
  /** whose decision to check; unset: the pool-level decision with the rule */
  host?: string;
  numbers?: DecisionNumbers;
  /** the hosts the whole plan starts, in order */
  starts?: string[];
}

/** Plans a rule case and checks its decision; returns the plan for further assertions. */
export function checkRuleCase(rule: RuleCase): Plan {
  const result = planAt(rule.at, rule.pool, ...(rule.config ?? []));
  const decision =
    rule.host === undefined ? poolDecisionWith(result, rule.rule) : decisionFor(result, rule.host);
  expectDecision(decision, rule);
  if (rule.numbers) expect(decision.numbers).toEqual(rule.numbers);
  if (rule.starts) expect(startsIn(result)).toEqual(rule.starts);
  return result;
}
