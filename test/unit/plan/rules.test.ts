import { describe, expect, it } from "vitest";
import { TAG } from "../../../shared/plan/index.ts";
import {
  checkRuleCase,
  decisionFor,
  drainsIn,
  expectDecision,
  hostsTouchedBy,
  iso,
  offHost,
  planAt,
  planPools,
  readyHost,
  startsIn,
  stopsIn,
  summaryOf,
  type RuleCase,
} from "../../support/plan-fixtures.ts";
import { host, okSignals } from "../../support/snapshot-builder.ts";

// Scale-out, scale-in, idle marks and the pool summary: one table row per rule id, then the
// orders and bounds each rule keeps. The config builder's pool: max 8, business hours 07:00-19:00
// London (UTC in early March) with 1 host, the nightly batch at 02:00 with 4 hosts.

const DAY = "2026-03-04T10:00"; // a Wednesday, inside business hours: floor 1
const NIGHT = "2026-03-04T21:00"; // the same evening: no window, no run schedule, floor 0

const pendingRun = (id: string, hosts = 1) => ({ id, state: "pending" as const, hosts });
const runningOn = (id: string, ...hostIds: string[]) => ({
  id,
  state: "running" as const,
  hostIds,
});
const draining = (
  id: string,
  confirmed: string | undefined,
  since = confirmed ?? "2026-03-04T20:59",
) =>
  host(id, "running", {
    lifecycle: "draining",
    since: iso(since),
    readyAt: iso("2026-03-04T07:05"),
    ...(confirmed === undefined ? {} : { drainConfirmed: iso(confirmed) }),
  });

describe("plan: the pool summary", () => {
  it.each<RuleCase>([
    {
      rule: "pool.steady",
      claim: "says nothing changes when capacity equals desired",
      at: DAY,
      pool: { hosts: [readyHost("i-1", { idleSince: "2026-03-04T09:00" })] },
      kind: "none",
      numbers: { desired: 1, demand: 0, floor: 1, capacity: 1 },
      words: ["desired 1", "business-hours"],
    },
    {
      rule: "pool.scale-out",
      claim: "reports how many hosts the pool is short",
      at: DAY,
      pool: { hosts: [offHost("i-1")] },
      kind: "none",
      numbers: { desired: 1, demand: 0, floor: 1, capacity: 0 },
      words: ["1 host short", "1 starting"],
    },
    {
      rule: "pool.scale-in",
      claim: "reports how many hosts the pool has above desired",
      at: NIGHT,
      pool: { hosts: [readyHost("i-1", { idleSince: "2026-03-04T20:00" })] },
      kind: "none",
      numbers: { desired: 0, demand: 0, floor: 0, capacity: 1 },
      words: ["1 host above desired"],
    },
    {
      rule: "pool.bookkeeping",
      claim: "drops a submitted run once the midtier shows it",
      at: DAY,
      pool: {
        hosts: [readyHost("i-1", { idleSince: "2026-03-04T09:00" })],
        signals: okSignals({ runs: [pendingRun("r-1")] }),
        control: {
          submitted: [
            {
              runId: "r-1",
              hosts: 1,
              at: iso("2026-03-04T09:59"),
              expiresAt: iso("2026-03-04T10:09"),
            },
          ],
        },
      },
      kind: "mark",
      state: [{ op: "drop-submitted", runIds: ["r-1"] }],
      words: ["1 submitted run"],
    },
  ])("$rule $claim", (rule) => {
    checkRuleCase(rule);
  });

  it("pool.unknown leaves a pool the config does not know alone", () => {
    const result = planPools(DAY, { batch: { hosts: [offHost("b-1")] } });

    expect(result.decisions).toHaveLength(1);
    expectDecision(result.decisions[0] ?? expect.fail("no decision"), {
      kind: "skip",
      rule: "pool.unknown",
      effectTypes: [],
      words: ["batch", "not in the config"],
    });
  });
});

