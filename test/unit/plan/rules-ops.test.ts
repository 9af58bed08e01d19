import { describe, expect, it } from "vitest";
import { TAG, type Plan, type PoolSnapshot } from "../../../shared/plan/index.ts";
import {
  bootstrapResult,
  bootstrappingHost,
  checkRuleCase,
  decisionFor,
  drainsIn,
  expectDecision,
  iso,
  offHost,
  planAt,
  poolDecisionWith,
  readyHost,
  startsIn,
  stateChangesOf,
  stopsIn,
  summaryOf,
  tagsSetBy,
  type PoolInput,
  type RuleCase,
} from "../../support/plan-fixtures.ts";
import { host, okSignals } from "../../support/snapshot-builder.ts";

// Ops stop requests, paused pools, blind pools and signal health, and the Decision contract every
// plan keeps (a reason on every decision, one decision per host, numbers on pool decisions).

const DAY = "2026-03-04T10:00";
const NIGHT = "2026-03-04T21:00";

type Signals = PoolSnapshot["signals"];
const rabbitmqFailed = (signals: Signals = okSignals()): Signals => ({
  ...signals,
  rabbitmq: { status: "failed", why: "connection refused" },
});
const running = (id: string, ...hostIds: string[]) => ({ id, state: "running" as const, hostIds });
const stopRequest = (force: boolean) => ({
  by: "alice",
  why: "kernel patch",
  force,
  at: iso("2026-03-04T09:59"),
});
const opsDraining = (id: string, confirmed: string) =>
  host(id, "running", {
    lifecycle: "draining",
    since: iso(confirmed),
    drainConfirmed: iso(confirmed),
    readyAt: iso("2026-03-04T07:05"),
  });

