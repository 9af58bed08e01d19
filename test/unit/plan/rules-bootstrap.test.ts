import { describe, expect, it } from "vitest";
import { TAG, type Effect } from "../../../shared/plan/index.ts";
import {
  bootstrapResult,
  bootstrappingHost,
  checkRuleCase,
  decisionFor,
  expectDecision,
  iso,
  offHost,
  planAt,
  poolDecisionWith,
  readyHost,
  startsIn,
  stopsIn,
  type RuleCase,
} from "../../support/plan-fixtures.ts";
import { host, okSignals } from "../../support/snapshot-builder.ts";

// The bootstrap step and what its results lead to: booting, host-caused failures and their
// backoff, outside faults (blocks), the shared-storage comparison of playpen failures, quarantine,
// and pool protection with its automatic lift. Planned on a Wednesday inside business hours
// (floor 1), so a blocked pool keeps one probe.

const DAY = "2026-03-04T10:00";
const NIGHT = "2026-03-04T21:00";
const PLAYPEN = "/data/playpen";
const MARKER = `playpen:${PLAYPEN}:marker`;

const failedAt = (when: string, code: string, playpen?: string) =>
  bootstrapResult(when, "failed", code, playpen === undefined ? {} : { playpen });

const adopted = (
  id: string,
  tags: { attempts?: number; attemptAt?: string; blocked?: string } = {},
) =>
  host(
    id,
    "running",
    {
      lifecycle: "adopted",
      since: iso("2026-03-04T09:50"),
      ...(tags.attempts === undefined ? {} : { attempts: String(tags.attempts) }),
      ...(tags.attemptAt === undefined ? {} : { attemptAt: iso(tags.attemptAt) }),
      ...(tags.blocked === undefined ? {} : { blocked: tags.blocked }),
    },
    iso("2026-03-04T09:50"),
  );

const referenceEffects = (effects: Effect[]) =>
  effects.filter((e) => e.type === "bootstrap" && e.reference);

