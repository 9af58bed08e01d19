import { describe, expect, it } from "vitest";
import type { Pool } from "../../../shared/config/index.ts";
import { emptyPoolControl, type PoolControl } from "../../../shared/plan/index.ts";
import { learnArrivals, poolTimezone, prewarmSpare } from "../../../shared/plan/prewarm.ts";
import {
  instant,
  numbersOf,
  offHost,
  planAt,
  startsIn,
  summaryOf,
} from "../../support/plan-fixtures.ts";
import { okSignals, plannerConfig } from "../../support/snapshot-builder.ts";

// The learned pre-warm (DESIGN.md, "Floor"): what it learns from demand rising, and when it holds
// a spare host. Europe/London is UTC in March before the clocks change, so local hours read as UTC.

const config = plannerConfig(["pools.compute.prewarm", "learned"]);
const pool: Pool =
  config.pools.compute ??
  (() => {
    throw new Error("no pool compute");
  })();
const TZ = "Europe/London";
const MONDAY_9 = "2026-03-02T09:00";
const SATURDAY_9 = "2026-03-07T09:00";
const ms = (text: string) => instant(text).getTime();
const minuteOf = (text: string) => Math.floor(ms(text) / 60_000);
const controlWith = (learned: Record<string, number>): PoolControl => ({
  ...emptyPoolControl(),
  learned,
});

/** Applies the learned changes of a run of (time, demand) readings, one plan each. */
function learnFrom(
  readings: [string, number][],
  start: PoolControl = emptyPoolControl(),
): PoolControl {
  let control = start;
  for (const [at, demand] of readings) {
    const changes = learnArrivals(TZ, pool, control, ms(at), demand);
    control = { ...control, learned: { ...control.learned, ...changes } };
  }
  return control;
}

describe("poolTimezone", () => {
  it("is the zone of the pool's first window's schedule", () => {
    expect(poolTimezone("compute", pool, config)).toBe("Europe/London");
  });

  it("falls back to the pool's run schedule's zone, then UTC", () => {
    const bare: Pool = { ...pool, windows: [] };
    const withRun = plannerConfig([
      "runSchedules",
      {
        nightly: {
          cron: "0 2 * * mon-fri",
          timezone: "America/New_York",
          pool: "compute",
          hosts: 1,
        },
      },
    ]);
    expect(poolTimezone("compute", bare, withRun)).toBe("America/New_York");
    expect(poolTimezone("compute", bare, plannerConfig(["runSchedules", {}]))).toBe("UTC");
  });
});

describe("learnArrivals", () => {
  it("counts a rise in demand as a fresh arrival in the hour being counted", () => {
    const changes = learnArrivals(TZ, pool, emptyPoolControl(), ms("2026-03-02T09:10"), 1);

    expect(changes).toEqual({
      hour: Math.floor(ms("2026-03-02T09:10") / 3_600_000),
      demand: 1,
      arrivals: 1,
      count: 1,
      last: minuteOf("2026-03-02T09:10"),
    });
  });

  it("writes nothing when the same reading is planned again (a re-plan repeats no decision)", () => {
    const control = learnFrom([["2026-03-02T09:10", 1]]);

    expect(learnArrivals(TZ, pool, control, ms("2026-03-02T09:10"), 1)).toEqual({});
  });

  it("learns the gap of a follow-on arrival and does not count it as fresh", () => {
    const control = learnFrom([
      ["2026-03-02T09:10", 1],
      ["2026-03-02T09:14", 2],
    ]);

    expect(control.learned.count).toBe(1);
    expect(control.learned["gap:4"]).toBeGreaterThan(0);
    const otherBins = Object.entries(control.learned).filter(
      ([key, value]) => key.startsWith("gap:") && key !== "gap:4" && value > 0,
    );
    expect(otherBins).toEqual([]);
  });

  it("counts an arrival after the follow-on window as fresh, its gap in the last bin", () => {
    const control = learnFrom([
      ["2026-03-02T09:10", 1],
      ["2026-03-02T09:20", 0],
      ["2026-03-02T09:50", 1],
    ]);

    expect(control.learned.count).toBe(2);
    expect(control.learned["gap:25"]).toBeGreaterThan(0); // startupEstimate 5m + idleTimeout 20m
  });

  it("folds a finished hour into its weekday slot, and a weekend hour into the weekend slot", () => {
    const weekday = learnFrom([
      ["2026-03-02T09:10", 1],
      ["2026-03-02T09:40", 0],
      ["2026-03-02T09:45", 1],
      ["2026-03-02T10:01", 1],
    ]);
    expect(weekday.learned["rate:weekday:9"]).toBeCloseTo(0.2 * 2);
    expect(weekday.learned.count).toBe(0);

    const weekend = learnFrom([
      ["2026-03-07T09:10", 1],
      ["2026-03-07T10:01", 1],
    ]);
    expect(weekend.learned["rate:weekend:9"]).toBeCloseTo(0.2);
    expect(weekend.learned["rate:weekday:9"]).toBeUndefined();
  });
});

