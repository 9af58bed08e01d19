import { describe, expect, it } from "vitest";
import { localDateKey } from "../../../shared/schedule/local-date.ts";
import { instantOfLocalTime, isValidTimeZone } from "../../../shared/schedule/zoned-time.ts";
import { iso } from "./helpers.ts";

describe("isValidTimeZone", () => {
  it.each([
    ["Europe/London", true],
    ["UTC", true],
    ["America/New_York", true],
    ["Australia/Sydney", true],
    ["Etc/GMT+1", true],
    ["", false],
    ["+01:00", false],
    ["-05:00", false],
    ["Mars/Olympus", false],
    ["Europe/Londn", false],
  ])("says %j is %s", (tz, expected) => {
    const valid = isValidTimeZone(tz);

    expect(valid).toBe(expected);
  });
});

describe("instantOfLocalTime", () => {
  it.each([
    ["Europe/London", "2026-03-29", "00:59", "2026-03-29T00:59Z"],
    ["Europe/London", "2026-03-29", "01:00", "2026-03-29T01:00Z"],
    ["Europe/London", "2026-03-29", "01:59", "2026-03-29T01:00Z"],
    ["Europe/London", "2026-03-29", "02:00", "2026-03-29T01:00Z"],
    ["Europe/London", "2026-10-25", "00:59", "2026-10-24T23:59Z"],
    ["Europe/London", "2026-10-25", "01:00", "2026-10-25T00:00Z"],
    ["Europe/London", "2026-10-25", "01:59", "2026-10-25T00:59Z"],
    ["Europe/London", "2026-10-25", "02:00", "2026-10-25T02:00Z"],
    ["America/New_York", "2026-03-08", "02:30", "2026-03-08T07:00Z"],
    ["America/New_York", "2026-11-01", "01:30", "2026-11-01T05:30Z"],
    ["Australia/Sydney", "2026-10-04", "02:30", "2026-10-03T16:00Z"],
    ["Australia/Sydney", "2026-04-05", "02:30", "2026-04-04T15:30Z"],
    // Lord Howe moves by 30 minutes; Santiago skips midnight itself.
    ["Australia/Lord_Howe", "2026-10-04", "02:15", "2026-10-03T15:30Z"],
    ["America/Santiago", "2026-09-06", "00:00", "2026-09-06T04:00Z"],
  ])("places %s %s %s at %s", (zone, day, time, expected) => {
    const [year, month, date] = day.split("-").map(Number);
    const [hours, minutes] = time.split(":").map(Number);

    const instant = instantOfLocalTime(
      zone,
      { year: year ?? 0, month: month ?? 0, day: date ?? 0 },
      (hours ?? 0) * 60 + (minutes ?? 0),
    );

    expect(iso(new Date(instant))).toBe(expected);
  });

  it("reads minute 1440 as the next midnight", () => {
    const day = { year: 2026, month: 3, day: 28 };

    const instant = instantOfLocalTime("Europe/London", day, 1440);

    expect(instant).toBe(localDateKey({ year: 2026, month: 3, day: 29 }));
  });
});