describe("plan: scale-out", () => {
  it.each<RuleCase>([
    {
      rule: "scale-out.pending",
      claim: "starts an off host for a pending run",
      at: NIGHT,
      pool: { hosts: [offHost("i-1")], signals: okSignals({ runs: [pendingRun("r-1")] }) },
      host: "i-1",
      kind: "start",
      becomes: "starting",
      sets: { [TAG.since]: iso(NIGHT) },
      removes: [TAG.attempts, TAG.failure, TAG.blocked, TAG.stopCause],
      effectTypes: ["tags", "start"],
      words: ["starting"],
      starts: ["i-1"],
    },
    {
      rule: "scale-out.floor",
      claim: "starts an off host for an active window",
      at: DAY,
      pool: { hosts: [offHost("i-1")] },
      host: "i-1",
      kind: "start",
      becomes: "starting",
      effectTypes: ["tags", "start"],
    },
    {
      rule: "scale-out.min",
      claim: "starts an off host to keep the pool at min",
      at: NIGHT,
      pool: { hosts: [offHost("i-1")] },
      config: [["pools.compute.min", 1]],
      host: "i-1",
      kind: "start",
      becomes: "starting",
      effectTypes: ["tags", "start"],
    },
    {
      rule: "scale-out.limited",
      claim: "says when fewer hosts start than wanted (maxStartsPerTick)",
      at: NIGHT,
      pool: {
        hosts: ["i-1", "i-2", "i-3", "i-4", "i-5", "i-6"].map((id) => offHost(id)),
        signals: okSignals({
          runs: ["r-1", "r-2", "r-3", "r-4", "r-5", "r-6"].map((id) => pendingRun(id)),
        }),
      },
      kind: "none",
      effectTypes: [],
      words: ["2 more hosts", "maxStartsPerTick 4"],
      starts: ["i-1", "i-2", "i-3", "i-4"],
    },
    {
      rule: "scale-out.backoff",
      claim: "holds starts while the start backoff runs",
      at: NIGHT,
      pool: {
        hosts: [offHost("i-1")],
        signals: okSignals({ runs: [pendingRun("r-1")] }),
        control: {
          counters: {
            consecutiveFailures: 0,
            startFailures: 2,
            startBackoffUntil: iso("2026-03-04T21:02"),
          },
        },
      },
      kind: "freeze",
      effectTypes: [],
      words: [iso("2026-03-04T21:02"), "2 failed starts"],
      starts: [],
    },
    {
      rule: "freeze.protected",
      claim: "starts nothing in a protected pool that wants hosts",
      at: NIGHT,
      pool: {
        hosts: [offHost("i-1")],
        signals: okSignals({ runs: [pendingRun("r-1")] }),
        control: {
          protection: {
            since: iso("2026-03-04T20:30"),
            reason: "3 hosts failed in a row",
            cause: "failures",
          },
        },
      },
      kind: "freeze",
      effectTypes: [],
      words: ["protected", "3 hosts failed in a row"],
      starts: [],
    },
    {
      rule: "scale-out.undrain",
      claim: "returns a draining host to ready before starting an off host",
      at: DAY,
      pool: {
        hosts: [readyHost("i-1"), draining("i-2", "2026-03-04T09:59:30"), offHost("i-3")],
        signals: okSignals({ runs: [runningOn("r-1", "i-1"), pendingRun("r-2")] }),
      },
      host: "i-2",
      kind: "undrain",
      becomes: "ready",
      removes: [TAG.drainConfirmed],
      stop: "none",
      starts: [],
    },
  ])("$rule $claim", (rule) => {
    checkRuleCase(rule);
  });

  it.each<[string, Parameters<typeof offHost>[], string[]]>([
    [
      "the host with the fewest attempts first",
      [
        ["i-1", "2026-03-04T08:00", 1],
        ["i-2", "2026-03-04T09:00", 0],
      ],
      ["i-2"],
    ],
    [
      "the longest-off host among equal attempts",
      [
        ["i-1", "2026-03-04T09:00"],
        ["i-2", "2026-03-04T08:00"],
      ],
      ["i-2"],
    ],
    [
      "by id among hosts off as long",
      [
        ["i-2", "2026-03-04T08:00"],
        ["i-1", "2026-03-04T08:00"],
      ],
      ["i-1"],
    ],
    [
      "fewest attempts, then longest off, then id, for several starts",
      [
        ["i-1", "2026-03-04T07:00", 2],
        ["i-2", "2026-03-04T09:00", 0],
        ["i-3", "2026-03-04T08:00", 0],
        ["i-4", "2026-03-04T08:00", 0],
      ],
      ["i-3", "i-4", "i-2"],
    ],
  ])("scale-out starts %s", (_, offHosts, expected) => {
    const runs = expected.map((_id, index) => pendingRun(`r-${index}`));

    const result = planAt(NIGHT, {
      hosts: offHosts.map((args) => offHost(...args)),
      signals: okSignals({ runs }),
    });

    expect(startsIn(result)).toEqual(expected);
  });

  it.each([
    {
      when: "4m ago, inside restartCooldown 5m",
      since: "2026-03-04T20:56",
      verb: "does not start",
    },
    { when: "5m ago, at restartCooldown 5m", since: "2026-03-04T20:55", verb: "starts" },
    { when: "an hour ago", since: "2026-03-04T20:00", verb: "starts" },
  ])("scale-out $verb a host off since $when", ({ since, verb }) => {
    const result = planAt(NIGHT, {
      hosts: [offHost("i-1", since)],
      signals: okSignals({ runs: [pendingRun("r-1")] }),
    });

    expect(startsIn(result)).toEqual(verb === "starts" ? ["i-1"] : []);
    if (verb !== "starts") {
      expectDecision(decisionFor(result, "i-1"), {
        kind: "none",
        rule: "host.off",
        words: ["restartCooldown", iso("2026-03-04T21:01")],
      });
    }
  });

  it.each<[number, number, number]>([
    [1, 6, 1],
    [2, 6, 2],
    [3, 3, 4],
    [4, 6, 4],
  ])(
    "scale-out starts %i of %i wanted hosts with maxStartsPerTick %i",
    (expected, wanted, perTick) => {
      const result = planAt(
        NIGHT,
        {
          hosts: ["i-1", "i-2", "i-3", "i-4", "i-5", "i-6"].map((id) => offHost(id)),
          signals: okSignals({
            runs: Array.from({ length: wanted }, (_, i) => pendingRun(`r-${i}`)),
          }),
        },
        ["pools.compute.maxStartsPerTick", perTick],
      );

      expect(startsIn(result)).toHaveLength(expected);
    },
  );

  it("scale-out never starts failed or excluded hosts, and says no candidate is left", () => {
    const result = planAt(DAY, {
      hosts: [
        host("i-1", "stopped", { lifecycle: "failed", failure: "ssh:key-refused" }),
        host("i-2", "stopped", { lifecycle: "off", exclude: "true" }),
      ],
    });

    expect(startsIn(result)).toEqual([]);
    expect(result.decisions.some((d) => d.rule === "scale-out.limited")).toBe(true);
  });

  it("scale-out.undrain leaves a host ops asked to stop draining and starts an off host", () => {
    const result = planAt(DAY, {
      hosts: [draining("i-1", "2026-03-04T09:59:30"), offHost("i-2")],
      control: {
        stopRequests: {
          "i-1": { by: "ops@example", why: "patching", force: false, at: iso("2026-03-04T09:59") },
        },
      },
    });

    expect(decisionFor(result, "i-1").rule).not.toBe("scale-out.undrain");
    expect(startsIn(result)).toEqual(["i-2"]);
  });
});