describe("plan: the bootstrap step", () => {
  it.each<RuleCase>([
    {
      rule: "bootstrap.step",
      claim: "sends a bootstrapping host through the bootstrap step and records the attempt time",
      at: DAY,
      pool: { hosts: [bootstrappingHost("i-1", "2026-03-04T09:58")] },
      host: "i-1",
      kind: "bootstrap",
      becomes: null,
      sets: { [TAG.attemptAt]: iso(DAY) },
      effectTypes: ["tags", "bootstrap"],
    },
    {
      rule: "bootstrap.step",
      claim: "checks an adopted host in place",
      at: DAY,
      pool: { hosts: [adopted("i-1")] },
      host: "i-1",
      kind: "bootstrap",
      becomes: null,
      effectTypes: ["tags", "bootstrap"],
      words: ["in place"],
    },
    {
      rule: "bootstrap.backoff",
      claim: "waits 2 ticks from vor:attempt-at after a second failure",
      at: DAY,
      pool: {
        hosts: [
          bootstrappingHost("i-1", "2026-03-04T09:50", {
            attempts: 2,
            attemptAt: "2026-03-04T09:59",
          }),
        ],
      },
      host: "i-1",
      kind: "none",
      effectTypes: [],
      words: [iso("2026-03-04T10:01")],
    },
    {
      rule: "bootstrap.booting",
      claim: "counts an unreachable host within bootGrace as still booting",
      at: DAY,
      pool: {
        hosts: [bootstrappingHost("i-1", "2026-03-04T09:58", { attemptAt: "2026-03-04T09:59" })],
        control: {
          bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", "ssh:unreachable")] },
        },
      },
      host: "i-1",
      kind: "mark",
      becomes: null,
      state: [{ op: "clear-bootstrap-results", host: "i-1" }],
      effectTypes: ["state"],
      words: ["ssh:unreachable", "bootGrace 5m"],
    },
    {
      rule: "bootstrap.failed",
      claim: "counts a host-caused failure as an attempt and records its code",
      at: DAY,
      pool: {
        hosts: [bootstrappingHost("i-1", "2026-03-04T09:55", { attemptAt: "2026-03-04T09:59" })],
        control: {
          bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", "ssh:key-refused")] },
        },
      },
      host: "i-1",
      kind: "mark",
      becomes: null,
      sets: { [TAG.attempts]: "1", [TAG.failure]: "ssh:key-refused" },
      state: [{ op: "clear-bootstrap-results", host: "i-1" }],
      stop: "none",
      words: ["attempt 1 of 3"],
    },
    {
      rule: "bootstrap.blocked",
      claim: "marks a host whose bootstrap hit an outside fault blocked, counting nothing",
      at: DAY,
      pool: {
        hosts: [bootstrappingHost("i-1", "2026-03-04T09:55", { attemptAt: "2026-03-04T09:59" })],
        control: { bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", "vault:sealed")] } },
      },
      host: "i-1",
      kind: "blocked",
      becomes: null,
      sets: { [TAG.blocked]: "vault:sealed" },
      stop: "none",
      words: ["vault:sealed"],
    },
    {
      rule: "bootstrap.passed",
      claim: "tags a host that passed every check ready, with vor:ready-at",
      at: DAY,
      pool: {
        hosts: [
          bootstrappingHost("i-1", "2026-03-04T09:55", {
            attempts: 1,
            attemptAt: "2026-03-04T09:59",
            failure: "ssh:key-refused",
          }),
        ],
        control: {
          bootstrapResults: { "i-1": [bootstrapResult("2026-03-04T09:59:30", "passed")] },
          counters: { consecutiveFailures: 2, startFailures: 0, startBackoffUntil: null },
        },
      },
      host: "i-1",
      kind: "ready",
      becomes: "ready",
      sets: { [TAG.readyAt]: iso(DAY), [TAG.since]: iso(DAY) },
      removes: [TAG.attempts, TAG.attemptAt, TAG.failure, TAG.blocked],
      state: [
        { op: "clear-bootstrap-results", host: "i-1" },
        { op: "counters", consecutiveFailures: 0 },
      ],
    },
    {
      rule: "bootstrap.adopted-passed",
      claim: "tags an adopted host that passed its checks in place ready",
      at: DAY,
      pool: {
        hosts: [adopted("i-1", { attemptAt: "2026-03-04T09:59" })],
        control: {
          bootstrapResults: { "i-1": [bootstrapResult("2026-03-04T09:59:30", "passed")] },
        },
      },
      host: "i-1",
      kind: "ready",
      becomes: "ready",
      sets: { [TAG.readyAt]: iso(DAY) },
    },
    {
      rule: "bootstrap.unblocked",
      claim: "ends a block when another host of the pool passes, restarting its bootstrap timeout",
      at: DAY,
      pool: {
        hosts: [
          bootstrappingHost("i-1", "2026-03-04T09:40", {
            attemptAt: "2026-03-04T09:59",
            blocked: "vault:sealed",
          }),
          bootstrappingHost("i-2", "2026-03-04T09:55", { attemptAt: "2026-03-04T09:59" }),
        ],
        control: {
          bootstrapResults: { "i-2": [bootstrapResult("2026-03-04T09:59:30", "passed")] },
          marks: { blindSince: null, blockedSince: iso("2026-03-04T09:41"), signalDownSince: {} },
        },
      },
      host: "i-1",
      kind: "mark",
      becomes: "bootstrapping",
      sets: { [TAG.since]: iso(DAY) },
      removes: [TAG.blocked],
      stop: "none",
    },
  ])("$rule $claim", (rule) => {
    checkRuleCase(rule);
  });

  it.each<[number, string, "bootstrap.step" | "bootstrap.backoff"]>([
    [0, "2026-03-04T09:59:30", "bootstrap.backoff"],
    [0, "2026-03-04T09:59", "bootstrap.step"],
    [1, "2026-03-04T09:59:30", "bootstrap.backoff"],
    [1, "2026-03-04T09:59", "bootstrap.step"],
    [2, "2026-03-04T09:59", "bootstrap.backoff"],
    [2, "2026-03-04T09:58", "bootstrap.step"],
    [3, "2026-03-04T09:57", "bootstrap.backoff"],
    [3, "2026-03-04T09:56", "bootstrap.step"],
  ])(
    "with %i attempts and the last at %s, the next attempt is %s (1, 2, 4 ticks)",
    (attempts, attemptAt, rule) => {
      const result = planAt(
        DAY,
        { hosts: [bootstrappingHost("i-1", "2026-03-04T09:50", { attempts, attemptAt })] },
        ["pools.compute.maxBootstrapAttempts", 5],
      );

      expect(decisionFor(result, "i-1").rule).toBe(rule);
    },
  );

  it.each<[string, string, string]>([
    ["ssh:unreachable", "2026-03-04T09:58", "bootstrap.booting"],
    ["ssh:timeout", "2026-03-04T09:58", "bootstrap.booting"],
    ["ssh:host-keys-pending", "2026-03-04T09:58", "bootstrap.booting"],
    ["ssh:host-keys-pending", "2026-03-04T09:55", "bootstrap.failed"],
    [`playpen:${PLAYPEN}:not-mounted`, "2026-03-04T09:58", "bootstrap.booting"],
    [`playpen:${PLAYPEN}:missing`, "2026-03-04T09:58", "bootstrap.booting"],
    [`playpen:${PLAYPEN}:missing`, "2026-03-04T09:55", "bootstrap.failed"],
    [`playpen:${PLAYPEN}:marker`, "2026-03-04T09:58", "bootstrap.failed"],
    ["ssh:unreachable", "2026-03-04T09:55", "bootstrap.failed"],
    ["ssh:key-refused", "2026-03-04T09:58", "bootstrap.failed"],
  ])("%s on a host launched at %s is %s (bootGrace 5m)", (code, launched, rule) => {
    const result = planAt(DAY, {
      hosts: [bootstrappingHost("i-1", launched, { attemptAt: "2026-03-04T09:59" })],
      control: { bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", code)] } },
    });

    expect(decisionFor(result, "i-1").rule).toBe(rule);
  });

  it.each(["vault:sealed", "vault:denied", "vault:unreachable", "consul:unreachable"])(
    "bootstrap.blocked: %s is an outside fault",
    (code) => {
      const result = planAt(DAY, {
        hosts: [bootstrappingHost("i-1", "2026-03-04T09:50", { attemptAt: "2026-03-04T09:59" })],
        control: { bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", code)] } },
      });

      expectDecision(decisionFor(result, "i-1"), {
        kind: "blocked",
        rule: "bootstrap.blocked",
        sets: { [TAG.blocked]: code },
      });
    },
  );

  it("counts only results at or after the host's vor:attempt-at", () => {
    const result = planAt(DAY, {
      hosts: [bootstrappingHost("i-1", "2026-03-04T09:50", { attemptAt: "2026-03-04T09:59" })],
      control: {
        bootstrapResults: { "i-1": [failedAt("2026-03-04T09:58:30", "ssh:key-refused")] },
      },
    });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "bootstrap",
      rule: "bootstrap.step",
      sets: { [TAG.attemptAt]: iso(DAY) },
    });
  });

  it("bootstrap.passed registers the host in Consul when Consul is configured", () => {
    const result = planAt(
      DAY,
      {
        hosts: [bootstrappingHost("i-1", "2026-03-04T09:55", { attemptAt: "2026-03-04T09:59" })],
        control: {
          bootstrapResults: { "i-1": [bootstrapResult("2026-03-04T09:59:30", "passed")] },
        },
      },
      [
        "consul",
        {
          address: "https://consul.internal:8501",
          token: { fromSsm: "/vor-power/consul" },
          service: "vor-compute",
        },
      ],
    );

    expect(decisionFor(result, "i-1").effects).toContainEqual({
      type: "registry",
      host: "i-1",
      action: "register",
    });
  });
});

describe("plan: playpen failures and the shared storage", () => {
  const failing = (id: string) =>
    bootstrappingHost(id, "2026-03-04T09:50", { attemptAt: "2026-03-04T09:59" });

  it("bootstrap.blocked: the same playpen failing on another host of the pool is the shared storage's", () => {
    const result = planAt(DAY, {
      hosts: [failing("i-1"), failing("i-2")],
      control: {
        bootstrapResults: {
          "i-1": [failedAt("2026-03-04T09:59:30", MARKER, PLAYPEN)],
          "i-2": [failedAt("2026-03-04T09:59:20", MARKER, PLAYPEN)],
        },
      },
    });

    for (const id of ["i-1", "i-2"]) {
      expectDecision(decisionFor(result, id), {
        kind: "blocked",
        rule: "bootstrap.blocked",
        sets: { [TAG.blocked]: MARKER },
        stop: "none",
        words: ["another host"],
      });
    }
  });

  it("bootstrap.failed: a playpen failing where a reference check passed on a ready host is the host's", () => {
    const result = planAt(DAY, {
      hosts: [failing("i-1"), readyHost("i-2", { idleSince: "2026-03-04T09:00" })],
      control: {
        bootstrapResults: {
          "i-1": [failedAt("2026-03-04T09:59:30", MARKER, PLAYPEN)],
          "i-2": [
            bootstrapResult("2026-03-04T09:59:40", "passed", "ok", {
              playpen: PLAYPEN,
              reference: true,
            }),
          ],
        },
      },
    });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "mark",
      rule: "bootstrap.failed",
      sets: { [TAG.attempts]: "1", [TAG.failure]: MARKER },
    });
  });

  it("bootstrap.blocked: with nothing to compare, blocks the host and re-runs the check on a ready host as a reference", () => {
    const result = planAt(DAY, {
      hosts: [failing("i-1"), readyHost("i-2", { idleSince: "2026-03-04T09:00" })],
      control: { bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", MARKER, PLAYPEN)] } },
    });

    const decision = decisionFor(result, "i-1");
    expectDecision(decision, {
      kind: "blocked",
      rule: "bootstrap.blocked",
      sets: { [TAG.blocked]: MARKER },
      stop: "none",
      words: ["i-2", "reference"],
    });
    expect(tagsOf(decision)).not.toHaveProperty(TAG.attempts);
    expect(referenceEffects(decision.effects)).toEqual([
      { type: "bootstrap", host: "i-2", reference: true },
    ]);
  });

  it("bootstrap.blocked: with no other host at all, blocks the host without a reference", () => {
    const result = planAt(DAY, {
      hosts: [failing("i-1")],
      control: { bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", MARKER, PLAYPEN)] } },
    });

    const decision = decisionFor(result, "i-1");
    expectDecision(decision, {
      kind: "blocked",
      rule: "bootstrap.blocked",
      sets: { [TAG.blocked]: MARKER },
    });
    expect(referenceEffects(decision.effects)).toEqual([]);
  });

  it("bootstrap.blocked: a failure on another host older than bootstrapTimeout is no comparison", () => {
    const result = planAt(DAY, {
      hosts: [failing("i-1"), offHost("i-2"), readyHost("i-3", { idleSince: "2026-03-04T09:00" })],
      control: {
        bootstrapResults: {
          "i-1": [failedAt("2026-03-04T09:59:30", MARKER, PLAYPEN)],
          "i-2": [failedAt("2026-03-04T09:40", MARKER, PLAYPEN)],
        },
      },
    });

    const decision = decisionFor(result, "i-1");
    expect(decision.rule).toBe("bootstrap.blocked");
    expect(referenceEffects(decision.effects)).toEqual([
      { type: "bootstrap", host: "i-3", reference: true },
    ]);
  });
});

const tagsOf = (decision: ReturnType<typeof decisionFor>) =>
  Object.assign(
    {},
    ...decision.effects.flatMap((e) => (e.type === "tags" ? [e.set] : [])),
  ) as Record<string, string>;

describe("plan: quarantine", () => {
  it.each<RuleCase>([
    {
      rule: "quarantine.attempts",
      claim: "stops a host after maxBootstrapAttempts host-caused failures, with its failure code",
      at: DAY,
      pool: {
        hosts: [
          bootstrappingHost("i-1", "2026-03-04T09:50", {
            attempts: 2,
            attemptAt: "2026-03-04T09:59",
          }),
        ],
        control: {
          bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", "ssh:key-refused")] },
        },
      },
      host: "i-1",
      kind: "quarantine",
      becomes: "stopping",
      sets: { [TAG.failure]: "ssh:key-refused" },
      stop: { recheckBusy: false, cause: "quarantine" },
      state: [{ op: "revoke-claim", host: "i-1" }],
      words: ["attempt 3 of 3"],
    },
    {
      rule: "quarantine.timeout",
      claim: "stops a host still bootstrapping bootstrapTimeout after it started",
      at: DAY,
      pool: {
        hosts: [bootstrappingHost("i-1", "2026-03-04T09:45", { attemptAt: "2026-03-04T09:59" })],
      },
      host: "i-1",
      kind: "quarantine",
      becomes: "stopping",
      stop: { recheckBusy: false, cause: "quarantine" },
      state: [{ op: "revoke-claim", host: "i-1" }],
      words: ["bootstrapTimeout 15m"],
    },
    {
      rule: "quarantine.attempts",
      claim: "stops an adopted host that fails its checks and is idle",
      at: DAY,
      pool: {
        hosts: [adopted("i-1", { attempts: 2, attemptAt: "2026-03-04T09:59" })],
        control: {
          bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", "ssh:key-refused")] },
        },
      },
      host: "i-1",
      kind: "quarantine",
      becomes: "stopping",
      stop: { recheckBusy: true, cause: "quarantine" },
    },
    {
      rule: "quarantine.adopted-busy",
      claim: "only reports an adopted busy host that fails its checks",
      at: DAY,
      pool: {
        hosts: [adopted("i-1", { attempts: 2, attemptAt: "2026-03-04T09:59" })],
        signals: okSignals({ runs: [{ id: "r-1", state: "running", hostIds: ["i-1"] }] }),
        control: {
          bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", "ssh:key-refused")] },
        },
      },
      host: "i-1",
      kind: "skip",
      becomes: null,
      sets: { [TAG.failure]: "ssh:key-refused" },
      stop: "none",
      words: ["r-1"],
    },
    {
      rule: "quarantine.adopted-busy",
      claim: "only reports an adopted host that fails its checks while a busy source is down",
      at: DAY,
      pool: {
        hosts: [adopted("i-1", { attempts: 2, attemptAt: "2026-03-04T09:59" })],
        signals: { ...okSignals(), rabbitmq: { status: "failed", why: "timeout" } },
        control: {
          bootstrapResults: { "i-1": [failedAt("2026-03-04T09:59:30", "ssh:key-refused")] },
        },
      },
      host: "i-1",
      kind: "skip",
      stop: "none",
    },
    {
      rule: "quarantine.failed",
      claim: "tags a quarantined host failed once it stopped, counts it and alerts",
      at: DAY,
      pool: {
        hosts: [
          host("i-1", "stopped", {
            lifecycle: "stopping",
            stopCause: "quarantine",
            since: iso("2026-03-04T09:59"),
            failure: "ssh:key-refused",
          }),
          offHost("i-2"),
        ],
      },
      host: "i-1",
      kind: "quarantine",
      becomes: "failed",
      removes: [TAG.stopCause],
      alerts: ["failed:i-1"],
      state: [{ op: "counters", consecutiveFailures: 1 }],
      words: ["ssh:key-refused"],
    },
  ])("$rule $claim", (rule) => {
    checkRuleCase(rule);
  });

  it("quarantine.timeout waits for a host bootstrapping 14m", () => {
    const result = planAt(DAY, {
      hosts: [bootstrappingHost("i-1", "2026-03-04T09:46", { attemptAt: "2026-03-04T09:59" })],
    });

    expect(decisionFor(result, "i-1").rule).toBe("bootstrap.step");
  });

  it("quarantine.timeout spares a blocked host: the block, not the host, holds it", () => {
    const result = planAt(DAY, {
      hosts: [
        bootstrappingHost("i-1", "2026-03-04T09:40", {
          attemptAt: "2026-03-04T09:59",
          blocked: "vault:sealed",
        }),
      ],
      control: {
        marks: { blindSince: null, blockedSince: iso("2026-03-04T09:41"), signalDownSince: {} },
      },
    });

    expect(decisionFor(result, "i-1").rule).toBe("bootstrap.step");
    expect(stopsIn(result)).toEqual([]);
  });
});

describe("plan: blocks and pool protection", () => {
  const blocked = (id: string) =>
    bootstrappingHost(id, "2026-03-04T09:20", {
      attemptAt: "2026-03-04T09:59",
      blocked: "vault:sealed",
    });
  const blockedSince = (when: string) => ({
    marks: { blindSince: null, blockedSince: iso(when), signalDownSince: {} },
  });

  it.each<RuleCase>([
    {
      rule: "blocked.since",
      claim: "records when the pool's first block began",
      at: DAY,
      pool: { hosts: [blocked("i-1")] },
      kind: "mark",
      state: [{ op: "mark", name: "blockedSince", value: iso(DAY) }],
      words: ["vault:sealed"],
    },
    {
      rule: "blocked.ended",
      claim: "clears the block mark once no host is blocked",
      at: DAY,
      pool: { hosts: [readyHost("i-1")], control: blockedSince("2026-03-04T09:30") },
      kind: "mark",
      state: [{ op: "mark", name: "blockedSince", value: null }],
    },
    {
      rule: "unprotect.cooldown",
      claim:
        "lifts a block's protection after protectionCooldown when its blocked hosts were stopped",
      at: DAY,
      pool: {
        hosts: [readyHost("i-1"), offHost("i-2")],
        control: {
          ...blockedSince("2026-03-04T08:40"),
          protection: { since: iso("2026-03-04T08:50"), reason: "blocked", cause: "blocked" },
        },
      },
      kind: "unprotect",
      state: [{ op: "unprotect" }, { op: "mark", name: "blockedSince", value: null }],
    },
    {
      rule: "protect.blocked",
      claim: "protects a pool blocked for blockedTimeout and alerts",
      at: DAY,
      pool: { hosts: [blocked("i-1"), blocked("i-2")], control: blockedSince("2026-03-04T09:30") },
      kind: "protect",
      alerts: ["protected"],
      state: [{ op: "protect", cause: "blocked" }],
      words: ["vault:sealed", "blockedTimeout 30m"],
    },
    {
      rule: "blocked.stop",
      claim: "stops the blocked hosts but the probe after blockedTimeout, counting nothing",
      at: DAY,
      pool: { hosts: [blocked("i-1"), blocked("i-2")], control: blockedSince("2026-03-04T09:30") },
      host: "i-2",
      kind: "stop",
      becomes: "stopping",
      stop: { recheckBusy: false, cause: "blocked" },
      state: [{ op: "revoke-claim", host: "i-2" }],
      words: ["i-1"],
    },
    {
      rule: "blocked.adopted",
      claim: "only reports a blocked adopted host after blockedTimeout",
      at: DAY,
      pool: {
        hosts: [adopted("i-1", { attemptAt: "2026-03-04T09:59", blocked: "vault:sealed" })],
        control: blockedSince("2026-03-04T09:30"),
      },
      host: "i-1",
      kind: "skip",
      effectTypes: [],
    },
    {
      rule: "protect.failures",
      claim: "protects the pool after maxConsecutiveFailures quarantined hosts in a row",
      at: DAY,
      pool: {
        hosts: [
          host("i-1", "stopped", {
            lifecycle: "stopping",
            stopCause: "quarantine",
            since: iso("2026-03-04T09:59"),
          }),
          offHost("i-2"),
        ],
        control: {
          counters: { consecutiveFailures: 2, startFailures: 0, startBackoffUntil: null },
        },
      },
      kind: "protect",
      alerts: ["protected"],
      state: [{ op: "protect", cause: "failures" }],
      words: ["3 hosts failed in a row"],
      starts: [],
    },
    {
      rule: "unprotect.cooldown",
      claim: "lifts a failures protection after protectionCooldown, and starts follow",
      at: DAY,
      pool: {
        hosts: [offHost("i-1")],
        control: {
          protection: {
            since: iso("2026-03-04T09:00"),
            reason: "3 hosts failed in a row",
            cause: "failures",
          },
          counters: { consecutiveFailures: 3, startFailures: 0, startBackoffUntil: null },
        },
      },
      kind: "unprotect",
      state: [{ op: "unprotect" }, { op: "counters", consecutiveFailures: 0 }],
      words: ["1h"],
      starts: ["i-1"],
    },
  ])("$rule $claim", (rule) => {
    checkRuleCase(rule);
  });

  it("blocked.stop keeps the probe running and bootstrapping while hosts are wanted", () => {
    const result = planAt(DAY, {
      hosts: [blocked("i-1"), blocked("i-2")],
      control: blockedSince("2026-03-04T09:30"),
    });

    expect(stopsIn(result)).toEqual(["i-2"]);
    expect(["bootstrap.step", "bootstrap.backoff"]).toContain(decisionFor(result, "i-1").rule);
  });

  it("blocked.stop stops the probe too when desired is 0", () => {
    const result = planAt(NIGHT, {
      hosts: [blocked("i-1"), blocked("i-2")],
      control: blockedSince("2026-03-04T20:29"),
    });

    expect(stopsIn(result)).toEqual(["i-1", "i-2"]);
  });

  it("protect.blocked waits blockedTimeout: a pool blocked 29m is not protected", () => {
    const result = planAt(DAY, {
      hosts: [blocked("i-1"), blocked("i-2")],
      control: blockedSince("2026-03-04T09:31"),
    });

    expect(result.decisions.filter((d) => d.kind === "protect")).toEqual([]);
    expect(stopsIn(result)).toEqual([]);
  });

  it("unprotect.cooldown lifts a block's protection after protectionCooldown, stops the probe still blocked and starts another host as the next probe", () => {
    const result = planAt(DAY, {
      hosts: [blocked("i-1"), offHost("i-2")],
      control: {
        ...blockedSince("2026-03-04T08:30"),
        protection: { since: iso("2026-03-04T09:00"), reason: "blocked", cause: "blocked" },
      },
    });

    expectDecision(poolDecisionWith(result, "unprotect.cooldown"), {
      kind: "unprotect",
      rule: "unprotect.cooldown",
      state: [{ op: "unprotect" }],
    });
    expectDecision(decisionFor(result, "i-1"), {
      kind: "stop",
      rule: "blocked.stop",
      stop: { recheckBusy: false, cause: "blocked" },
    });
    expect(startsIn(result)).toEqual(["i-2"]);
  });

  it("bootstrap.passed lifts a block's protection as soon as any host passes", () => {
    const result = planAt(DAY, {
      hosts: [
        blocked("i-1"),
        bootstrappingHost("i-2", "2026-03-04T09:55", { attemptAt: "2026-03-04T09:59" }),
      ],
      control: {
        ...blockedSince("2026-03-04T09:20"),
        protection: { since: iso("2026-03-04T09:50"), reason: "blocked", cause: "blocked" },
        bootstrapResults: { "i-2": [bootstrapResult("2026-03-04T09:59:30", "passed")] },
      },
    });

    expectDecision(decisionFor(result, "i-2"), {
      kind: "ready",
      rule: "bootstrap.passed",
      state: [{ op: "unprotect" }],
    });
  });

  it("keeps a block's protection once its blocked hosts were stopped, none having passed, until protectionCooldown", () => {
    // blocked.stop stopped the pool's blocked hosts (the probe too, desired being 0): no host is
    // blocked now, yet the fault was never seen to end. Lifting the protection here would start
    // the next demand's hosts into the same fault.
    const result = planAt(DAY, {
      hosts: [offHost("i-2")],
      control: {
        ...blockedSince("2026-03-04T09:20"),
        protection: { since: iso("2026-03-04T09:30"), reason: "blocked", cause: "blocked" },
      },
    });

    expect(result.decisions.filter((d) => d.kind === "unprotect")).toEqual([]);
    expect(result.decisions.filter((d) => d.rule === "blocked.ended")).toEqual([]);
    expect(startsIn(result)).toEqual([]);
    expect(poolDecisionWith(result, "freeze.protected").kind).toBe("freeze");
  });

  it("bootstrap.passed lifts a block's protection when the probe itself passes, no other host blocked", () => {
    const result = planAt(DAY, {
      hosts: [blocked("i-1"), offHost("i-2")],
      control: {
        ...blockedSince("2026-03-04T09:20"),
        protection: { since: iso("2026-03-04T09:50"), reason: "blocked", cause: "blocked" },
        bootstrapResults: { "i-1": [bootstrapResult("2026-03-04T09:59:30", "passed")] },
      },
    });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "ready",
      rule: "bootstrap.passed",
      state: [{ op: "unprotect" }, { op: "mark", name: "blockedSince", value: null }],
    });
  });

  it("freeze.protected: a protected pool starts nothing, even for its floor", () => {
    const result = planAt(DAY, {
      hosts: [offHost("i-1")],
      control: {
        protection: { since: iso("2026-03-04T09:30"), reason: "blocked", cause: "blocked" },
      },
    });

    expect(startsIn(result)).toEqual([]);
    expect(poolDecisionWith(result, "freeze.protected").kind).toBe("freeze");
  });
});

