import { describe, expect, it } from "vitest";
import {
  evaluateSchedule,
  InvariantError,
  scheduleTimeline,
  type PeriodInput,
  type ScheduleState,
} from "../../../shared/schedule/index.ts";
import { at, describeSegments, windowOf } from "./helpers.ts";

// March 2026 in UTC: Mon 2, Tue 3, ... Fri 6, Sat 7, Sun 8.
function stateAt(periods: PeriodInput[], local: string): ScheduleState {
  return evaluateSchedule(windowOf("UTC", ...periods), at(local, "UTC"));
}

describe("evaluateSchedule with one period", () => {
  const begins = { begintime: "09:00", weekdays: "mon-fri" };
  const ends = { endtime: "17:00", weekdays: "mon-fri" };
  const allDay = { weekdays: "sat,sun" };
  const bounded = { begintime: "09:00", endtime: "17:00" };

  it.each<[string, PeriodInput, string, ScheduleState]>([
    ["begin-only before its begin", begins, "2026-03-02T08:59", "any"],
    ["begin-only at its begin", begins, "2026-03-02T09:00", "running"],
    ["begin-only late that evening", begins, "2026-03-02T23:59", "running"],
    ["begin-only after midnight, before the next begin", begins, "2026-03-03T00:00", "any"],
    ["begin-only on a day its weekdays reject", begins, "2026-03-07T10:00", "stopped"],
    ["end-only before its end", ends, "2026-03-02T16:59", "any"],
    ["end-only at its end", ends, "2026-03-02T17:00", "stopped"],
    ["end-only on a day its weekdays reject", ends, "2026-03-07T10:00", "stopped"],
    ["no times on a matching day", allDay, "2026-03-07T00:00", "running"],
    ["no times on another day", allDay, "2026-03-06T23:59", "stopped"],
    ["both times before begin", bounded, "2026-03-02T08:59", "stopped"],
    ["both times at begin", bounded, "2026-03-02T09:00", "running"],
    ["both times just before end", bounded, "2026-03-02T16:59:59", "running"],
    ["both times at the exclusive end", bounded, "2026-03-02T17:00", "stopped"],
  ])("says %s", (_, period, local, expected) => {
    const state = stateAt([period], local);

    expect(state).toBe(expected);
  });
});

describe("evaluateSchedule with several periods", () => {
  const endsAtFive = { endtime: "17:00" };
  const lateMorning = { begintime: "10:00", endtime: "12:00" };
  const weekdayMornings = { begintime: "09:00", weekdays: "mon-fri" };
  const saturdays = { begintime: "09:00", endtime: "17:00", weekdays: "sat" };

  it.each<[string, PeriodInput[], string, ScheduleState]>([
    ["running over any", [endsAtFive, lateMorning], "2026-03-02T11:00", "running"],
    ["any over stopped", [endsAtFive, lateMorning], "2026-03-02T09:00", "any"],
    [
      "stopped when every period says stopped",
      [endsAtFive, lateMorning],
      "2026-03-02T18:00",
      "stopped",
    ],
    [
      "any before a one-sided begin beside a bounded period",
      [weekdayMornings, saturdays],
      "2026-03-02T08:00",
      "any",
    ],
    [
      "stopped where the one-sided period's day does not match",
      [weekdayMornings, saturdays],
      "2026-03-07T08:00",
      "stopped",
    ],
    ["running in the other period", [weekdayMornings, saturdays], "2026-03-07T09:00", "running"],
  ])("prefers %s", (_, periods, local, expected) => {
    const state = stateAt(periods, local);

    expect(state).toBe(expected);
  });
});

describe("evaluateSchedule joining periods", () => {
  it.each<[string, PeriodInput[], string, ScheduleState]>([
    [
      "runs through the last minute with endtime 23:59",
      [{ begintime: "09:00", endtime: "23:59", weekdays: "mon" }],
      "2026-03-02T23:59:30",
      "running",
    ],
    [
      "stops at midnight after endtime 23:59",
      [{ begintime: "09:00", endtime: "23:59", weekdays: "mon" }],
      "2026-03-03T00:00",
      "stopped",
    ],
    [
      "runs over touching periods",
      [
        { begintime: "08:00", endtime: "12:00" },
        { begintime: "12:00", endtime: "17:00" },
      ],
      "2026-03-02T12:00",
      "running",
    ],
    [
      "runs over a one-minute gap",
      [
        { begintime: "08:00", endtime: "12:00" },
        { begintime: "12:01", endtime: "17:00" },
      ],
      "2026-03-02T12:00:30",
      "running",
    ],
    [
      "stops in a two-minute gap",
      [
        { begintime: "08:00", endtime: "12:00" },
        { begintime: "12:02", endtime: "17:00" },
      ],
      "2026-03-02T12:01",
      "stopped",
    ],
    [
      "runs over midnight from 23:59 into 00:00 the next day",
      [
        { begintime: "18:00", endtime: "23:59", weekdays: "mon" },
        { begintime: "00:00", endtime: "06:00", weekdays: "tue" },
      ],
      "2026-03-03T00:00",
      "running",
    ],
    [
      "runs over a one-minute gap after midnight",
      [
        { begintime: "18:00", endtime: "23:59", weekdays: "mon" },
        { begintime: "00:01", endtime: "06:00", weekdays: "tue" },
      ],
      "2026-03-03T00:00:30",
      "running",
    ],
    [
      "stops in a two-minute gap before midnight",
      [
        { begintime: "18:00", endtime: "23:58", weekdays: "mon" },
        { begintime: "00:00", endtime: "06:00", weekdays: "tue" },
      ],
      "2026-03-02T23:59",
      "stopped",
    ],
  ])("%s", (_, periods, local, expected) => {
    const state = stateAt(periods, local);

    expect(state).toBe(expected);
  });

  it("runs a whole working week as one stretch with 00:00-23:59 on each day", () => {
    const schedule = windowOf("UTC", { begintime: "00:00", endtime: "23:59", weekdays: "mon-fri" });

    const segments = scheduleTimeline(
      schedule,
      at("2026-03-01T12:00", "UTC"),
      at("2026-03-08T12:00", "UTC"),
    );

    expect(describeSegments(segments)).toEqual([
      "2026-03-01T12:00Z 2026-03-02T00:00Z stopped",
      "2026-03-02T00:00Z 2026-03-07T00:00Z running",
      "2026-03-07T00:00Z 2026-03-08T12:00Z stopped",
    ]);
  });
});