describe("plan: ops stop requests", () => {
  it.each<RuleCase>([
    {
      rule: "ops.drain",
      claim: "drains a busy ready host at once, whatever minUptime says",
      at: DAY,
      pool: {
        hosts: [readyHost("i-1", { readyAt: "2026-03-04T09:59" })],
        signals: okSignals({ runs: [running("r-1", "i-1")] }),
        control: { stopRequests: { "i-1": stopRequest(false) } },
      },
      host: "i-1",
      kind: "drain",
      becomes: "draining",
      stop: "none",
      words: ["alice", "kernel patch"],
    },
    {
      rule: "ops.drain",
      claim: "drains an adopted host at once",
      at: DAY,
      pool: {
        hosts: [host("i-1", "running", { lifecycle: "adopted", since: iso("2026-03-04T09:50") })],
        control: { stopRequests: { "i-1": stopRequest(false) } },
      },
      host: "i-1",
      kind: "drain",
      becomes: "draining",
    },
    {
      rule: "ops.drain-wait",
      claim:
        "keeps a host ops asked to stop draining while it is busy, without returning it to ready",
      at: DAY,
      pool: {
        hosts: [opsDraining("i-1", "2026-03-04T09:59")],
        signals: okSignals({ runs: [running("r-1", "i-1")] }),
        control: { stopRequests: { "i-1": stopRequest(false) } },
      },
      host: "i-1",
      kind: "none",
      effectTypes: [],
      words: ["r-1"],
    },
    {
      rule: "ops.stop",
      claim: "stops a host ops asked to stop once idle drainGrace after its drain was confirmed",
      at: DAY,
      pool: {
        hosts: [opsDraining("i-1", "2026-03-04T09:59")],
        control: { stopRequests: { "i-1": stopRequest(false) } },
      },
      host: "i-1",
      kind: "stop",
      becomes: "stopping",
      stop: { recheckBusy: true, cause: "ops" },
    },
    {
      rule: "ops.stop",
      claim: "stops a bootstrapping host ops asked to stop at once: it never served work",
      at: DAY,
      pool: {
        hosts: [bootstrappingHost("i-1", "2026-03-04T09:58")],
        control: { stopRequests: { "i-1": stopRequest(false) } },
      },
      host: "i-1",
      kind: "stop",
      becomes: "stopping",
      stop: { recheckBusy: false, cause: "ops" },
      state: [{ op: "revoke-claim", host: "i-1" }],
    },
    {
      rule: "ops.force-stop",
      claim: "stops a busy host at once without the busy re-read, and audits it",
      at: DAY,
      pool: {
        hosts: [readyHost("i-1")],
        signals: okSignals({ runs: [running("r-1", "i-1")] }),
        control: { stopRequests: { "i-1": stopRequest(true) } },
      },
      host: "i-1",
      kind: "stop",
      becomes: "stopping",
      stop: { recheckBusy: false, cause: "ops-force" },
      alerts: ["ops-force:i-1"],
      words: ["alice", "busy"],
    },
  ])("$rule $claim", (rule) => {
    checkRuleCase(rule);
  });

  it("ops.drain is exempt from the drain count, and another host starts when desired needs one", () => {
    const result = planAt(DAY, {
      hosts: [readyHost("i-1"), offHost("i-2")],
      control: { stopRequests: { "i-1": stopRequest(false) } },
    });

    expect(drainsIn(result)).toEqual(["i-1"]);
    expect(startsIn(result)).toEqual(["i-2"]);
  });

  it("ops.drain drains even in a blind pool: ops asked", () => {
    const result = planAt(DAY, {
      hosts: [readyHost("i-1")],
      signals: rabbitmqFailed(),
      control: { stopRequests: { "i-1": stopRequest(false) } },
    });

    expect(decisionFor(result, "i-1").rule).toBe("ops.drain");
  });

  it("ops.stop waits while a host ops asked to stop may be busy (a busy source is down)", () => {
    const result = planAt(DAY, {
      hosts: [opsDraining("i-1", "2026-03-04T09:50")],
      signals: rabbitmqFailed(),
      control: { stopRequests: { "i-1": stopRequest(false) } },
    });

    expect(stopsIn(result)).toEqual([]);
  });

  it("a host ops stopped is no start candidate while its request stands", () => {
    const result = planAt(DAY, {
      hosts: [offHost("i-1", "2026-03-04T09:00")],
      control: { stopRequests: { "i-1": stopRequest(false) } },
    });

    expect(startsIn(result)).toEqual([]);
  });
});

describe("plan: paused pools", () => {
  it("freeze.paused is the only decision of a paused pool, with its numbers and no effects", () => {
    const result = planAt(DAY, {
      hosts: [
        offHost("i-1"),
        bootstrappingHost("i-2", "2026-03-04T09:40"),
        opsDraining("i-3", "2026-03-04T09:00"),
        host("i-4", "stopped", { lifecycle: "stopping", stopCause: "quarantine" }),
        host("i-5", "running"),
      ],
      signals: okSignals({ runs: [{ id: "r-1", state: "pending", hosts: 3 }] }),
      control: {
        paused: { by: "bob", why: "storage migration", at: iso("2026-03-04T09:00") },
        bootstrapResults: { "i-2": [bootstrapResult("2026-03-04T09:59", "passed")] },
      },
    });

    expect(result.decisions).toHaveLength(1);
    const only = result.decisions[0] ?? expect.fail("no decision");
    expectDecision(only, {
      kind: "freeze",
      rule: "freeze.paused",
      effectTypes: [],
      words: ["bob", "storage migration"],
    });
    expect(only.numbers).toEqual({ desired: 3, demand: 3, floor: 1, capacity: 2 });
  });
});

