import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Config } from "../../../shared/config/index.ts";
import { runBaseline, type Baseline } from "../../../shared/sim/baselines.ts";
import { NO_FAULTS } from "../../../shared/sim/faults.ts";
import { runOracle } from "../../../shared/sim/oracle.ts";
import type { PolicyName, TraceRun, WorldSettings } from "../../../shared/sim/types.ts";
import { runVorPower } from "../../../shared/sim/vor-power-run.ts";
import type { World } from "../../../shared/sim/world.ts";
import {
  MINUTE_MS,
  MONDAY,
  costOf,
  runSubmittedAt,
  simConfig,
  traceRun,
  utc,
  worldSettings,
} from "../../support/sim-builders.ts";

// The baselines and the oracle of DESIGN.md's simulator section, on hand-made traces worked out
// on paper in the default world (boot 3 + bootstrap 2 = ready 5 minutes after a start call; a stop
// reads stopped 30 s after the call; 2.55 per host-hour). The day is Monday 19 January 2026,
// when London is on UTC; the configs hold only what each test names (simConfig).

/** The minute index of a tick on Monday (hostsOn[i] is the tick at MONDAY + i minutes). */
const tickOf = (hhmm: string): number => (utc(`2026-01-19T${hhmm}`) - MONDAY) / MINUTE_MS;

/** What a baseline's world measured, with every run's wait. */
function outcome(world: World) {
  const { waitsMin, runsNeverStarted } = world.finish();
  return { ...world.measures, waitsMin, runsNeverStarted };
}

const businessHours = (max: number): Config =>
  simConfig(max, ["pools.compute.windows", [{ schedule: "business-hours", hosts: 1 }]]);

describe("runBaseline always-on", () => {
  it("costs max hosts × hours × price exactly", () => {
    const settings = worldSettings({ days: 1 });

    const result = outcome(runBaseline("always-on", simConfig(2), [], settings));

    expect(result.hostMinutes).toBe(2 * 24 * 60);
    expect(costOf(result, settings)).toBeCloseTo(2 * 24 * 2.55, 9);
    expect(new Set(result.hostsOn)).toEqual(new Set([2]));
    expect(result).toMatchObject({ starts: 2, stops: 0 });
  });

  it("makes runs wait only while all max hosts are busy", () => {
    const trace = [
      traceRun("2026-01-19T09:00", 30),
      traceRun("2026-01-19T09:00", 30),
      traceRun("2026-01-19T09:00", 30),
      traceRun("2026-01-19T12:00", 30),
    ];

    const result = outcome(runBaseline("always-on", simConfig(2), trace, worldSettings()));

    expect(result.waitsMin).toEqual([0, 0, 30, 0]);
  });
});

