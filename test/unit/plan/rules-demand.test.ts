import { describe, expect, it } from "vitest";
import type { PoolSnapshot } from "../../../shared/plan/index.ts";
import {
  iso,
  planAt,
  poolDecisionWith,
  readyHost,
  stateChangesOf,
  summaryOf,
  type PoolInput,
} from "../../support/plan-fixtures.ts";
import { host, okSignals } from "../../support/snapshot-builder.ts";

// Demand, floor and desired (DESIGN.md, "The planner model"): where each pending run and busy
// host comes from, which windows, run schedules and holds raise the floor, and the clamp into
// [min, max]. Read from the pool summary's numbers.

const NIGHT = "2026-03-04T21:00"; // Wednesday evening: no window, no run schedule

type Signals = PoolSnapshot["signals"];
type Run = NonNullable<Parameters<typeof okSignals>[0]>["runs"];

const pending = (id: string, hosts = 1) => ({ id, state: "pending" as const, hosts });
const running = (id: string, ...hostIds: string[]) => ({ id, state: "running" as const, hostIds });
const submitted = (runId: string, at: string, hosts = 1) => ({
  runId,
  hosts,
  at: iso(at),
  expiresAt: new Date(Date.parse(iso(at)) + 10 * 60_000).toISOString(),
});
const midtierDown = (readyMessages: number): Signals => ({
  midtier: { status: "failed", why: "HTTP 503" },
  rabbitmq: okSignals({ readyMessages }).rabbitmq,
});
const runs = (...list: NonNullable<Run>) => okSignals({ runs: list });

describe("plan: demand", () => {
  it.each<{ claim: string; pool: PoolInput; config?: [string, unknown][]; demand: number }>([
    { claim: "a pending run needs a host", pool: { signals: runs(pending("r-1")) }, demand: 1 },
    {
      claim: "pending runs are counted once per run id",
      pool: {
        signals: runs(pending("r-1"), pending("r-1")),
        control: { submitted: [submitted("r-1", "2026-03-04T20:58")] },
      },
      demand: 1,
    },
    {
      claim: "a submitted run the midtier has not shown yet counts",
      pool: {
        signals: runs(pending("r-1")),
        control: { submitted: [submitted("r-2", "2026-03-04T20:58")] },
      },
      demand: 2,
    },
    {
      claim: "a submitted run counts until eventTtl passes",
      pool: { control: { submitted: [submitted("r-2", "2026-03-04T20:50:01")] } },
      demand: 1,
    },
    {
      claim: "a submitted run no longer counts once eventTtl passed",
      pool: { control: { submitted: [submitted("r-2", "2026-03-04T20:50")] } },
      demand: 0,
    },
    {
      claim: "a submitted run the midtier shows running counts as its busy host, not as pending",
      pool: {
        hosts: [readyHost("i-1")],
        signals: runs(running("r-1", "i-1")),
        control: { submitted: [submitted("r-1", "2026-03-04T20:58")] },
      },
      demand: 1,
    },
    {
      claim: "request-queue messages do not count while the midtier is ok",
      pool: { signals: okSignals({ readyMessages: 5 }) },
      demand: 0,
    },
    {
      claim: "request-queue messages count as pending runs while the midtier is failed",
      pool: { signals: midtierDown(3) },
      demand: 3,
    },
    {
      claim:
        "while the midtier is failed, known runs and messages count as their max (messages more)",
      pool: {
        signals: midtierDown(3),
        control: {
          submitted: [submitted("r-1", "2026-03-04T20:58"), submitted("r-2", "2026-03-04T20:58")],
        },
      },
      demand: 3,
    },
    {
      claim: "while the midtier is failed, known runs and messages count as their max (known more)",
      pool: {
        signals: midtierDown(1),
        control: {
          submitted: [submitted("r-1", "2026-03-04T20:58"), submitted("r-2", "2026-03-04T20:58")],
        },
      },
      demand: 2,
    },
    {
      claim: "request-queue messages count while the midtier reading is older than signalMaxAge",
      pool: {
        signals: {
          midtier: { status: "ok", ageMs: 180_000, data: { runs: [] } },
          rabbitmq: okSignals({ readyMessages: 2 }).rabbitmq,
        },
      },
      demand: 2,
    },
    {
      claim: "a multi-host run needs its hosts",
      pool: { signals: runs(pending("r-1", 3)) },
      demand: 3,
    },
    {
      claim: "single-host runs share hosts by runsPerHost; multi-host runs do not",
      pool: { signals: runs(pending("r-1", 3), pending("r-2"), pending("r-3"), pending("r-4")) },
      config: [["pools.compute.runsPerHost", 2]],
      demand: 5,
    },
    {
      claim: "7 single-host runs need ceil(7 / runsPerHost 3) = 3 hosts",
      pool: { signals: runs(...["a", "b", "c", "d", "e", "f", "g"].map((id) => pending(id))) },
      config: [["pools.compute.runsPerHost", 3]],
      demand: 3,
    },
    {
      claim: "a host a running run lists is busy",
      pool: { hosts: [readyHost("i-1")], signals: runs(running("r-1", "i-1")) },
      demand: 1,
    },
    {
      claim: "a multi-host run makes every host it uses busy",
      pool: {
        hosts: [readyHost("i-1"), readyHost("i-2"), readyHost("i-3")],
        signals: runs(running("r-1", "i-1", "i-2", "i-3")),
      },
      demand: 3,
    },
    {
      claim: "a host with a consumer on a run queue is busy",
      pool: { hosts: [readyHost("i-1")], signals: okSignals({ busy: ["i-1"] }) },
      demand: 1,
    },
    {
      claim: "busy hosts and pending runs add up",
      pool: { hosts: [readyHost("i-1")], signals: runs(running("r-1", "i-1"), pending("r-2")) },
      demand: 2,
    },
    {
      claim: "a busy host ops asked to stop is leaving: not demand",
      pool: {
        hosts: [
          host("i-1", "running", {
            lifecycle: "draining",
            since: iso("2026-03-04T20:50"),
            drainConfirmed: iso("2026-03-04T20:50"),
          }),
        ],
        signals: runs(running("r-1", "i-1")),
        control: {
          stopRequests: {
            "i-1": { by: "ops", why: "patching", force: false, at: iso("2026-03-04T20:49") },
          },
        },
      },
      demand: 0,
    },
    {
      claim: "an excluded host is not demand, even busy",
      pool: {
        hosts: [host("i-1", "running", { lifecycle: "ready", exclude: "true" })],
        signals: runs(running("r-1", "i-1")),
      },
      demand: 0,
    },
  ])("$claim (demand $demand)", ({ pool, config, demand }) => {
    const result = planAt(NIGHT, pool, ...(config ?? []));

    expect(summaryOf(result).numbers?.demand).toBe(demand);
  });

  it("pool.bookkeeping drops submitted runs that expired or that the midtier shows", () => {
    const result = planAt(NIGHT, {
      hosts: [readyHost("i-1")],
      signals: runs(running("r-1", "i-1")),
      control: {
        submitted: [
          submitted("r-1", "2026-03-04T20:58"),
          submitted("r-2", "2026-03-04T20:50"),
          submitted("r-3", "2026-03-04T20:58"),
        ],
      },
    });

    expect(stateChangesOf(poolDecisionWith(result, "pool.bookkeeping"))).toContainEqual({
      op: "drop-submitted",
      runIds: ["r-1", "r-2"],
    });
  });
});

