import { describe, expect, it } from "vitest";
import {
  evaluateSchedule,
  scheduleTimeline,
  type PeriodInput,
  type ScheduleState,
} from "../../../shared/schedule/index.ts";
import { at, describeSegments, utc, windowOf } from "./helpers.ts";

// Transitions in 2026:
//   Europe/London     spring 29 Mar 01:00Z (01:00 GMT -> 02:00 BST); fall 25 Oct 01:00Z (02:00 BST -> 01:00 GMT)
//   America/New_York  spring  8 Mar 07:00Z (02:00 EST -> 03:00 EDT); fall  1 Nov 06:00Z (02:00 EDT -> 01:00 EST)
//   Australia/Sydney  fall    4 Apr 16:00Z (03:00 AEDT -> 02:00 AEST); spring 3 Oct 16:00Z (02:00 AEST -> 03:00 AEDT)

describe("scheduleTimeline across daylight saving time", () => {
  it.each<[string, string, PeriodInput, string, string, string[]]>([
    [
      "starts at the transition when begintime falls in London's skipped hour",
      "Europe/London",
      { begintime: "01:30", endtime: "03:00", monthdays: "29", months: "mar" },
      "2026-03-29T00:00Z",
      "2026-03-29T03:00Z",
      [
        "2026-03-29T00:00Z 2026-03-29T01:00Z stopped",
        "2026-03-29T01:00Z 2026-03-29T02:00Z running",
        "2026-03-29T02:00Z 2026-03-29T03:00Z stopped",
      ],
    ],
    [
      "ends at the transition when endtime falls in London's skipped hour",
      "Europe/London",
      { begintime: "00:00", endtime: "01:30", monthdays: "29", months: "mar" },
      "2026-03-28T23:00Z",
      "2026-03-29T02:00Z",
      [
        "2026-03-28T23:00Z 2026-03-29T00:00Z stopped",
        "2026-03-29T00:00Z 2026-03-29T01:00Z running",
        "2026-03-29T01:00Z 2026-03-29T02:00Z stopped",
      ],
    ],
    [
      "covers London's repeated hour once, in its first occurrence",
      "Europe/London",
      { begintime: "01:00", endtime: "01:30", monthdays: "25", months: "oct" },
      "2026-10-24T23:00Z",
      "2026-10-25T03:00Z",
      [
        "2026-10-24T23:00Z 2026-10-25T00:00Z stopped",
        "2026-10-25T00:00Z 2026-10-25T00:30Z running",
        "2026-10-25T00:30Z 2026-10-25T03:00Z stopped",
      ],
    ],
    [
      "runs on through both occurrences when a period spans London's repeated hour",
      "Europe/London",
      { begintime: "00:30", endtime: "02:30", monthdays: "25", months: "oct" },
      "2026-10-24T23:00Z",
      "2026-10-25T03:00Z",
      [
        "2026-10-24T23:00Z 2026-10-24T23:30Z stopped",
        "2026-10-24T23:30Z 2026-10-25T02:30Z running",
        "2026-10-25T02:30Z 2026-10-25T03:00Z stopped",
      ],
    ],
    [
      "starts at the transition when begintime falls in New York's skipped hour",
      "America/New_York",
      { begintime: "02:30", endtime: "04:00", weekdays: "sun" },
      "2026-03-08T06:00Z",
      "2026-03-08T09:00Z",
      [
        "2026-03-08T06:00Z 2026-03-08T07:00Z stopped",
        "2026-03-08T07:00Z 2026-03-08T08:00Z running",
        "2026-03-08T08:00Z 2026-03-08T09:00Z stopped",
      ],
    ],
    [
      "covers New York's repeated hour once, in its first occurrence",
      "America/New_York",
      { begintime: "01:00", endtime: "01:30", weekdays: "sun", months: "nov" },
      "2026-11-01T04:00Z",
      "2026-11-01T08:00Z",
      [
        "2026-11-01T04:00Z 2026-11-01T05:00Z stopped",
        "2026-11-01T05:00Z 2026-11-01T05:30Z running",
        "2026-11-01T05:30Z 2026-11-01T08:00Z stopped",
      ],
    ],
    [
      "starts at the transition when begintime falls in Sydney's skipped hour",
      "Australia/Sydney",
      { begintime: "02:30", endtime: "05:00", weekdays: "sun", months: "oct" },
      "2026-10-03T15:00Z",
      "2026-10-03T19:00Z",
      [
        "2026-10-03T15:00Z 2026-10-03T16:00Z stopped",
        "2026-10-03T16:00Z 2026-10-03T18:00Z running",
        "2026-10-03T18:00Z 2026-10-03T19:00Z stopped",
      ],
    ],
    [
      "covers Sydney's repeated hour once, in its first occurrence",
      "Australia/Sydney",
      { begintime: "02:00", endtime: "02:30", weekdays: "sun", months: "apr" },
      "2026-04-04T14:00Z",
      "2026-04-04T18:00Z",
      [
        "2026-04-04T14:00Z 2026-04-04T15:00Z stopped",
        "2026-04-04T15:00Z 2026-04-04T15:30Z running",
        "2026-04-04T15:30Z 2026-04-04T18:00Z stopped",
      ],
    ],
    [
      "runs an overnight period for its shortened wall-clock span across Sydney's spring forward",
      "Australia/Sydney",
      { begintime: "22:00", endtime: "06:00", weekdays: "sat", months: "oct" },
      "2026-10-03T11:00Z",
      "2026-10-03T20:00Z",
      [
        "2026-10-03T11:00Z 2026-10-03T12:00Z stopped",
        "2026-10-03T12:00Z 2026-10-03T19:00Z running",
        "2026-10-03T19:00Z 2026-10-03T20:00Z stopped",
      ],
    ],
    [
      "runs an overnight period for its lengthened wall-clock span across London's fall back",
      "Europe/London",
      { begintime: "22:00", endtime: "06:00", weekdays: "sat", months: "oct" },
      "2026-10-24T20:00Z",
      "2026-10-25T07:00Z",
      [
        "2026-10-24T20:00Z 2026-10-24T21:00Z stopped",
        "2026-10-24T21:00Z 2026-10-25T06:00Z running",
        "2026-10-25T06:00Z 2026-10-25T07:00Z stopped",
      ],
    ],
  ])("%s", (_, zone, period, from, to, expected) => {
    const schedule = windowOf(zone, period);

    const segments = scheduleTimeline(schedule, utc(from), utc(to));

    expect(describeSegments(segments)).toEqual(expected);
  });
});