describe("plan: stale bootstrap results", () => {
  it("never makes a host ready from a result recorded before its current bootstrap began", () => {
    const result = planAt(DAY, {
      hosts: [bootstrappingHost("i-1", "2026-03-04T09:58")],
      control: { bootstrapResults: { "i-1": [bootstrapResult("2026-03-04T09:40", "passed")] } },
    });

    expect(decisionFor(result, "i-1")).toMatchObject({ kind: "bootstrap", rule: "bootstrap.step" });
  });

  it("clears a host's bootstrap results when it stops, and again when it runs after a start", () => {
    const stop = planAt(DAY, {
      hosts: [bootstrappingHost("i-1", "2026-03-04T09:58")],
      control: {
        bootstrapResults: { "i-1": [bootstrapResult("2026-03-04T09:59", "passed")] },
        stopRequests: {
          "i-1": { by: "ops", why: "maintenance", force: false, at: iso("2026-03-04T09:59") },
        },
      },
    });
    const running = planAt(DAY, {
      hosts: [host("i-1", "running", { lifecycle: "starting", since: iso("2026-03-04T09:58") })],
      control: { bootstrapResults: { "i-1": [bootstrapResult("2026-03-04T09:00", "passed")] } },
    });

    for (const plan of [stop, running]) {
      expect(decisionFor(plan, "i-1").effects).toContainEqual({
        type: "state",
        change: { op: "clear-bootstrap-results", host: "i-1" },
      });
    }
  });
});

