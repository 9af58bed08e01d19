import { describe, expect, it } from "vitest";
import { TAG, type CloudState, type StopCause } from "../../../shared/plan/index.ts";
import {
  alertKeysOf,
  decisionFor,
  expectDecision,
  iso,
  offHost,
  planAt,
  readyHost,
  startsIn,
  stateChangesOf,
  summaryOf,
  tagsSetBy,
  type Expectation,
  type HostInput,
  type PoolInput,
} from "../../support/plan-fixtures.ts";
import { host, okSignals } from "../../support/snapshot-builder.ts";

// The lifecycle table of DESIGN.md ("Where state lives"): every pair of lifecycle tag and cloud
// state, with the stop cause where it matters, and the start rules (timeout, grace, failure,
// backoff). Planned at 21:00 on a Wednesday, when no window or run schedule holds a floor.

const NIGHT = "2026-03-04T21:00";
const DAY = "2026-03-04T10:00";

type Tagged =
  | "absent"
  | "off"
  | "starting"
  | "bootstrapping"
  | "adopted"
  | "ready"
  | "draining"
  | "stopping"
  | "failed";

interface Pair {
  lifecycle: Tagged;
  cloud: CloudState;
  /** more about the host: its stop cause, and whether it is busy */
  detail?: string;
  stopCause?: StopCause;
  signals?: PoolInput["signals"];
  expected: Expectation;
}

const RUN_ON_I1 = okSignals({ runs: [{ id: "r-1", state: "running", hostIds: ["i-1"] }] });
const RABBITMQ_DOWN: PoolInput["signals"] = {
  ...okSignals(),
  rabbitmq: { status: "failed", why: "connection refused" },
};

/** The host i-1 with a lifecycle tag set 5 minutes ago (and what its lifecycle implies). */
function hostOf(pair: Pair): HostInput {
  const since = iso("2026-03-04T20:55");
  const launched = pair.cloud === "running" ? iso("2026-03-04T20:55") : undefined;
  switch (pair.lifecycle) {
    case "absent":
      return host("i-1", pair.cloud, {}, launched);
    case "draining":
      return host(
        "i-1",
        pair.cloud,
        {
          lifecycle: "draining",
          since: iso("2026-03-04T20:59:30"),
          drainConfirmed: iso("2026-03-04T20:59:30"),
          readyAt: iso("2026-03-04T19:00"),
        },
        launched,
      );
    case "ready":
      return host("i-1", pair.cloud, { lifecycle: "ready", since, readyAt: since }, launched);
    case "stopping":
      return host(
        "i-1",
        pair.cloud,
        { lifecycle: "stopping", since, ...(pair.stopCause ? { stopCause: pair.stopCause } : {}) },
        launched,
      );
    case "failed":
      return host(
        "i-1",
        pair.cloud,
        { lifecycle: "failed", since, failure: "ssh:key-refused" },
        launched,
      );
    default:
      return host("i-1", pair.cloud, { lifecycle: pair.lifecycle, since }, launched);
  }
}

const wait: Expectation = { kind: "none", rule: "lifecycle.wait", effectTypes: [] };

