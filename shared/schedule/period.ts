import { dayFieldMatches, parseDayField, type DayField, type DayFieldName } from "./day-fields.ts";
import type { LocalDate } from "./local-date.ts";
import { describeValue, quote, type ScheduleIssue, type ScheduleState } from "./types.ts";

/** A period as written in config, in Instance Scheduler's syntax. */
export interface PeriodInput {
  begintime?: string;
  endtime?: string;
  weekdays?: string | string[];
  monthdays?: string | string[];
  months?: string | string[];
}

/** A validated period: minutes of the day and parsed day fields. */
export interface Period {
  readonly beginMinute: number | undefined;
  /** 1440 when the period runs to the end of the day (endtime 23:59). */
  readonly endMinute: number | undefined;
  readonly dayFields: readonly DayField[];
}

/** What one period says on one local day: minutes of that day, which may reach past 1440. */
export interface PeriodSpan {
  readonly state: Exclude<ScheduleState, "stopped">;
  readonly fromMinute: number;
  readonly toMinute: number;
}

const MINUTES_PER_DAY = 1440;
const DAY_FIELDS: readonly DayFieldName[] = ["weekdays", "monthdays", "months"];
const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

/**
 * Validates one period. Issues carry paths relative to `path` (the period's own path), and
 * every bad field is reported, not just the first.
 */
export function compilePeriod(
  input: unknown,
  path: (string | number)[],
): { period: Period | undefined; issues: ScheduleIssue[]; warnings: ScheduleIssue[] } {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return {
      period: undefined,
      issues: [
        {
          path,
          message: `expected a period object such as { begintime: "07:00", endtime: "19:00", weekdays: "mon-fri" }, found ${describeValue(input)}; write the period as an object`,
        },
      ],
      warnings: [],
    };
  }
  const fields = input as Record<string, unknown>;
  const issues: ScheduleIssue[] = [];
  const warnings: ScheduleIssue[] = [];

  const begin = readTime(fields, "begintime", path, issues);
  const end = readTime(fields, "endtime", path, issues);
  const dayFields: DayField[] = [];
  for (const name of DAY_FIELDS) {
    if (fields[name] === undefined) continue;
    const parsed = parseDayField(name, fields[name], [...path, name]);
    issues.push(...parsed.issues);
    warnings.push(...parsed.warnings);
    if (parsed.field) dayFields.push(parsed.field);
  }

  const present = ["begintime", "endtime", ...DAY_FIELDS].filter(
    (key) => fields[key] !== undefined,
  );
  if (present.length === 0) {
    issues.push({
      path,
      message:
        'expected at least one of begintime, endtime, weekdays, monthdays or months, found none; add one, e.g. { begintime: "07:00", endtime: "19:00", weekdays: "mon-fri" }',
    });
  }
  if (begin !== undefined && end !== undefined && begin === end) {
    const time = quote(fields["begintime"]);
    issues.push({
      path: [...path, "endtime"],
      message: `expected an endtime different from begintime, found both ${time}; remove endtime to run from ${time} on, or set another endtime (an earlier one runs overnight)`,
    });
  }

  if (issues.length > 0) return { period: undefined, issues, warnings };
  // Instance Scheduler stops at 23:59 for a minute; a period written to 23:59 means the whole
  // evening, so it runs to midnight and joins a period starting at 00:00 the next day.
  const endMinute = end === MINUTES_PER_DAY - 1 ? MINUTES_PER_DAY : end;
  return { period: { beginMinute: begin, endMinute, dayFields }, issues, warnings };
}

function readTime(
  fields: Record<string, unknown>,
  key: "begintime" | "endtime",
  path: (string | number)[],
  issues: ScheduleIssue[],
): number | undefined {
  const raw = fields[key];
  if (raw === undefined) return undefined;
  const match = typeof raw === "string" ? TIME.exec(raw) : null;
  if (!match) {
    issues.push({
      path: [...path, key],
      message: `expected a time H:MM or HH:MM from 00:00 to 23:59, found ${typeof raw === "string" ? quote(raw) : describeValue(raw)}; write e.g. "07:00" (an endtime of "23:59" runs to the end of the day)`,
    });
    return undefined;
  }
  return Number(match[1]) * 60 + Number(match[2]);
}

/**
 * What `period` says on local day `date`, following Instance Scheduler: on a day its day
 * fields reject, and outside its spans, it says stopped. With both times it runs from begin
 * to end (overnight when end is earlier, anchored to the day it begins); with begintime only
 * it is any before begin and running after; with endtime only it is any before end and
 * stopped after; with neither it runs all day.
 */
export function periodSpansOn(period: Period, date: LocalDate): PeriodSpan[] {
  if (!period.dayFields.every((field) => dayFieldMatches(field, date))) return [];
  const { beginMinute: begin, endMinute: end } = period;
  if (begin !== undefined && end !== undefined) {
    const toMinute = end > begin ? end : end + MINUTES_PER_DAY;
    return [{ state: "running", fromMinute: begin, toMinute }];
  }
  if (begin !== undefined) {
    return [
      { state: "any", fromMinute: 0, toMinute: begin },
      { state: "running", fromMinute: begin, toMinute: MINUTES_PER_DAY },
    ];
  }
  if (end !== undefined) return [{ state: "any", fromMinute: 0, toMinute: end }];
  return [{ state: "running", fromMinute: 0, toMinute: MINUTES_PER_DAY }];
}
