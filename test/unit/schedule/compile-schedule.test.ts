import { describe, expect, it } from "vitest";
import { compileSchedule, type PeriodInput } from "../../../shared/schedule/index.ts";
import { issuesOf, warningsOf } from "./helpers.ts";

function periodIssues(period: unknown, timezone = "Europe/London") {
  return issuesOf(compileSchedule({ timezone, periods: [period as PeriodInput] }));
}

describe("compileSchedule", () => {
  it.each<[string, unknown, (string | number)[], string]>([
    ["a monthday above 31", { monthdays: "32" }, ["periods", 0, "monthdays"], "1-31"],
    ["monthday 0", { monthdays: "0" }, ["periods", 0, "monthdays"], "1-31"],
    ["a reversed monthday range", { monthdays: "20-15" }, ["periods", 0, "monthdays"], "20-L,1-15"],
    ["a monthday range from L", { monthdays: "L-5" }, ["periods", 0, "monthdays"], "1-31"],
    ["a zero step", { monthdays: "1-31/0" }, ["periods", 0, "monthdays"], "1-31/2"],
    ["a wildcard step", { monthdays: "*/2" }, ["periods", 0, "monthdays"], "1-31/2"],
    ["a wildcard weekday step", { weekdays: "*/2" }, ["periods", 0, "weekdays"], "mon-sun/2"],
    ["a sixth weekday of the month", { weekdays: "Mon#6" }, ["periods", 0, "weekdays"], "mon#2"],
    ["a zeroth weekday of the month", { weekdays: "mon#0" }, ["periods", 0, "weekdays"], "mon#2"],
    ["weekday 7", { weekdays: "7" }, ["periods", 0, "weekdays"], "0 = Monday"],
    ["an unknown weekday", { weekdays: "funday" }, ["periods", 0, "weekdays"], "mon-fri"],
    ["L inside a weekday range", { weekdays: "fri-L" }, ["periods", 0, "weekdays"], "mon-sun"],
    ["a nearest weekday in weekdays", { weekdays: "15W" }, ["periods", 0, "weekdays"], "mon-fri"],
    [
      "an n-th weekday in monthdays",
      { monthdays: "fri#2" },
      ["periods", 0, "monthdays"],
      "weekdays",
    ],
    ["a last weekday in monthdays", { monthdays: "friL" }, ["periods", 0, "monthdays"], "1-15"],
    ["a nearest weekday to day 32", { monthdays: "32W" }, ["periods", 0, "monthdays"], "15W"],
    ["month 13", { months: "13" }, ["periods", 0, "months"], "jan-mar"],
    ["L in months", { months: "L" }, ["periods", 0, "months"], "dec"],
    ["a month range to L", { months: "jan-L" }, ["periods", 0, "months"], "jan-dec"],
    [
      "an empty list item",
      { weekdays: "mon,,fri" },
      ["periods", 0, "weekdays"],
      "remove the extra comma",
    ],
    ["an empty string", { weekdays: "" }, ["periods", 0, "weekdays"], "remove weekdays"],
    ["an empty list", { weekdays: [] }, ["periods", 0, "weekdays"], "remove weekdays"],
    [
      "a bad string in a list",
      { weekdays: ["mon", "funday"] },
      ["periods", 0, "weekdays", 1],
      "mon-fri",
    ],
    ["a number", { monthdays: 15 }, ["periods", 0, "monthdays"], "quote the value"],
    ["begintime 24:00", { begintime: "24:00" }, ["periods", 0, "begintime"], '"23:59"'],
    [
      "endtime 24:00",
      { begintime: "08:00", endtime: "24:00" },
      ["periods", 0, "endtime"],
      '"23:59"',
    ],
    ["minute 60", { begintime: "07:60" }, ["periods", 0, "begintime"], '"07:00"'],
    ["a time without minutes", { begintime: "7" }, ["periods", 0, "begintime"], '"07:00"'],
    ["a one-digit minute", { begintime: "7:5" }, ["periods", 0, "begintime"], '"07:00"'],
    ["an empty period", {}, ["periods", 0], "add one"],
    [
      "begintime equal to endtime",
      { begintime: "09:00", endtime: "09:00" },
      ["periods", 0, "endtime"],
      "remove endtime",
    ],
    ["a period that is not an object", "mon-fri", ["periods", 0], "object"],
  ])("rejects %s", (_, period, path, fix) => {
    const issues = periodIssues(period);

    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(path);
    expect(issues[0]?.message).toMatch(/^expected .+, found .+; .+/);
    expect(issues[0]?.message).toContain(fix);
  });

  it.each(["", "+01:00", "-05:00", "Mars/Olympus", "Europe/Londn"])(
    "rejects time zone %j at the timezone path",
    (timezone) => {
      const issues = periodIssues({ weekdays: "mon-fri" }, timezone);

      expect(issues.map((issue) => issue.path)).toEqual([["timezone"]]);
      expect(issues[0]?.message).toContain('such as "Europe/London"');
    },
  );

  it("rejects a schedule without periods", () => {
    const issues = issuesOf(compileSchedule({ timezone: "UTC", periods: [] }));

    expect(issues.map((issue) => issue.path)).toEqual([["periods"]]);
    expect(issues[0]?.message).toContain("add a period");
  });

  it("reports every bad field of every period at once", () => {
    const result = compileSchedule({
      timezone: "Nowhere/City",
      periods: [
        { begintime: "25:00", weekdays: "mon-frx", monthdays: "32,20-15" },
        { endtime: "9", months: ["jan", "smarch"] },
      ],
    });

    const paths = issuesOf(result).map((issue) => issue.path.join("."));
    expect(paths).toEqual([
      "timezone",
      "periods.0.begintime",
      "periods.0.weekdays",
      "periods.0.monthdays",
      "periods.0.monthdays",
      "periods.1.endtime",
      "periods.1.months.1",
    ]);
  });

  it.each<[string, PeriodInput]>([
    ["H:MM times", { begintime: "7:00", endtime: "9:30" }],
    ["an overnight period", { begintime: "22:00", endtime: "06:00" }],
    ["an endtime of 23:59", { begintime: "00:00", endtime: "23:59" }],
    [
      "every field form at once",
      {
        weekdays: ["mon-fri/2", "sat#1", "sunL", "L"],
        monthdays: "1-15,L,20W,2/7,28-L",
        months: "nov-feb,jun",
      },
    ],
    ["full day and month names", { weekdays: "Monday-Friday", months: "January,December" }],
    ["wildcards", { weekdays: "*", monthdays: "?" }],
  ])("accepts %s", (_, period) => {
    const result = compileSchedule({ timezone: "UTC", periods: [period] });

    expect(result).toMatchObject({ ok: true, warnings: [] });
  });

  it("warns, without rejecting, when weekdays are numbers", () => {
    const result = compileSchedule({ timezone: "UTC", periods: [{ weekdays: ["sat", "0-4"] }] });

    const warnings = warningsOf(result);
    expect(warnings.map((warning) => warning.path)).toEqual([["periods", 0, "weekdays", 1]]);
    expect(warnings[0]?.message).toContain('"mon-fri"');
  });
});