describe("runBaseline schedule-only", () => {
  // Two days with business hours 07:00-19:00 UTC: max 2 hosts on at 07:00, ready 07:05, stopped at 19:00.
  const trace = [
    traceRun("2026-01-19T07:00", 30),
    traceRun("2026-01-19T18:30", 60),
    traceRun("2026-01-19T20:00", 10),
  ];
  const twoDays = () =>
    runBaseline("schedule-only", businessHours(2), trace, worldSettings({ days: 2 }));

  it("turns max hosts on at the window's start, ready boot + bootstrap later", () => {
    const world = twoDays();

    const { hostsOn } = world.measures;

    expect(hostsOn[tickOf("06:59")]).toBe(0);
    expect(hostsOn[tickOf("07:00")]).toBe(2);
    expect(runSubmittedAt(world, "2026-01-19T07:00").startedAt).toBe(utc("2026-01-19T07:05"));
  });

  it("stops every host at the window's end, killing the runs still on them", () => {
    const world = twoDays();

    const result = outcome(world);

    expect(result.hostsOn[tickOf("19:00")]).toBe(2); // the stop call; billed until stopped
    expect(result.hostsOn[tickOf("19:01")]).toBe(0);
    expect(result.runsKilled).toBe(1);
    expect(runSubmittedAt(world, "2026-01-19T18:30").killed).toBe(1);
    // Two hosts, two days, each 07:00 start call to 19:00:30 stopped.
    expect(result.hostMinutes).toBe(2 * 2 * 720.5);
    expect(result).toMatchObject({ starts: 4, stops: 4 });
  });

  it("makes a run submitted outside the window (or killed at its end) wait for the next on-period", () => {
    const world = twoDays();

    const result = outcome(world);

    expect(runSubmittedAt(world, "2026-01-19T20:00").startedAt).toBe(utc("2026-01-20T07:05"));
    expect(runSubmittedAt(world, "2026-01-19T18:30").startedAt).toBe(utc("2026-01-20T07:05"));
    // 07:00 waits 5; 18:30 waits until Tuesday 07:05 (12 h 35); 20:00 until then (11 h 05).
    expect(result.waitsMin).toEqual([5, 755, 665]);
  });

  it("holds hosts on from a run schedule's leadTime before each firing until expectedDuration after", () => {
    const config = simConfig(2, [
      "runSchedules",
      {
        nightly: {
          cron: "0 2 * * mon-fri",
          timezone: "UTC",
          pool: "compute",
          hosts: 2,
          leadTime: "10m",
          expectedDuration: "3h",
        },
      },
    ]);
    const trace = [traceRun("2026-01-19T02:00", 150, { hosts: 2, source: "scheduled" })];

    const result = outcome(runBaseline("schedule-only", config, trace, worldSettings()));

    expect(result.hostsOn[tickOf("01:49")]).toBe(0);
    expect(result.hostsOn[tickOf("01:50")]).toBe(2);
    expect(result.hostsOn[tickOf("05:01")]).toBe(0);
    expect(result.waitsMin).toEqual([0]);
    // Two hosts, 01:50 start call to 05:00:30 stopped.
    expect(result.hostMinutes).toBe(2 * 190.5);
  });
});

describe("runBaseline reactive", () => {
  it.each<[string, TraceRun[], number]>([
    ["one pending run", [traceRun("2026-01-19T09:00:30", 30)], 1],
    [
      "two pending runs",
      [traceRun("2026-01-19T09:00:30", 30), traceRun("2026-01-19T09:00:40", 30)],
      2,
    ],
    ["a pending 2-host run", [traceRun("2026-01-19T09:00:30", 30, { hosts: 2 })], 2],
    [
      "four pending runs with max 3",
      Array.from({ length: 4 }, () => traceRun("2026-01-19T09:00:30", 30)),
      3,
    ],
  ])("starts a host per pending need at the next tick, never above max: %s", (_, trace, hosts) => {
    const result = outcome(runBaseline("reactive", simConfig(3), trace, worldSettings()));

    expect(result.hostsOn[tickOf("09:00")]).toBe(0);
    expect(result.hostsOn[tickOf("09:01")]).toBe(hosts);
    expect(Math.max(...result.hostsOn)).toBe(hosts);
  });

  it("makes every run wait boot + bootstrap from the tick after its submission, and more while max binds", () => {
    const trace = [
      traceRun("2026-01-19T09:00:30", 30),
      traceRun("2026-01-19T09:00:30", 30),
      traceRun("2026-01-19T09:00:30", 30),
    ];

    const result = outcome(runBaseline("reactive", simConfig(2), trace, worldSettings()));

    // Started at the 09:01 tick, ready 09:06; the third run takes the first host freed at 09:36.
    expect(result.waitsMin).toEqual([5.5, 5.5, 35.5]);
    expect(result.starts).toBe(2);
  });

  it("stops a host idleTimeout after its last run ends", () => {
    const trace = [
      traceRun("2026-01-19T09:00:30", 30),
      traceRun("2026-01-19T09:00:30", 30),
      traceRun("2026-01-19T09:00:30", 30),
    ];
    const config = simConfig(2, ["pools.compute.idleTimeout", "20m"]);

    const result = outcome(runBaseline("reactive", config, trace, worldSettings()));

    // One host idle from 09:36 is stopped at 09:56; the other, idle from 10:06, at 10:26.
    expect(result.hostsOn[tickOf("09:56")]).toBe(2);
    expect(result.hostsOn[tickOf("09:57")]).toBe(1);
    expect(result.hostsOn[tickOf("10:26")]).toBe(1);
    expect(result.hostsOn[tickOf("10:27")]).toBe(0);
    // 09:01 to 09:56:30 and 09:01 to 10:26:30.
    expect(result.hostMinutes).toBe(55.5 + 85.5);
    expect(result).toMatchObject({ starts: 2, stops: 2, runsKilled: 0 });
  });
});