describe("plan: scale-in", () => {
  it.each<RuleCase>([
    {
      rule: "scale-in.idle",
      claim: "drains the longest-idle ready host past idleTimeout and minUptime",
      at: NIGHT,
      pool: {
        hosts: [
          readyHost("i-1", { idleSince: "2026-03-04T20:30" }),
          readyHost("i-2", { idleSince: "2026-03-04T20:00" }),
        ],
        signals: okSignals({ runs: [pendingRun("r-1")] }),
      },
      host: "i-2",
      kind: "drain",
      becomes: "draining",
      sets: { [TAG.since]: iso(NIGHT), [TAG.drainConfirmed]: iso(NIGHT) },
      removes: [TAG.idleSince],
      stop: "none",
      words: ["idle since", "idleTimeout 20m"],
    },
    {
      rule: "scale-in.drain-confirm",
      claim: "issues an unconfirmed drain again",
      at: NIGHT,
      pool: { hosts: [draining("i-1", undefined, "2026-03-04T20:59")] },
      host: "i-1",
      kind: "drain",
      becomes: null,
      sets: { [TAG.drainConfirmed]: iso(NIGHT) },
      stop: "none",
    },
    {
      rule: "scale-in.drain-confirm",
      claim: "does not trust a confirmation older than the draining vor:since",
      at: NIGHT,
      pool: { hosts: [draining("i-1", "2026-03-04T20:00", "2026-03-04T20:58")] },
      host: "i-1",
      kind: "drain",
      sets: { [TAG.drainConfirmed]: iso(NIGHT) },
      stop: "none",
    },
    {
      rule: "scale-in.drain-grace",
      claim: "waits drainGrace after the drain was confirmed",
      at: NIGHT,
      pool: { hosts: [draining("i-1", "2026-03-04T20:59:30")] },
      host: "i-1",
      kind: "none",
      effectTypes: [],
      words: [iso("2026-03-04T21:00:30"), "drainGrace 1m"],
    },
    {
      rule: "scale-in.stop",
      claim: "stops a draining host still idle drainGrace after confirmation",
      at: NIGHT,
      pool: { hosts: [draining("i-1", "2026-03-04T20:59")] },
      host: "i-1",
      kind: "stop",
      becomes: "stopping",
      stop: { recheckBusy: true, cause: "scale-in" },
      removes: [TAG.drainConfirmed],
      effectTypes: ["tags", "stop"],
    },
    {
      rule: "scale-in.undrain-work",
      claim: "returns a draining host that got work to ready",
      at: NIGHT,
      pool: {
        hosts: [draining("i-1", "2026-03-04T20:59")],
        signals: okSignals({ runs: [runningOn("r-1", "i-1")] }),
      },
      host: "i-1",
      kind: "undrain",
      becomes: "ready",
      removes: [TAG.drainConfirmed],
      stop: "none",
      words: ["r-1"],
    },
  ])("$rule $claim", (rule) => {
    checkRuleCase(rule);
  });

  it.each<{
    what: string;
    verb: string;
    readyAt: string;
    idleSince: string;
    config: [string, unknown][];
  }>([
    {
      what: "idle 20m (idleTimeout) and ready 2h",
      verb: "drains",
      readyAt: "2026-03-04T19:00",
      idleSince: "2026-03-04T20:40",
      config: [],
    },
    {
      what: "idle 19m",
      verb: "keeps",
      readyAt: "2026-03-04T19:00",
      idleSince: "2026-03-04T20:41",
      config: [],
    },
    {
      what: "ready 25m, below minUptime 30m",
      verb: "keeps",
      readyAt: "2026-03-04T20:35",
      idleSince: "2026-03-04T20:35",
      config: [["pools.compute.minUptime", "30m"]],
    },
    {
      what: "ready 30m, at minUptime 30m",
      verb: "drains",
      readyAt: "2026-03-04T20:30",
      idleSince: "2026-03-04T20:30",
      config: [["pools.compute.minUptime", "30m"]],
    },
  ])("scale-in.idle $verb a ready host $what", ({ verb, readyAt, idleSince, config }) => {
    const result = planAt(NIGHT, { hosts: [readyHost("i-1", { readyAt, idleSince })] }, ...config);

    expect(drainsIn(result)).toEqual(verb === "drains" ? ["i-1"] : []);
  });

  it("scale-in.idle drains at most capacity minus desired, longest idle first, then by id", () => {
    const result = planAt(NIGHT, {
      hosts: [
        readyHost("i-1", { idleSince: "2026-03-04T20:10" }),
        readyHost("i-2", { idleSince: "2026-03-04T20:00" }),
        readyHost("i-3", { idleSince: "2026-03-04T20:00" }),
        readyHost("i-4", { idleSince: "2026-03-04T20:20" }),
      ],
      control: {
        holds: [{ hosts: 2, until: iso("2026-03-04T23:00"), by: "ops", why: "late batch" }],
      },
    });

    expect(drainsIn(result)).toEqual(["i-2", "i-3"]);
    expect(summaryOf(result).numbers).toEqual({ desired: 2, demand: 0, floor: 2, capacity: 4 });
  });

  it("scale-in.idle never drains a busy host", () => {
    const result = planAt(NIGHT, {
      hosts: [readyHost("i-1", { idleSince: "2026-03-04T20:00" })],
      signals: okSignals({ busy: ["i-1"] }),
    });

    expect(drainsIn(result)).toEqual([]);
    expect(stopsIn(result)).toEqual([]);
  });
});