describe("plan: blind pools", () => {
  it.each<RuleCase>([
    {
      rule: "freeze.blind",
      claim: "drains no idle host above desired while a busy source is down",
      at: NIGHT,
      pool: {
        hosts: [readyHost("i-1", { idleSince: "2026-03-04T20:00" })],
        signals: rabbitmqFailed(),
      },
      kind: "freeze",
      numbers: { desired: 0, demand: 0, floor: 0, capacity: 1 },
      words: ["rabbitmq failed", "connection refused"],
    },
    {
      rule: "freeze.blind",
      claim: "stops no confirmed draining host that may be busy",
      at: NIGHT,
      pool: { hosts: [opsDraining("i-1", "2026-03-04T20:50")], signals: rabbitmqFailed() },
      host: "i-1",
      kind: "freeze",
      stop: "none",
    },
  ])("$rule $claim", (rule) => {
    const result = checkRuleCase(rule);

    expect(drainsIn(result)).toEqual([]);
    expect(stopsIn(result)).toEqual([]);
  });

  it.each<[string, Signals]>([
    ["rabbitmq failed", rabbitmqFailed()],
    ["midtier failed", { ...okSignals(), midtier: { status: "failed", why: "HTTP 500" } }],
    ["rabbitmq missing", { midtier: okSignals().midtier }],
    [
      "a rabbitmq reading older than signalMaxAge",
      {
        ...okSignals(),
        rabbitmq: { ...okSignals().rabbitmq, ageMs: 180_000 } as Signals["rabbitmq"],
      },
    ],
    [
      "a run-queue consumer that maps to no known host",
      {
        ...okSignals(),
        rabbitmq: {
          status: "ok",
          ageMs: 5_000,
          data: {
            readyMessages: 0,
            busy: [],
            unknownConsumers: [{ connection: "10.1.2.3:50111" }],
          },
        },
      },
    ],
  ])("freeze.blind: the pool is blind with %s", (_, signals) => {
    const result = planAt(NIGHT, {
      hosts: [readyHost("i-1", { idleSince: "2026-03-04T20:00" })],
      signals,
    });

    expect(summaryOf(result).rule).toBe("freeze.blind");
    expect(drainsIn(result)).toEqual([]);
  });

  it("a blind pool starts for known need, counting busy-unknown hosts as capacity, not demand", () => {
    const result = planAt(NIGHT, {
      hosts: [readyHost("i-1"), offHost("i-2"), offHost("i-3"), offHost("i-4")],
      signals: rabbitmqFailed(
        okSignals({
          runs: [
            { id: "r-1", state: "pending", hosts: 1 },
            { id: "r-2", state: "pending", hosts: 1 },
          ],
        }),
      ),
    });

    expect(summaryOf(result).numbers).toEqual({ desired: 2, demand: 2, floor: 0, capacity: 1 });
    expect(startsIn(result)).toEqual(["i-2"]);
  });

  it("a blind pool leaves vor:idle-since as it is on a host that may be busy", () => {
    const result = planAt(DAY, { hosts: [readyHost("i-1")], signals: rabbitmqFailed() });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "none",
      rule: "host.serving",
      effectTypes: [],
    });
  });

  it("a blind pool still quarantines a bootstrapping host, which cannot hold work", () => {
    const result = planAt(DAY, {
      hosts: [bootstrappingHost("i-1", "2026-03-04T09:45", { attemptAt: "2026-03-04T09:59" })],
      signals: rabbitmqFailed(),
    });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "quarantine",
      rule: "quarantine.timeout",
      stop: { recheckBusy: false, cause: "quarantine" },
    });
  });

  it("a host an ok source proves busy stays busy, not busy-unknown, in a blind pool", () => {
    const result = planAt(NIGHT, {
      hosts: [readyHost("i-1"), readyHost("i-2", { idleSince: "2026-03-04T20:00" })],
      signals: rabbitmqFailed(okSignals({ runs: [running("r-1", "i-1")] })),
    });

    expect(summaryOf(result).numbers).toEqual({ desired: 1, demand: 1, floor: 0, capacity: 2 });
  });
});

