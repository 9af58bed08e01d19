import { describe, expect, it } from "vitest";
import {
  compileRunSchedule,
  InvariantError,
  runScheduleFirings,
} from "../../../shared/schedule/index.ts";
import { iso, issuesOf, runOf, utc, warningsOf } from "./helpers.ts";

function firings(cron: string, zone: string, from: string, to: string): string[] {
  return runScheduleFirings(runOf(cron, zone), utc(from), utc(to)).map(iso);
}

describe("runScheduleFirings", () => {
  it.each<[string, string, string, string, string, string[]]>([
    [
      "fires at the transition when 01:30 is skipped in London",
      "30 1 * * *",
      "Europe/London",
      "2026-03-28T00:00Z",
      "2026-03-31T00:00Z",
      ["2026-03-28T01:30Z", "2026-03-29T01:00Z", "2026-03-30T00:30Z"],
    ],
    [
      "fires once, at the first occurrence, when 01:30 repeats in London",
      "30 1 * * *",
      "Europe/London",
      "2026-10-24T00:00Z",
      "2026-10-27T00:00Z",
      ["2026-10-24T00:30Z", "2026-10-25T00:30Z", "2026-10-26T01:30Z"],
    ],
    [
      "fires twice, not four times, for */30 in London's repeated hour",
      "*/30 1 * * *",
      "Europe/London",
      "2026-10-25T00:00Z",
      "2026-10-26T00:00Z",
      ["2026-10-25T00:00Z", "2026-10-25T00:30Z"],
    ],
    [
      "fires once for every */30 time skipped in London's spring forward",
      "*/30 1 * * *",
      "Europe/London",
      "2026-03-29T00:00Z",
      "2026-03-30T00:00Z",
      ["2026-03-29T01:00Z"],
    ],
    [
      "skips the second occurrence of an hourly run in London's repeated hour",
      "0 * * * *",
      "Europe/London",
      "2026-10-24T22:30Z",
      "2026-10-25T03:30Z",
      ["2026-10-24T23:00Z", "2026-10-25T00:00Z", "2026-10-25T02:00Z", "2026-10-25T03:00Z"],
    ],
    [
      "merges an hourly run's skipped 01:00 with 02:00 in London's spring forward",
      "0 * * * *",
      "Europe/London",
      "2026-03-28T23:30Z",
      "2026-03-29T02:30Z",
      ["2026-03-29T00:00Z", "2026-03-29T01:00Z", "2026-03-29T02:00Z"],
    ],
    [
      "keeps weekday runs at 02:00 local across New York's spring forward",
      "0 2 * * mon-fri",
      "America/New_York",
      "2026-03-06T00:00Z",
      "2026-03-10T00:00Z",
      ["2026-03-06T07:00Z", "2026-03-09T06:00Z"],
    ],
    [
      "fires at the transition when 02:30 is skipped in New York",
      "30 2 * * *",
      "America/New_York",
      "2026-03-08T00:00Z",
      "2026-03-09T00:00Z",
      ["2026-03-08T07:00Z"],
    ],
    [
      "fires once, at the first occurrence, when 01:30 repeats in New York",
      "30 1 * * *",
      "America/New_York",
      "2026-11-01T00:00Z",
      "2026-11-02T00:00Z",
      ["2026-11-01T05:30Z"],
    ],
    [
      "fires at the transition when 02:30 is skipped in Sydney",
      "30 2 * * *",
      "Australia/Sydney",
      "2026-10-03T00:00Z",
      "2026-10-04T00:00Z",
      ["2026-10-03T16:00Z"],
    ],
    [
      "fires once, at the first occurrence, when 02:30 repeats in Sydney",
      "30 2 * * *",
      "Australia/Sydney",
      "2026-04-04T00:00Z",
      "2026-04-05T00:00Z",
      ["2026-04-04T15:30Z"],
    ],
    [
      "reads day 0 as Sunday, as cron does",
      "0 12 * * 0",
      "UTC",
      "2026-03-01T00:00Z",
      "2026-03-09T00:00Z",
      ["2026-03-01T12:00Z", "2026-03-08T12:00Z"],
    ],
    [
      "fires on either the day of month or the weekday, as standard cron does",
      "0 12 1 * fri",
      "UTC",
      "2026-05-01T00:00Z",
      "2026-05-09T00:00Z",
      ["2026-05-01T12:00Z", "2026-05-08T12:00Z"],
    ],
    [
      "includes a firing at from and excludes one at to",
      "0 2 * * *",
      "UTC",
      "2026-03-01T02:00Z",
      "2026-03-03T02:00Z",
      ["2026-03-01T02:00Z", "2026-03-02T02:00Z"],
    ],
    [
      "includes a skipped time resolved exactly at from",
      "30 1 * * *",
      "Europe/London",
      "2026-03-29T01:00Z",
      "2026-03-29T02:00Z",
      ["2026-03-29T01:00Z"],
    ],
  ])("%s", (_, cron, zone, from, to, expected) => {
    const result = firings(cron, zone, from, to);

    expect(result).toEqual(expected);
  });

  it("throws an InvariantError when from is after to", () => {
    const rs = runOf("0 2 * * *", "UTC");

    const call = () => runScheduleFirings(rs, utc("2026-03-02T00:00Z"), utc("2026-03-01T00:00Z"));

    expect(call).toThrow(InvariantError);
  });
});