describe("prewarmSpare", () => {
  it("holds nothing when the pool's pre-warm is not learned", () => {
    const control = controlWith({ "rate:weekday:9": 30 });

    expect(prewarmSpare(TZ, { ...pool, prewarm: "none" }, control, ms(MONDAY_9))).toEqual({
      spare: 0,
      probability: 0,
    });
  });

  it("holds a spare where fresh work usually arrives within a startup, and not elsewhere", () => {
    // 6 arrivals an hour: 1 - e^(-0.1 * 6 minutes) = 0.45 within the horizon
    const control = controlWith({ "rate:weekday:9": 6 });

    expect(prewarmSpare(TZ, pool, control, ms(MONDAY_9))).toEqual({ spare: 1, probability: 0.45 });
    expect(prewarmSpare(TZ, pool, control, ms(SATURDAY_9)).spare).toBe(0);
    expect(prewarmSpare(TZ, pool, control, ms("2026-03-02T14:00")).spare).toBe(0);
  });

  it("looks a startup ahead: the hour before a busy one already holds the spare near its end", () => {
    const control = controlWith({ "rate:weekday:9": 6 });

    expect(prewarmSpare(TZ, pool, control, ms("2026-03-02T08:57")).spare).toBe(1);
    expect(prewarmSpare(TZ, pool, control, ms("2026-03-02T08:40")).spare).toBe(0);
  });

  it("holds no spare for a rare arrival rate", () => {
    const control = controlWith({ "rate:weekday:9": 1 });

    expect(prewarmSpare(TZ, pool, control, ms(MONDAY_9))).toEqual({ spare: 0, probability: 0.1 });
  });

  it("holds a spare right after an arrival that is usually followed, until the follow-ons are past", () => {
    // three arrivals in four were followed 4 minutes later
    const control = controlWith({
      last: minuteOf("2026-03-02T14:00"),
      "gap:4": 0.75,
      "gap:25": 0.25,
    });

    expect(prewarmSpare(TZ, pool, control, ms("2026-03-02T14:01")).spare).toBe(1);
    expect(prewarmSpare(TZ, pool, control, ms("2026-03-02T14:06")).spare).toBe(0);
  });
});

describe("plan with the learned pre-warm", () => {
  it("holds demand plus one spare, starts it, and says why", () => {
    const result = planAt(
      "2026-03-02T06:30", // before the business-hours window opens at 07:00
      {
        hosts: [
          offHost("i-1", "2026-03-01T19:30"),
          offHost("i-2", "2026-03-01T19:30"),
          offHost("i-3", "2026-03-01T19:30"),
        ],
        signals: okSignals({ runs: [{ id: "r-1", state: "pending" }] }),
        control: { learned: { "rate:weekday:6": 6 } },
      },
      ["pools.compute.prewarm", "learned"],
    );

    expect(numbersOf(result)).toMatchObject({ demand: 1, floor: 2, desired: 2 });
    expect(startsIn(result)).toHaveLength(2);
    expect(summaryOf(result).reason).toMatch(/learned pre-warm \(1 spare, arrival chance 0\.45\)/);
  });

  it("holds no spare where nothing was learned", () => {
    const result = planAt(
      "2026-03-02T06:30",
      {
        hosts: [offHost("i-1", "2026-03-01T19:30"), offHost("i-2", "2026-03-01T19:30")],
        signals: okSignals(),
      },
      ["pools.compute.prewarm", "learned"],
    );

    expect(numbersOf(result)).toMatchObject({ demand: 0, floor: 0, desired: 0 });
    expect(startsIn(result)).toEqual([]);
  });

  it("writes what it learns as state effects of the plan", () => {
    const result = planAt(
      "2026-03-02T06:30",
      { signals: okSignals({ runs: [{ id: "r-1", state: "pending" }] }) },
      ["pools.compute.prewarm", "learned"],
    );
    const learned = result.decisions
      .flatMap((d) => d.effects)
      .flatMap((e) => (e.type === "state" && e.change.op === "learn" ? [e.change.slot] : []));

    expect(learned).toEqual(
      expect.arrayContaining(["demand", "count", "last", "arrivals", "hour"]),
    );
  });
});