describe("plan: floor", () => {
  it.each<[string, string, number]>([
    ["before business hours open", "2026-03-04T06:59", 0],
    ["as business hours open", "2026-03-04T07:00", 1],
    ["in the last minute of business hours", "2026-03-04T18:59", 1],
    ["as business hours close", "2026-03-04T19:00", 0],
    ["on a Saturday", "2026-03-07T10:00", 0],
    ["at 07:00 London in summer time (06:00 UTC)", "2026-03-30T06:00", 1],
    ["at 06:00 London in summer time (05:00 UTC)", "2026-03-30T05:00", 0],
  ])("a window holds its hosts while it runs: %s at %s, floor %i", (_, when, floor) => {
    const result = planAt(when, {});

    expect(summaryOf(result).numbers?.floor).toBe(floor);
  });

  it.each<[string, string, number]>([
    ["before leadTime + startupEstimate", "2026-03-05T01:44", 0],
    ["at leadTime 10m + startupEstimate 5m before the run", "2026-03-05T01:45", 4],
    ["at the run", "2026-03-05T02:00", 4],
    ["just inside expectedDuration 3h", "2026-03-05T04:59", 4],
    ["at the end of expectedDuration", "2026-03-05T05:00", 0],
    ["on a Saturday, when the cron does not fire", "2026-03-07T01:45", 0],
  ])("a run schedule holds its hosts around each run: %s (%s), floor %i", (_, when, floor) => {
    const result = planAt(when, {});

    expect(summaryOf(result).numbers?.floor).toBe(floor);
  });

  it.each<[string, string, number]>([
    ["14m after a run without expectedDuration", "2026-03-05T02:14", 4],
    ["15m after a run without expectedDuration", "2026-03-05T02:15", 0],
  ])("a run schedule holds its hosts %s (%s): floor %i", (_, when, floor) => {
    const result = planAt(when, {}, ["runSchedules.nightly-batch.expectedDuration", undefined]);

    expect(summaryOf(result).numbers?.floor).toBe(floor);
  });

  it.each<[string, number]>([
    ["2026-03-05T01:39", 0],
    ["2026-03-05T01:40", 4],
  ])(
    "a run schedule with startupEstimate 10m holds from leadTime + startupEstimate before: %s, floor %i",
    (when, floor) => {
      const result = planAt(when, {}, ["pools.compute.startupEstimate", "10m"]);

      expect(summaryOf(result).numbers?.floor).toBe(floor);
    },
  );

  it.each<[string, string, number]>([
    ["holds until its expiry", "2026-03-04T23:00", 3],
    ["adds nothing once expired", "2026-03-04T21:00", 0],
  ])("an ops hold %s (until %s): floor %i", (_, until, floor) => {
    const result = planAt(NIGHT, {
      control: { holds: [{ hosts: 3, until: iso(until), by: "ops", why: "month end" }] },
    });

    expect(summaryOf(result).numbers?.floor).toBe(floor);
  });

  it.each<[string, string, number, number]>([
    ["a hold above the window", "2026-03-04T10:00", 2, 2],
    ["the window above a hold", "2026-03-04T10:00", 0, 1],
    ["a hold above the run schedule", "2026-03-05T02:00", 6, 6],
    ["the run schedule above a hold", "2026-03-05T02:00", 2, 4],
  ])("the floor is the largest source: %s", (_, when, holdHosts, floor) => {
    const result = planAt(when, {
      control: {
        holds: [{ hosts: holdHosts, until: iso("2026-03-05T23:00"), by: "ops", why: "test" }],
      },
    });

    expect(summaryOf(result).numbers?.floor).toBe(floor);
  });

  it.each<[string, Record<string, unknown>]>([
    ["any", { timezone: "UTC", periods: [{ endtime: "23:00" }] }],
    ["stopped", { timezone: "UTC", periods: [{ weekdays: "sat,sun" }] }],
  ])("a window that says %s adds no floor", (_, schedule) => {
    const result = planAt(
      NIGHT,
      {},
      ["schedules.late", schedule],
      ["pools.compute.windows", [{ schedule: "late", hosts: 2 }]],
    );

    expect(summaryOf(result).numbers?.floor).toBe(0);
  });
});