const pairs: Pair[] = [
  // absent (never managed)
  {
    lifecycle: "absent",
    cloud: "pending",
    expected: { kind: "adopt", rule: "lifecycle.adopt", becomes: "adopted", alerts: [] },
  },
  {
    lifecycle: "absent",
    cloud: "running",
    expected: { kind: "adopt", rule: "lifecycle.adopt", becomes: "adopted", alerts: [] },
  },
  { lifecycle: "absent", cloud: "stopping", expected: wait },
  {
    lifecycle: "absent",
    cloud: "stopped",
    expected: { kind: "mark", rule: "lifecycle.mark-off", becomes: "off", stop: "none" },
  },
  // off
  {
    lifecycle: "off",
    cloud: "pending",
    expected: {
      kind: "adopt",
      rule: "lifecycle.adopt",
      becomes: "adopted",
      alerts: ["adopted:i-1"],
    },
  },
  {
    lifecycle: "off",
    cloud: "running",
    expected: {
      kind: "adopt",
      rule: "lifecycle.adopt",
      becomes: "adopted",
      alerts: ["adopted:i-1"],
    },
  },
  { lifecycle: "off", cloud: "stopping", expected: wait },
  {
    lifecycle: "off",
    cloud: "stopped",
    expected: { kind: "none", rule: "host.off", effectTypes: [] },
  },
  // adopted
  { lifecycle: "adopted", cloud: "pending", expected: wait },
  {
    lifecycle: "adopted",
    cloud: "running",
    expected: { kind: "bootstrap", rule: "bootstrap.step", becomes: null, words: ["in place"] },
  },
  { lifecycle: "adopted", cloud: "stopping", expected: wait },
  {
    lifecycle: "adopted",
    cloud: "stopped",
    expected: {
      kind: "mark",
      rule: expect.stringMatching(/^lifecycle\./) as string,
      becomes: "off",
    },
  },
  // starting (vor:since 5 minutes ago: inside startTimeout 10m, past startGrace 2m)
  { lifecycle: "starting", cloud: "pending", expected: wait },
  {
    lifecycle: "starting",
    cloud: "running",
    expected: {
      kind: "mark",
      rule: "start.running",
      becomes: "bootstrapping",
      // the bootstrap begins in the same decision: its attempt is now, and the step is sent
      sets: { [TAG.since]: iso(NIGHT), [TAG.attemptAt]: iso(NIGHT) },
      removes: [TAG.failure, TAG.blocked],
      effectTypes: ["tags", "state", "state", "bootstrap"],
    },
  },
  {
    lifecycle: "starting",
    cloud: "stopping",
    expected: { kind: "mark", rule: "start.failed", becomes: "off", alerts: ["start-failed"] },
  },
  {
    lifecycle: "starting",
    cloud: "stopped",
    expected: { kind: "mark", rule: "start.failed", becomes: "off", alerts: ["start-failed"] },
  },
  // bootstrapping
  { lifecycle: "bootstrapping", cloud: "pending", expected: wait },
  {
    lifecycle: "bootstrapping",
    cloud: "running",
    expected: { kind: "bootstrap", rule: "bootstrap.step", becomes: null },
  },
  { lifecycle: "bootstrapping", cloud: "stopping", expected: wait },
  {
    lifecycle: "bootstrapping",
    cloud: "stopped",
    expected: {
      kind: "mark",
      rule: "lifecycle.stopped-outside",
      becomes: "off",
      alerts: ["stopped-outside:i-1"],
      state: [{ op: "revoke-claim", host: "i-1" }],
    },
  },
  // ready
  {
    lifecycle: "ready",
    cloud: "pending",
    expected: {
      kind: "adopt",
      rule: "lifecycle.restarted-outside",
      becomes: "adopted",
      alerts: ["restarted-outside:i-1"],
    },
  },
  {
    lifecycle: "ready",
    cloud: "running",
    expected: { kind: "mark", rule: "idle.since", becomes: null },
  },
  { lifecycle: "ready", cloud: "stopping", expected: wait },
  {
    lifecycle: "ready",
    cloud: "stopped",
    expected: {
      kind: "mark",
      rule: "lifecycle.stopped-outside",
      becomes: "off",
      alerts: ["stopped-outside:i-1"],
    },
  },
  // draining (confirmed 30s ago)
  {
    lifecycle: "draining",
    cloud: "pending",
    expected: {
      kind: "adopt",
      rule: "lifecycle.restarted-outside",
      becomes: "adopted",
      alerts: ["restarted-outside:i-1"],
    },
  },
  {
    lifecycle: "draining",
    cloud: "running",
    expected: { kind: "none", rule: "scale-in.drain-grace", effectTypes: [] },
  },
  { lifecycle: "draining", cloud: "stopping", expected: wait },
  {
    lifecycle: "draining",
    cloud: "stopped",
    expected: {
      kind: "mark",
      rule: "lifecycle.stopped-outside",
      becomes: "off",
      alerts: ["stopped-outside:i-1"],
      removes: [TAG.drainConfirmed],
    },
  },
  // stopping: a stop that did not happen
  {
    lifecycle: "stopping",
    cloud: "running",
    stopCause: "scale-in",
    detail: "busy",
    signals: RUN_ON_I1,
    expected: {
      kind: "undrain",
      rule: "lifecycle.stop-not-done",
      becomes: "ready",
      alerts: ["stop-not-done:i-1"],
      removes: [TAG.stopCause],
      stop: "none",
    },
  },
  {
    lifecycle: "stopping",
    cloud: "pending",
    stopCause: "ops",
    detail: "busy-unknown",
    signals: RABBITMQ_DOWN,
    expected: { kind: "undrain", rule: "lifecycle.stop-not-done", becomes: "ready", stop: "none" },
  },
  {
    lifecycle: "stopping",
    cloud: "running",
    stopCause: "scale-in",
    detail: "idle",
    expected: {
      kind: "stop",
      rule: "lifecycle.stop-again",
      becomes: null,
      stop: { recheckBusy: true },
    },
  },
  {
    lifecycle: "stopping",
    cloud: "running",
    stopCause: "ops-force",
    detail: "busy",
    signals: RUN_ON_I1,
    expected: { kind: "stop", rule: "lifecycle.stop-again", stop: { recheckBusy: false } },
  },
  {
    lifecycle: "stopping",
    cloud: "running",
    stopCause: "quarantine",
    expected: { kind: "stop", rule: "lifecycle.stop-again", stop: { recheckBusy: false } },
  },
  {
    lifecycle: "stopping",
    cloud: "pending",
    stopCause: "start-timeout",
    expected: { kind: "stop", rule: "lifecycle.stop-again", stop: { recheckBusy: false } },
  },
  {
    lifecycle: "stopping",
    cloud: "running",
    stopCause: "blocked",
    detail: "busy-unknown pool",
    signals: RABBITMQ_DOWN,
    expected: { kind: "stop", rule: "lifecycle.stop-again", stop: { recheckBusy: false } },
  },
  { lifecycle: "stopping", cloud: "stopping", stopCause: "scale-in", expected: wait },
  {
    lifecycle: "stopping",
    cloud: "stopped",
    stopCause: "scale-in",
    expected: { kind: "mark", rule: "lifecycle.stopped", becomes: "off", removes: [TAG.stopCause] },
  },
  {
    lifecycle: "stopping",
    cloud: "stopped",
    stopCause: "ops-force",
    expected: { kind: "mark", rule: "lifecycle.stopped", becomes: "off" },
  },
  {
    lifecycle: "stopping",
    cloud: "stopped",
    stopCause: "start-timeout",
    expected: { kind: "mark", rule: "lifecycle.stopped", becomes: "off" },
  },
  {
    lifecycle: "stopping",
    cloud: "stopped",
    stopCause: "blocked",
    expected: { kind: "mark", rule: "lifecycle.stopped", becomes: "off" },
  },
  {
    lifecycle: "stopping",
    cloud: "stopped",
    stopCause: "quarantine",
    expected: {
      kind: "quarantine",
      rule: "quarantine.failed",
      becomes: "failed",
      alerts: ["failed:i-1"],
      state: [{ op: "counters", consecutiveFailures: 1 }],
    },
  },
  // failed: left alone until ops reset
  {
    lifecycle: "failed",
    cloud: "pending",
    expected: {
      kind: "alert",
      rule: "host.failed",
      becomes: null,
      stop: "none",
      alerts: ["failed-started:i-1"],
    },
  },
  {
    lifecycle: "failed",
    cloud: "running",
    expected: {
      kind: "alert",
      rule: "host.failed",
      becomes: null,
      stop: "none",
      alerts: ["failed-started:i-1"],
    },
  },
  {
    lifecycle: "failed",
    cloud: "stopping",
    expected: { kind: "skip", rule: "host.failed", effectTypes: [] },
  },
  {
    lifecycle: "failed",
    cloud: "stopped",
    expected: { kind: "skip", rule: "host.failed", effectTypes: [] },
  },
];