describe("runOracle", () => {
  it("starts every run on time, keeping a host through a gap shorter than a restart and restarting after a longer one", () => {
    const trace = [
      traceRun("2026-01-19T09:00", 30), // host 1 on 08:55, free 09:30
      traceRun("2026-01-19T09:33", 20), // a 3-minute gap: host 1 kept on, free 09:53
      traceRun("2026-01-19T10:10", 10), // a 17-minute gap: host 1 off, host 2 on 10:05
    ];

    const result = runOracle(trace, worldSettings());

    expect(result.waitsMin).toEqual([0, 0, 0]);
    // (5 + 30 + 3 + 20) + (5 + 10)
    expect(result.hostMinutes).toBe(58 + 15);
    expect(result).toMatchObject({ starts: 2, stops: 2, runsKilled: 0, runsNeverStarted: 0 });
    expect(result.hostsOn[tickOf("08:54")]).toBe(0);
    expect(result.hostsOn[tickOf("08:55")]).toBe(1);
    expect(result.hostsOn[tickOf("09:54")]).toBe(0);
    expect(result.hostsOn[tickOf("10:05")]).toBe(1);
  });

  it("is unbounded by max: overlapping runs each get their own hosts", () => {
    const trace = [
      traceRun("2026-01-19T09:00", 30),
      traceRun("2026-01-19T09:00", 30),
      traceRun("2026-01-19T09:10", 30, { hosts: 3 }),
    ];

    const result = runOracle(trace, worldSettings());

    expect(result.waitsMin).toEqual([0, 0, 0]);
    expect(result.starts).toBe(5);
    expect(result.hostMinutes).toBe(5 * 35);
    expect(Math.max(...result.hostsOn)).toBe(5);
  });
});

describe("the oracle's cost", () => {
  // Six hours from Monday 06:00 UTC (across business hours' 07:00 start), 1-6 runs of 1-90 minutes.
  const START = utc("2026-01-19T06:00");
  const SPAN_S = 6 * 60 * 60;
  const scenario = fc.record({
    max: fc.integer({ min: 1, max: 3 }),
    warmHosts: fc.integer({ min: 0, max: 3 }),
    runs: fc.array(
      fc.record({
        offsetS: fc.integer({ min: 0, max: SPAN_S - 1 }),
        durationMin: fc.integer({ min: 1, max: 90 }),
        hosts: fc.constantFrom(1, 1, 1, 2),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  });

  it("is never above the cost of a policy whose runs all waited 0", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer({ min: 1, max: 1000 }), async (input, seed) => {
        const settings: WorldSettings = worldSettings({ start: START, days: 0.25, seed });
        const config = simConfig(
          input.max,
          ...(input.warmHosts > 0
            ? [
                [
                  "pools.compute.windows",
                  [{ schedule: "business-hours", hosts: Math.min(input.warmHosts, input.max) }],
                ] as [string, unknown],
              ]
            : []),
        );
        const trace = input.runs
          .map<TraceRun>((r) => ({
            submittedAt: START + r.offsetS * 1000,
            pool: "compute",
            durationMin: r.durationMin,
            hosts: r.hosts,
            source: "adhoc",
          }))
          .sort((a, b) => a.submittedAt - b.submittedAt);
        const policies: [PolicyName, World][] = (
          ["always-on", "schedule-only", "reactive"] as Baseline[]
        ).map((name) => [name, runBaseline(name, config, trace, settings)]);
        policies.push(["vor-power", (await runVorPower(config, trace, settings, NO_FAULTS)).world]);

        const oracle = costOf(runOracle(trace, settings), settings);

        for (const [name, world] of policies) {
          const { waitsMin } = world.finish();
          if (waitsMin.some((wait) => wait > 0)) continue;
          expect(
            costOf(world.measures, settings),
            `${name} started every run on time`,
          ).toBeGreaterThanOrEqual(oracle - 1e-9);
        }
      }),
      { numRuns: 30 },
    );
  });
});