describe("evaluateSchedule across daylight saving time", () => {
  const businessHours = { begintime: "09:00", endtime: "17:00", weekdays: "mon-fri" };

  it.each<[string, string, Date, ScheduleState]>([
    [
      "London, before spring forward",
      "Europe/London",
      at("2026-03-27T09:00", "Europe/London"),
      "running",
    ],
    [
      "London, after spring forward",
      "Europe/London",
      at("2026-03-30T09:00", "Europe/London"),
      "running",
    ],
    [
      "London, a minute before opening after spring forward",
      "Europe/London",
      at("2026-03-30T08:59", "Europe/London"),
      "stopped",
    ],
    [
      "New York, after fall back",
      "America/New_York",
      at("2026-11-02T16:59", "America/New_York"),
      "running",
    ],
    [
      "New York, at closing after fall back",
      "America/New_York",
      at("2026-11-02T17:00", "America/New_York"),
      "stopped",
    ],
    [
      "Sydney, after fall back",
      "Australia/Sydney",
      at("2026-04-06T09:00", "Australia/Sydney"),
      "running",
    ],
    [
      "Sydney, after spring forward",
      "Australia/Sydney",
      at("2026-10-05T08:59", "Australia/Sydney"),
      "stopped",
    ],
  ])("follows the wall clock in %s", (_, zone, instant, expected) => {
    const state = evaluateSchedule(windowOf(zone, businessHours), instant);

    expect(state).toBe(expected);
  });

  it.each<[string, ScheduleState]>([
    ["2026-10-25T00:15Z", "running"],
    ["2026-10-25T01:15Z", "stopped"],
  ])("answers %s in London's repeated hour from the first occurrence only", (instant, expected) => {
    const schedule = windowOf("Europe/London", { begintime: "01:00", endtime: "01:30" });

    const state = evaluateSchedule(schedule, utc(instant));

    expect(state).toBe(expected);
  });
});