describe("compileRunSchedule", () => {
  it.each([
    ["a seconds field", "0 0 2 * * *", "found 6"],
    ["a year field", "0 0 2 * * * 2027", "found 7"],
    ["a nickname", "@daily", "found 1"],
    ["a missing field", "0 2 * *", "found 4"],
  ])("rejects %s", (_, cron, found) => {
    const issues = issuesOf(compileRunSchedule({ cron, timezone: "UTC" }));

    expect(issues.map((issue) => issue.path)).toEqual([["cron"]]);
    expect(issues[0]?.message).toContain(found);
    expect(issues[0]?.message).toContain('"0 2 * * mon-fri"');
  });

  it("names every bad field", () => {
    const result = compileRunSchedule({ cron: "61 25 * * mon-frx", timezone: "UTC" });

    const [minute, hour, dayOfWeek, ...others] = issuesOf(result).map((issue) => issue.message);
    expect(minute).toMatch(/^expected a minute .* in field 1 .*, found "61"; fix that field$/);
    expect(hour).toMatch(/^expected an hour .* in field 2 .*, found "25"; fix that field$/);
    expect(dayOfWeek).toMatch(
      /^expected a day of the week .* in field 5 .*, found "mon-frx"; fix that field$/,
    );
    expect(others).toEqual([]);
  });

  it("rejects a pattern that matches no date", () => {
    const issues = issuesOf(compileRunSchedule({ cron: "0 0 30 feb *", timezone: "UTC" }));

    expect(issues.map((issue) => issue.path)).toEqual([["cron"]]);
    expect(issues[0]?.message).toContain("matches no date");
  });

  it("rejects an unknown time zone at the timezone path", () => {
    const result = compileRunSchedule({ cron: "0 2 * * mon-fri", timezone: "Europe/Londn" });

    const issues = issuesOf(result);
    expect(issues.map((issue) => issue.path)).toEqual([["timezone"]]);
    expect(issues[0]?.message).toContain('such as "Europe/London"');
  });

  it("warns, without rejecting, when the day of the week is a number", () => {
    const result = compileRunSchedule({ cron: "0 2 * * 1-5", timezone: "UTC" });

    const warnings = warningsOf(result);
    expect(warnings.map((warning) => warning.path)).toEqual([["cron"]]);
    expect(warnings[0]?.message).toMatch(/day 0 is Sunday.*0 = Monday.*"mon-fri"/);
  });

  it.each(["0 2 * * mon-fri", "0 2 * * fri#2", "*/15 * * * *", "0 2 1 * *"])(
    "accepts %s without warnings",
    (cron) => {
      const result = compileRunSchedule({ cron, timezone: "Europe/London" });

      expect(result).toMatchObject({ ok: true, warnings: [] });
    },
  );
});