describe("plan: signal health bookkeeping", () => {
  const quiet = (signals: Signals, control: PoolInput["control"] = {}): PoolInput => ({
    hosts: [readyHost("i-1")],
    signals,
    control,
  });
  const downSince = (since: string) => ({
    marks: {
      blindSince: iso("2026-03-04T20:50"),
      blockedSince: null,
      signalDownSince: { rabbitmq: iso(since) },
    },
  });

  it("pool.bookkeeping records when a source went down and when the pool went blind", () => {
    const result = planAt(NIGHT, quiet(rabbitmqFailed()));

    const decision = poolDecisionWith(result, "pool.bookkeeping");
    expect(stateChangesOf(decision)).toEqual(
      expect.arrayContaining([
        { op: "signal-down", source: "rabbitmq", since: iso(NIGHT) },
        { op: "mark", name: "blindSince", value: iso(NIGHT) },
      ]),
    );
  });

  it.each<[string, string, string[]]>([
    ["alerts once a source is down signalAlertAfter 10m", "2026-03-04T20:50", ["signal:rabbitmq"]],
    ["does not alert a source down 9m", "2026-03-04T20:51", []],
  ])("pool.bookkeeping %s", (_, since, alerts) => {
    const result = planAt(NIGHT, quiet(rabbitmqFailed(), downSince(since)));

    const keys = result.decisions.flatMap((d) =>
      d.effects.flatMap((e) => (e.type === "alert" ? [e.key] : [])),
    );
    expect(keys).toEqual(alerts);
  });

  it("pool.bookkeeping ends the episode when the source reads ok again", () => {
    const result = planAt(
      NIGHT,
      quiet(okSignals(), {
        ...downSince("2026-03-04T20:40"),
        alertsSent: { "signal:rabbitmq": iso("2026-03-04T20:50") },
      }),
    );

    expect(stateChangesOf(poolDecisionWith(result, "pool.bookkeeping"))).toEqual(
      expect.arrayContaining([
        { op: "signal-down", source: "rabbitmq", since: null },
        { op: "alert-episode-end", key: "signal:rabbitmq" },
        { op: "mark", name: "blindSince", value: null },
      ]),
    );
  });

  it("pool.bookkeeping alerts on a run-queue consumer that maps to no known host, naming it", () => {
    const result = planAt(
      NIGHT,
      quiet({
        ...okSignals(),
        rabbitmq: {
          status: "ok",
          ageMs: 5_000,
          data: {
            readyMessages: 0,
            busy: [],
            unknownConsumers: [{ connection: "10.1.2.3:50111" }],
          },
        },
      }),
    );

    const decision = poolDecisionWith(result, "pool.bookkeeping");
    expect(decision.kind).toBe("alert");
    expect(decision.effects).toContainEqual(
      expect.objectContaining({ type: "alert", key: "consumer:10.1.2.3:50111" }),
    );
  });
});

