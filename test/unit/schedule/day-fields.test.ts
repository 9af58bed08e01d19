import { describe, expect, it } from "vitest";
import {
  dayFieldMatches,
  parseDayField,
  type DayFieldName,
} from "../../../shared/schedule/day-fields.ts";
import type { LocalDate } from "../../../shared/schedule/local-date.ts";

function date(text: string): LocalDate {
  const [year, month, day] = text.split("-").map(Number);
  return { year: year ?? 0, month: month ?? 0, day: day ?? 0 };
}

function matches(name: DayFieldName, expression: string | string[], day: string): boolean {
  const parsed = parseDayField(name, expression, [name]);
  if (!parsed.field) throw new Error(JSON.stringify(parsed.issues));
  return dayFieldMatches(parsed.field, date(day));
}

describe("parseDayField weekdays", () => {
  // March 2026: Sun 1, Mon 2, Tue 3, Wed 4, Thu 5, Fri 6, Sat 7.
  it.each([
    ["mon-fri", "2026-03-02", true],
    ["mon-fri", "2026-03-07", false],
    ["MON-Fri", "2026-03-06", true],
    ["monday", "2026-03-02", true],
    ["0", "2026-03-02", true],
    ["6", "2026-03-01", true],
    ["sat, sun", "2026-03-01", true],
    ["fri-mon", "2026-03-01", true],
    ["fri-mon", "2026-03-03", false],
    ["fri-tue/2", "2026-03-03", true],
    ["fri-tue/2", "2026-03-01", true],
    ["fri-tue/2", "2026-03-02", false],
    ["mon-fri/2", "2026-03-04", true],
    ["mon-fri/2", "2026-03-03", false],
    ["mon/2", "2026-03-01", true],
    ["mon/2", "2026-03-07", false],
    ["fri#2", "2026-03-13", true],
    ["fri#2", "2026-03-06", false],
    ["mon#5", "2026-03-30", true],
    ["mon#5", "2026-02-23", false],
    ["friL", "2026-03-27", true],
    ["friL", "2026-03-20", false],
    ["4L", "2026-03-27", true],
    ["sunL", "2026-05-31", true],
    ["L", "2026-03-01", true],
    ["L", "2026-03-02", false],
    ["*", "2026-03-04", true],
    ["?", "2026-03-04", true],
  ])("reads %s on %s as %s", (expression, day, expected) => {
    const result = matches("weekdays", expression, day);

    expect(result).toBe(expected);
  });

  it.each([
    ["2026-03-04", true],
    ["2026-03-06", true],
    ["2026-03-03", false],
  ])("unites the strings of a list on %s", (day, expected) => {
    const result = matches("weekdays", ["wed", "fri"], day);

    expect(result).toBe(expected);
  });
});

describe("parseDayField monthdays", () => {
  it.each([
    ["1-15", "2026-03-15", true],
    ["1-15", "2026-03-16", false],
    ["1,15", "2026-03-15", true],
    ["L", "2026-02-28", true],
    ["L", "2028-02-28", false],
    ["L", "2028-02-29", true],
    ["1-31/2", "2026-03-31", true],
    ["1-31/2", "2026-03-30", false],
    ["2/5", "2026-03-12", true],
    ["2/5", "2026-03-13", false],
    ["28-L", "2026-02-28", true],
    ["28-L", "2026-03-31", true],
    ["28-L", "2026-03-27", false],
    ["30-L", "2026-02-28", false],
    ["31", "2026-04-30", false],
    ["1-31", "2026-02-28", true],
    // 15 March 2026 is a Sunday, 15 August a Saturday.
    ["15W", "2026-03-16", true],
    ["15W", "2026-03-15", false],
    ["15W", "2026-08-14", true],
    // 1 August 2026 is a Saturday: the nearest weekday stays in August.
    ["1W", "2026-08-03", true],
    ["1W", "2026-08-01", false],
    // 31 May 2026 is a Sunday and the last day: the nearest weekday stays in May.
    ["31W", "2026-05-29", true],
    ["31W", "2026-04-30", false],
  ])("reads %s on %s as %s", (expression, day, expected) => {
    const result = matches("monthdays", expression, day);

    expect(result).toBe(expected);
  });
});

describe("parseDayField months", () => {
  it.each([
    ["jan-mar", "2026-02-10", true],
    ["jan-mar", "2026-04-10", false],
    ["nov-feb", "2026-01-10", true],
    ["nov-feb", "2026-03-10", false],
    ["6,12", "2026-12-10", true],
    ["january", "2026-01-10", true],
    ["1-12/3", "2026-04-10", true],
    ["1-12/3", "2026-05-10", false],
    ["jul", "2026-07-10", true],
    ["jun/2", "2026-08-10", true],
  ])("reads %s on %s as %s", (expression, day, expected) => {
    const result = matches("months", expression, day);

    expect(result).toBe(expected);
  });
});

describe("parseDayField warnings", () => {
  it.each([
    ["0-4", 1],
    ["mon-fri", 0],
    ["fri#2", 0],
    ["mon-fri/2", 0],
    ["4L", 1],
  ])("warns %s about numeric weekdays %s times", (expression, count) => {
    const parsed = parseDayField("weekdays", expression, ["weekdays"]);

    expect(parsed.warnings).toHaveLength(count);
    for (const warning of parsed.warnings) expect(warning.message).toContain("0 = Monday");
  });
});