describe("plan: the lifecycle table", () => {
  it.each(
    pairs.map((pair) => ({
      ...pair,
      name: `${pair.lifecycle}${pair.stopCause ? ` (${pair.stopCause})` : ""} and ${pair.cloud}${pair.detail ? `, ${pair.detail}` : ""}`,
      rule:
        typeof pair.expected.rule === "string" ? pair.expected.rule : "a lifecycle.* mark to off",
    })),
  )("$name leads to one decision, $rule", (pair) => {
    const result = planAt(NIGHT, {
      hosts: [hostOf(pair)],
      ...(pair.signals ? { signals: pair.signals } : {}),
    });

    expectDecision(decisionFor(result, "i-1"), pair.expected);
  });

  it("lifecycle.adopt alerts once per episode: not again once the alert was sent", () => {
    const pool = {
      hosts: [host("i-1", "running", { lifecycle: "off", since: iso("2026-03-04T20:55") })],
    };
    const first = decisionFor(planAt(NIGHT, pool), "i-1");
    const sent = Object.fromEntries(alertKeysOf(first).map((key) => [key, iso(NIGHT)]));

    const again = planAt(NIGHT, { ...pool, control: { alertsSent: sent } });

    expect(Object.keys(sent)).toHaveLength(1);
    expectDecision(decisionFor(again, "i-1"), {
      kind: "adopt",
      rule: "lifecycle.adopt",
      becomes: "adopted",
      alerts: [],
    });
  });

  it("lifecycle.stopped clears the ops stop request of a host that stopped", () => {
    const result = planAt(NIGHT, {
      hosts: [
        host("i-1", "stopped", {
          lifecycle: "stopping",
          stopCause: "ops",
          since: iso("2026-03-04T20:58"),
        }),
      ],
      control: {
        stopRequests: {
          "i-1": { by: "ops", why: "patching", force: false, at: iso("2026-03-04T20:50") },
        },
      },
    });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "mark",
      rule: "lifecycle.stopped",
      becomes: "off",
      state: [{ op: "clear-stop-request", host: "i-1" }],
    });
  });

  it("lifecycle.stopped removes vor:blocked from a host the block stopped: off, nothing held", () => {
    const result = planAt(NIGHT, {
      hosts: [
        host("i-1", "stopped", {
          lifecycle: "stopping",
          stopCause: "blocked",
          blocked: "vault:sealed",
          since: iso("2026-03-04T20:58"),
        }),
      ],
    });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "mark",
      rule: "lifecycle.stopped",
      becomes: "off",
      removes: [TAG.stopCause, TAG.blocked],
    });
  });

  it("lifecycle.stopped writes vor:since, so restartCooldown counts from the stop", () => {
    const result = planAt(NIGHT, {
      hosts: [
        host("i-1", "stopped", {
          lifecycle: "stopping",
          stopCause: "scale-in",
          since: iso("2026-03-04T20:58"),
        }),
      ],
    });

    expect(tagsSetBy(decisionFor(result, "i-1"))[TAG.since]).toBe(iso(NIGHT));
  });
});