describe("plan: desired", () => {
  it.each<{
    claim: string;
    when: string;
    pool: PoolInput;
    config?: [string, unknown][];
    desired: number;
  }>([
    {
      claim: "is demand when demand is above the floor",
      when: "2026-03-04T10:00",
      pool: { signals: runs(pending("r-1"), pending("r-2"), pending("r-3")) },
      desired: 3,
    },
    {
      claim: "is the floor when the floor is above demand",
      when: "2026-03-05T01:45",
      pool: {},
      desired: 4,
    },
    {
      claim: "is clamped to max when demand is above it",
      when: NIGHT,
      pool: { signals: runs(...Array.from({ length: 12 }, (_, i) => pending(`r-${i}`))) },
      desired: 8,
    },
    {
      claim: "is clamped to max when the floor is above it",
      when: "2026-03-05T02:00",
      pool: {},
      config: [["pools.compute.max", 3]],
      desired: 3,
    },
    {
      claim: "is clamped to max when a hold is above it",
      when: NIGHT,
      pool: {
        control: { holds: [{ hosts: 10, until: iso("2026-03-04T23:00"), by: "ops", why: "test" }] },
      },
      desired: 8,
    },
    {
      claim: "is min when nothing is wanted",
      when: NIGHT,
      pool: {},
      config: [["pools.compute.min", 2]],
      desired: 2,
    },
  ])("desired $claim", ({ when, pool, config, desired }) => {
    const result = planAt(when, pool, ...(config ?? []));

    expect(summaryOf(result).numbers?.desired).toBe(desired);
  });

  it("the summary carries desired, demand, floor and capacity, and says where desired comes from", () => {
    const result = planAt("2026-03-04T10:00", {
      hosts: [readyHost("i-1"), readyHost("i-2")],
      signals: runs(running("r-1", "i-1"), pending("r-2", 2)),
    });

    const summary = summaryOf(result);
    expect(summary.numbers).toEqual({ desired: 3, demand: 3, floor: 1, capacity: 2 });
    for (const word of ["desired 3", "demand 3", "1 busy host", "floor 1", "capacity 2"]) {
      expect(summary.reason).toContain(word);
    }
  });
});