describe("plan: a ready decision that did not finish", () => {
  const CONSUL: [string, unknown] = [
    "consul",
    {
      address: "https://consul.internal:8501",
      token: { fromSsm: "/vor-power/consul" },
      service: "vor-compute",
    },
  ];
  // The ready decision at 09:00 tagged the host, then its registration failed: its passing
  // results were never cleared.
  const leftover = { "i-1": [bootstrapResult("2026-03-04T08:59:30", "passed")] };

  it("ready.register: registers a ready host again while its own passing results remain", () => {
    const result = planAt(
      DAY,
      {
        hosts: [readyHost("i-1", { readyAt: "2026-03-04T09:00" })],
        control: { bootstrapResults: leftover },
      },
      CONSUL,
    );

    expectDecision(decisionFor(result, "i-1"), {
      kind: "ready",
      rule: "ready.register",
      state: [{ op: "clear-bootstrap-results", host: "i-1" }],
    });
    expect(decisionFor(result, "i-1").effects).toContainEqual({
      type: "registry",
      host: "i-1",
      action: "register",
    });
  });

  it("ready.register without Consul only clears the results", () => {
    const result = planAt(DAY, {
      hosts: [readyHost("i-1", { readyAt: "2026-03-04T09:00" })],
      control: { bootstrapResults: leftover },
    });

    expect(decisionFor(result, "i-1").effects).toEqual([
      { type: "state", change: { op: "clear-bootstrap-results", host: "i-1" } },
    ]);
  });

  it("a reference check's results on a ready host are no unfinished ready decision", () => {
    const reference = {
      "i-1": [bootstrapResult("2026-03-04T09:59:30", "passed", "ok", { reference: true })],
    };
    const result = planAt(
      DAY,
      {
        hosts: [readyHost("i-1", { readyAt: "2026-03-04T09:00" })],
        control: { bootstrapResults: reference },
      },
      CONSUL,
    );

    expect(decisionFor(result, "i-1").rule).toBe("idle.since");
  });
});