// A spread of pools in every state, for the contract checks below.
const varied: [string, string, PoolInput][] = [
  [
    "a quiet night",
    NIGHT,
    { hosts: [readyHost("i-1", { idleSince: "2026-03-04T20:00" }), offHost("i-2")] },
  ],
  [
    "a morning burst",
    "2026-03-04T08:00",
    {
      hosts: [
        readyHost("i-1"),
        ...["i-2", "i-3", "i-4", "i-5", "i-6", "i-7"].map((id) => offHost(id)),
      ],
      signals: okSignals({
        runs: [
          running("r-0", "i-1"),
          ...["r-1", "r-2", "r-3", "r-4", "r-5", "r-6"].map((id) => ({
            id,
            state: "pending" as const,
          })),
        ],
      }),
      control: {
        submitted: [
          {
            runId: "r-7",
            hosts: 2,
            at: iso("2026-03-04T07:59"),
            expiresAt: iso("2026-03-04T08:09"),
          },
        ],
      },
    },
  ],
  [
    "a blind pool with a draining host",
    NIGHT,
    {
      hosts: [readyHost("i-1"), opsDraining("i-2", "2026-03-04T20:50")],
      signals: rabbitmqFailed(),
    },
  ],
  [
    "a blocked pool past blockedTimeout",
    DAY,
    {
      hosts: [
        bootstrappingHost("i-1", "2026-03-04T09:20", {
          attemptAt: "2026-03-04T09:59",
          blocked: "vault:sealed",
        }),
        bootstrappingHost("i-2", "2026-03-04T09:20", {
          attemptAt: "2026-03-04T09:59",
          blocked: "vault:sealed",
        }),
        offHost("i-3"),
      ],
      control: {
        marks: { blindSince: null, blockedSince: iso("2026-03-04T09:29"), signalDownSince: {} },
      },
    },
  ],
  [
    "a pool protected by its third quarantine",
    DAY,
    {
      hosts: [
        host("i-1", "stopped", {
          lifecycle: "stopping",
          stopCause: "quarantine",
          since: iso("2026-03-04T09:59"),
        }),
        offHost("i-2"),
      ],
      control: { counters: { consecutiveFailures: 2, startFailures: 0, startBackoffUntil: null } },
    },
  ],
  [
    "a pool backing off after failed starts",
    DAY,
    {
      hosts: [
        host("i-1", "stopped", { lifecycle: "starting", since: iso("2026-03-04T09:57") }),
        offHost("i-2"),
      ],
      control: { startRecords: { "i-1": { at: iso("2026-03-04T09:57"), result: "ok" } } },
    },
  ],
  [
    "a pool with hosts started and stopped by hand",
    DAY,
    {
      hosts: [
        host("i-1", "running", { lifecycle: "off", since: iso("2026-03-04T08:00") }),
        host("i-2", "stopped", { lifecycle: "ready", since: iso("2026-03-04T08:00") }),
        host("i-3", "stopped"),
        host("i-4", "running", { lifecycle: "ready", exclude: "true" }),
      ],
    },
  ],
];

const plans = varied.map(([name, when, pool]): [string, Plan] => [name, planAt(when, pool)]);

describe("plan: the Decision contract", () => {
  it.each(plans)("every decision of %s has a reason", (_, result) => {
    for (const decision of result.decisions)
      expect(decision.reason.trim(), decision.rule).not.toBe("");
  });

  it.each(plans)("every host of %s gets exactly one decision", (_, result) => {
    const hosts = result.decisions.flatMap((d) => (d.host === undefined ? [] : [d.host]));

    expect(new Set(hosts).size).toBe(hosts.length);
  });

  it.each(plans)("the summary of %s carries desired, demand, floor and capacity", (_, result) => {
    expect(summaryOf(result).numbers).toEqual({
      desired: expect.any(Number) as number,
      demand: expect.any(Number) as number,
      floor: expect.any(Number) as number,
      capacity: expect.any(Number) as number,
    });
  });

  it("every pool-level decision carries desired, demand, floor and capacity", () => {
    const without = plans.flatMap(([name, result]) =>
      result.decisions
        .filter((d) => d.host === undefined && d.numbers === undefined)
        .map((d) => `${d.rule} (${name})`),
    );

    expect(without).toEqual([]);
  });

  it("a start writes starting before the start call, and a stop writes stopping before the stop call", () => {
    const result = planAt(NIGHT, {
      hosts: [offHost("i-1"), opsDraining("i-2", "2026-03-04T20:50")],
      signals: okSignals({ runs: [{ id: "r-1", state: "pending" }] }),
      // An ops stop: scale-out may not return i-2 to ready, so it starts i-1 and stops i-2.
      control: { stopRequests: { "i-2": stopRequest(false) } },
    });

    const start = decisionFor(result, "i-1");
    const stop = decisionFor(result, "i-2");
    expect(start.effects.map((e) => e.type)).toEqual(["tags", "start"]);
    expect(tagsSetBy(start)[TAG.lifecycle]).toBe("starting");
    expect(stop.effects.map((e) => e.type).slice(-2)).toEqual(["tags", "stop"]);
    expect(tagsSetBy(stop)[TAG.lifecycle]).toBe("stopping");
  });
});