describe("evaluateSchedule overnight", () => {
  const fridayNight = { begintime: "22:00", endtime: "06:00", weekdays: "fri" };
  const lastNightOfMonth = { begintime: "22:00", endtime: "02:00", monthdays: "L" };
  const newYearsEve = { begintime: "20:00", endtime: "04:00", months: "dec", monthdays: "31" };

  it.each<[string, PeriodInput, string, ScheduleState]>([
    ["stopped before it begins", fridayNight, "2026-03-06T21:59", "stopped"],
    ["running from its begin on the begin day", fridayNight, "2026-03-06T22:00", "running"],
    ["running into a day its weekdays reject", fridayNight, "2026-03-07T05:59", "running"],
    ["stopped at its end the next morning", fridayNight, "2026-03-07T06:00", "stopped"],
    [
      "stopped in the early hours of the begin day itself",
      fridayNight,
      "2026-03-06T03:00",
      "stopped",
    ],
    ["running into the first of the next month", lastNightOfMonth, "2026-04-01T01:59", "running"],
    ["stopped at its end on the first", lastNightOfMonth, "2026-04-01T02:00", "stopped"],
    [
      "running after the last day of a short month",
      lastNightOfMonth,
      "2026-03-01T01:00",
      "running",
    ],
    ["stopped the night before the last day", lastNightOfMonth, "2026-03-30T23:00", "stopped"],
    ["running into the new year", newYearsEve, "2027-01-01T03:00", "running"],
  ])("is %s", (_, period, local, expected) => {
    const state = stateAt([period], local);

    expect(state).toBe(expected);
  });

  it("covers exactly one night per begin day", () => {
    const schedule = windowOf("UTC", { begintime: "22:00", endtime: "06:00", weekdays: "fri" });

    const segments = scheduleTimeline(
      schedule,
      at("2026-03-06T00:00", "UTC"),
      at("2026-03-08T00:00", "UTC"),
    );

    expect(describeSegments(segments)).toEqual([
      "2026-03-06T00:00Z 2026-03-06T22:00Z stopped",
      "2026-03-06T22:00Z 2026-03-07T06:00Z running",
      "2026-03-07T06:00Z 2026-03-08T00:00Z stopped",
    ]);
  });
});

describe("scheduleTimeline", () => {
  it("returns no segments for an empty span", () => {
    const schedule = windowOf("UTC", { weekdays: "mon" });

    const segments = scheduleTimeline(
      schedule,
      at("2026-03-02T10:00", "UTC"),
      at("2026-03-02T10:00", "UTC"),
    );

    expect(segments).toEqual([]);
  });

  it("throws an InvariantError when from is after to", () => {
    const schedule = windowOf("UTC", { weekdays: "mon" });

    const call = () =>
      scheduleTimeline(schedule, at("2026-03-03T00:00", "UTC"), at("2026-03-02T00:00", "UTC"));

    expect(call).toThrow(InvariantError);
  });

  it("shows one-sided periods as any around their running part", () => {
    const schedule = windowOf("UTC", { begintime: "09:00", weekdays: "mon-tue" });

    const segments = scheduleTimeline(
      schedule,
      at("2026-03-02T00:00", "UTC"),
      at("2026-03-04T00:00", "UTC"),
    );

    expect(describeSegments(segments)).toEqual([
      "2026-03-02T00:00Z 2026-03-02T09:00Z any",
      "2026-03-02T09:00Z 2026-03-03T00:00Z running",
      "2026-03-03T00:00Z 2026-03-03T09:00Z any",
      "2026-03-03T09:00Z 2026-03-04T00:00Z running",
    ]);
  });
});