describe("plan: idle marks and hosts at rest", () => {
  it.each<RuleCase>([
    {
      rule: "idle.since",
      claim: "marks a ready host first seen idle",
      at: DAY,
      pool: { hosts: [readyHost("i-1")] },
      host: "i-1",
      kind: "mark",
      becomes: null,
      sets: { [TAG.idleSince]: iso(DAY) },
    },
    {
      rule: "idle.busy",
      claim: "removes idle-since from a ready host that got work",
      at: DAY,
      pool: {
        hosts: [readyHost("i-1", { idleSince: "2026-03-04T09:00" })],
        signals: okSignals({ runs: [runningOn("r-1", "i-1")] }),
      },
      host: "i-1",
      kind: "mark",
      becomes: null,
      removes: [TAG.idleSince],
      words: ["r-1"],
    },
    {
      rule: "host.serving",
      claim: "leaves an idle ready host with its idle-since as it is",
      at: DAY,
      pool: { hosts: [readyHost("i-1", { idleSince: "2026-03-04T09:00" })] },
      host: "i-1",
      kind: "none",
      effectTypes: [],
      words: [iso("2026-03-04T09:00")],
    },
    {
      rule: "host.serving",
      claim: "leaves a busy ready host without idle-since as it is",
      at: DAY,
      pool: {
        hosts: [readyHost("i-1")],
        signals: okSignals({ busy: ["i-1"] }),
      },
      host: "i-1",
      kind: "none",
      effectTypes: [],
      words: ["busy"],
    },
    {
      rule: "host.off",
      claim: "says an off host is a start candidate",
      at: DAY,
      pool: { hosts: [readyHost("i-1", { idleSince: "2026-03-04T09:00" }), offHost("i-2")] },
      host: "i-2",
      kind: "none",
      effectTypes: [],
      words: ["start candidate"],
    },
    {
      rule: "host.failed",
      claim: "leaves a failed stopped host alone until ops reset",
      at: DAY,
      pool: {
        hosts: [
          readyHost("i-1", { idleSince: "2026-03-04T09:00" }),
          host("i-2", "stopped", { lifecycle: "failed", failure: "ssh:key-refused" }),
        ],
      },
      host: "i-2",
      kind: "skip",
      effectTypes: [],
      words: ["ssh:key-refused", "reset"],
    },
    {
      rule: "host.excluded",
      claim: "skips an excluded host",
      at: DAY,
      pool: {
        hosts: [
          readyHost("i-1", { idleSince: "2026-03-04T09:00" }),
          host("i-2", "running", { lifecycle: "ready", exclude: "true" }),
        ],
      },
      host: "i-2",
      kind: "skip",
      effectTypes: [],
      words: ["excluded"],
    },
  ])("$rule $claim", (rule) => {
    checkRuleCase(rule);
  });
});