describe("plan: starts", () => {
  it.each<{ claim: string; since: string; cloud: CloudState; expected: Expectation }>([
    {
      claim: "stops a host still pending startTimeout after its start",
      since: "2026-03-04T20:50",
      cloud: "pending",
      expected: {
        kind: "stop",
        rule: "start.timeout",
        becomes: "stopping",
        stop: { recheckBusy: false, cause: "start-timeout" },
        words: ["10m"],
      },
    },
    {
      claim: "waits for a host pending less than startTimeout",
      since: "2026-03-04T20:51",
      cloud: "pending",
      expected: wait,
    },
  ])("start.timeout $claim", ({ since, cloud, expected }) => {
    const result = planAt(NIGHT, {
      hosts: [host("i-1", cloud, { lifecycle: "starting", since: iso(since) })],
    });

    expectDecision(decisionFor(result, "i-1"), expected);
  });

  it.each<{ claim: string; since: string; record?: string; cloud: CloudState; rule: string }>([
    {
      claim: "reads stopped 1m after its start",
      since: "2026-03-04T09:59",
      cloud: "stopped",
      rule: "start.grace",
    },
    {
      claim: "reads stopping 1m after its start",
      since: "2026-03-04T09:59",
      cloud: "stopping",
      rule: "start.grace",
    },
    {
      claim: "reads stopped 1m after the start its record holds (vor:since older)",
      since: "2026-03-04T09:50",
      record: "2026-03-04T09:59",
      cloud: "stopped",
      rule: "start.grace",
    },
    {
      claim: "reads stopped 2m (startGrace) after its start",
      since: "2026-03-04T09:58",
      cloud: "stopped",
      rule: "start.failed",
    },
  ])("a starting host that $claim: $rule", ({ since, record, cloud, rule }) => {
    const result = planAt(DAY, {
      hosts: [host("i-1", cloud, { lifecycle: "starting", since: iso(since) }), offHost("i-2")],
      control: { startRecords: record ? { "i-1": { at: iso(record), result: "ok" } } : {} },
    });

    expect(decisionFor(result, "i-1").rule).toBe(rule);
  });

  it("start.grace trusts the start record: the host counts as capacity and nothing else starts", () => {
    const result = planAt(DAY, {
      hosts: [
        host("i-1", "stopped", { lifecycle: "starting", since: iso("2026-03-04T09:59") }),
        offHost("i-2"),
      ],
      control: { startRecords: { "i-1": { at: iso("2026-03-04T09:59"), result: "ok" } } },
    });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "none",
      rule: "start.grace",
      effectTypes: [],
      words: ["startGrace 2m"],
    });
    expect(summaryOf(result).numbers).toEqual({ desired: 1, demand: 0, floor: 1, capacity: 1 });
    expect(startsIn(result)).toEqual([]);
  });

  it("start.failed marks a host whose start call failed off at once, counts it and backs off", () => {
    const result = planAt(DAY, {
      hosts: [
        host("i-1", "stopped", { lifecycle: "starting", since: iso("2026-03-04T09:59:50") }),
        offHost("i-2"),
      ],
      control: {
        startRecords: {
          "i-1": {
            at: iso("2026-03-04T09:59:50"),
            result: "failed",
            code: "capacity:insufficient",
          },
        },
      },
    });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "mark",
      rule: "start.failed",
      becomes: "off",
      sets: { [TAG.since]: iso(DAY) },
      alerts: ["start-failed"],
      state: [
        { op: "clear-start-record", host: "i-1" },
        { op: "counters", startFailures: 1, startBackoffUntil: iso("2026-03-04T10:01") },
      ],
      words: ["capacity:insufficient"],
    });
    expect(startsIn(result)).toEqual([]);
  });

  it.each<[number, string]>([
    [0, "2026-03-04T10:01"],
    [1, "2026-03-04T10:02"],
    [2, "2026-03-04T10:04"],
    [3, "2026-03-04T10:08"],
    [4, "2026-03-04T10:16"],
    [5, "2026-03-04T10:30"],
    [9, "2026-03-04T10:30"],
  ])(
    "start.failed after %i failed starts backs the pool's starts off until %s (1, 2, 4 ticks ... startBackoffMax 30m)",
    (before, until) => {
      const result = planAt(DAY, {
        hosts: [
          host("i-1", "stopped", { lifecycle: "starting", since: iso("2026-03-04T09:59:50") }),
        ],
        control: {
          startRecords: {
            "i-1": {
              at: iso("2026-03-04T09:59:50"),
              result: "failed",
              code: "capacity:insufficient",
            },
          },
          counters: { consecutiveFailures: 0, startFailures: before, startBackoffUntil: null },
        },
      });

      expect(stateChangesOf(decisionFor(result, "i-1"))).toContainEqual({
        op: "counters",
        startFailures: before + 1,
        startBackoffUntil: iso(until),
      });
    },
  );

  it("scale-out picks another off host once the backoff ends (the failed one is in restartCooldown)", () => {
    const result = planAt("2026-03-04T10:01", {
      hosts: [offHost("i-1", "2026-03-04T10:00"), offHost("i-2")],
      control: {
        counters: {
          consecutiveFailures: 0,
          startFailures: 1,
          startBackoffUntil: iso("2026-03-04T10:01"),
        },
      },
    });

    expect(startsIn(result)).toEqual(["i-2"]);
  });

  it("start.running moves a running host to bootstrapping, begins its bootstrap and ends the start backoff", () => {
    const result = planAt(DAY, {
      hosts: [host("i-1", "running", { lifecycle: "starting", since: iso("2026-03-04T09:59") })],
      control: {
        startRecords: { "i-1": { at: iso("2026-03-04T09:59"), result: "ok" } },
        counters: {
          consecutiveFailures: 0,
          startFailures: 2,
          startBackoffUntil: iso("2026-03-04T10:02"),
        },
      },
    });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "mark",
      rule: "start.running",
      becomes: "bootstrapping",
      sets: { [TAG.since]: iso(DAY) },
      state: [
        { op: "clear-start-record", host: "i-1" },
        { op: "counters", startFailures: 0, startBackoffUntil: null },
      ],
    });
    expect(decisionFor(result, "i-1").effects.at(-1)).toEqual({
      type: "bootstrap",
      host: "i-1",
      reference: false,
    });
    expect(tagsSetBy(decisionFor(result, "i-1"))[TAG.attemptAt]).toBe(iso(DAY));
  });

  it("a ready host serves work: lifecycle and cloud agree, nothing to change", () => {
    const result = planAt(DAY, { hosts: [readyHost("i-1", { idleSince: "2026-03-04T09:00" })] });

    expectDecision(decisionFor(result, "i-1"), {
      kind: "none",
      rule: "host.serving",
      effectTypes: [],
    });
  });
});