describe("plan: excluded hosts", () => {
  it.each<[string, ReturnType<typeof host>]>([
    [
      "an off excluded host is not started for a window",
      host("i-9", "stopped", { lifecycle: "off", exclude: "true" }),
    ],
    [
      "an idle ready excluded host is not drained or marked",
      host("i-9", "running", {
        lifecycle: "ready",
        exclude: "true",
        idleSince: iso("2026-03-04T05:00"),
      }),
    ],
    [
      "a draining excluded host is not stopped",
      host("i-9", "running", {
        lifecycle: "draining",
        exclude: "true",
        since: iso("2026-03-04T09:00"),
        drainConfirmed: iso("2026-03-04T09:00"),
      }),
    ],
    [
      "an untagged stopped excluded host is not marked off",
      host("i-9", "stopped", { exclude: "true" }),
    ],
    [
      "a running untagged excluded host is not adopted",
      host("i-9", "running", { exclude: "true" }),
    ],
  ])("host.excluded: %s, written to or counted", (_, excluded) => {
    const result = planAt(DAY, { hosts: [excluded, offHost("i-1")] });

    expect(hostsTouchedBy(result).has("i-9")).toBe(false);
    expect(decisionFor(result, "i-9").rule).toBe("host.excluded");
    expect(startsIn(result)).toEqual(["i-1"]);
    expect(summaryOf(result).numbers?.capacity).toBe(0);
  });
});
