import { daysInMonth, weekdayOf, type LocalDate } from "./local-date.ts";
import { describeValue, quote, type ScheduleIssue } from "./types.ts";

/** The day fields of an Instance Scheduler period; they combine with AND. */
export type DayFieldName = "weekdays" | "monthdays" | "months";

/** One comma-separated item of a day field, resolved as far as its domain allows. */
type DayTerm =
  | { readonly kind: "all" }
  | { readonly kind: "weekdaySet"; readonly weekdays: ReadonlySet<number> }
  | { readonly kind: "monthSet"; readonly months: ReadonlySet<number> }
  // Day-of-month ranges depend on the month's length ("L", "25-31" in February), so they
  // stay symbolic until matched.
  | {
      readonly kind: "monthdayRange";
      readonly start: number | "last";
      readonly end: number | "last";
      readonly step: number;
    }
  | { readonly kind: "nearestWeekday"; readonly day: number }
  | { readonly kind: "nthWeekday"; readonly weekday: number; readonly n: number }
  | { readonly kind: "lastWeekday"; readonly weekday: number };

/** A parsed day field: the date matches when any of its terms does. */
export interface DayField {
  readonly name: DayFieldName;
  readonly terms: readonly DayTerm[];
}

/** A parsed field, or the issues that kept it from parsing; warnings either way. */
export interface ParsedDayField {
  readonly field: DayField | undefined;
  readonly issues: ScheduleIssue[];
  readonly warnings: ScheduleIssue[];
}

interface FieldSpec {
  readonly name: DayFieldName;
  readonly noun: string;
  readonly min: number;
  readonly max: number;
  readonly names: ReadonlyMap<string, number>;
  readonly fullRange: string;
  readonly example: string;
  readonly hint: string;
}

const WEEKDAY_NAMES = [
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
  "sunday",
];
const MONTH_NAMES = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

// Full names and their first three letters, as Instance Scheduler accepts ("mon", "monday").
function nameTable(names: string[], first: number): ReadonlyMap<string, number> {
  return new Map(
    names.flatMap((name, i) => [
      [name, first + i] as const,
      [name.slice(0, 3), first + i] as const,
    ]),
  );
}

const SPECS: Readonly<Record<DayFieldName, FieldSpec>> = {
  weekdays: {
    name: "weekdays",
    noun: "weekday",
    min: 0,
    max: 6,
    names: nameTable(WEEKDAY_NAMES, 0),
    fullRange: "mon-sun",
    example: "mon-fri",
    hint: 'write names mon..sun or numbers 0-6 (0 = Monday), e.g. "mon-fri", "sat,sun", "fri#2" or "friL"',
  },
  monthdays: {
    name: "monthdays",
    noun: "day of month",
    min: 1,
    max: 31,
    names: new Map(),
    fullRange: "1-31",
    example: "1-15",
    hint: 'write days 1-31, L for the last day or nW for the weekday nearest day n, e.g. "1-15", "1,15,L", "1-31/2" or "15W"',
  },
  months: {
    name: "months",
    noun: "month",
    min: 1,
    max: 12,
    names: nameTable(MONTH_NAMES, 1),
    fullRange: "jan-dec",
    example: "jan-mar",
    hint: 'write names jan..dec or numbers 1-12, e.g. "jan-mar", "6,12" or "1-12/3"',
  },
};

type TermResult = DayTerm | { readonly error: string };
type Value = number | "last";

/**
 * Parses a day field as Instance Scheduler does: a string of comma-separated items, or a list
 * of such strings (their union). Reports one issue per bad item, at `path` (plus the list
 * index for list input), and warns about numeric weekdays, which differ from cron's numbering.
 */
export function parseDayField(
  name: DayFieldName,
  raw: unknown,
  path: (string | number)[],
): ParsedDayField {
  const spec = SPECS[name];
  const issues: ScheduleIssue[] = [];
  const warnings: ScheduleIssue[] = [];
  const terms: DayTerm[] = [];

  const parseString = (text: string, at: (string | number)[]): void => {
    if (text.trim() === "") {
      issues.push({
        path: at,
        message: `expected a ${spec.noun} expression, found an empty string; remove ${name} to match every ${spec.noun}, or ${spec.hint}`,
      });
      return;
    }
    for (const item of text.split(",")) {
      const result = parseItem(spec, item);
      if ("error" in result) issues.push({ path: at, message: result.error });
      else terms.push(result);
    }
    if (name === "weekdays" && usesWeekdayNumbers(text)) {
      warnings.push({
        path: at,
        message: `expected weekday names, found numbers in ${quote(text)}; windows number weekdays as Instance Scheduler does (0 = Monday, while cron's 0 is Sunday), prefer names such as "mon-fri"`,
      });
    }
  };

  if (typeof raw === "string") {
    parseString(raw, path);
  } else if (Array.isArray(raw)) {
    if (raw.length === 0) {
      issues.push({
        path,
        message: `expected at least one ${spec.noun} expression, found an empty list; remove ${name} to match every ${spec.noun}, or ${spec.hint}`,
      });
    }
    raw.forEach((element: unknown, index) => {
      if (typeof element === "string") parseString(element, [...path, index]);
      else issues.push({ path: [...path, index], message: notAString(spec, element) });
    });
  } else {
    issues.push({ path, message: notAString(spec, raw) });
  }

  const field = issues.length === 0 ? { name, terms } : undefined;
  return { field, issues, warnings };
}

/** Whether the field accepts `date` (a date in the schedule's time zone). */
export function dayFieldMatches(field: DayField, date: LocalDate): boolean {
  return field.terms.some((term) => termMatches(term, date));
}

function notAString(spec: FieldSpec, value: unknown): string {
  return `expected a string such as "${spec.example}" or a list of such strings, found ${describeValue(value)}; quote the value`;
}

// Digits that name days, not those counting occurrences ("fri#2") or steps ("mon-fri/2").
function usesWeekdayNumbers(text: string): boolean {
  return /\d/.test(text.replace(/#\s*\d+/g, "").replace(/\/\s*\d+/g, ""));
}

function parseItem(spec: FieldSpec, original: string): TermResult {
  const item = original.trim().toLowerCase();
  const found = quote(original.trim());
  if (item === "") {
    return {
      error: `expected a ${spec.noun} between commas, found an empty item; remove the extra comma`,
    };
  }
  if (item === "*" || item === "?") return { kind: "all" };

  const nth = /^(.*)#(.*)$/.exec(item);
  if (nth) return parseNthWeekday(spec, found, nth[1] ?? "", nth[2] ?? "");

  const step = /^(.*)\/(.*)$/.exec(item);
  if (step) return parseStep(spec, found, step[1] ?? "", step[2] ?? "");

  const range = /^(.+)-(.+)$/.exec(item);
  if (range) return parseRange(spec, found, range[1] ?? "", range[2] ?? "", 1);

  const value = readValue(spec, item);
  if (value !== undefined) return singleValue(spec, found, value);

  if (spec.name === "weekdays") {
    const last = /^(.+)l$/.exec(item);
    if (last) return parseLastWeekday(spec, found, last[1] ?? "");
  }
  if (spec.name === "monthdays") {
    const nearest = /^(\d+)w$/.exec(item);
    if (nearest) return parseNearestWeekday(spec, found, Number(nearest[1]));
  }
  return { error: unknownItem(spec, found) };
}

function unknownItem(spec: FieldSpec, found: string): string {
  return `expected a ${spec.noun} expression, found ${found}; ${spec.hint}`;
}

function readValue(spec: FieldSpec, text: string): Value | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (trimmed === "l") return "last";
  return spec.names.get(trimmed);
}

function outOfRange(spec: FieldSpec, found: string): { error: string } {
  return {
    error: `expected a ${spec.noun} number ${spec.min}-${spec.max}, found ${found}; ${spec.hint}`,
  };
}

function inDomain(spec: FieldSpec, value: number): boolean {
  return value >= spec.min && value <= spec.max;
}

function singleValue(spec: FieldSpec, found: string, value: Value): TermResult {
  if (value === "last") {
    switch (spec.name) {
      case "monthdays":
        return { kind: "monthdayRange", start: "last", end: "last", step: 1 };
      // Instance Scheduler reads a lone L in weekdays as the last day of the week, Sunday.
      case "weekdays":
        return { kind: "weekdaySet", weekdays: new Set([6]) };
      case "months":
        return { error: `expected a month, found ${found}; write "dec" for the last month` };
    }
  }
  if (!inDomain(spec, value)) return outOfRange(spec, found);
  return rangeTerm(spec, value, value, 1);
}

function parseStep(spec: FieldSpec, found: string, left: string, right: string): TermResult {
  const stepText = right.trim();
  const step = Number(stepText);
  if (!/^\d+$/.test(stepText) || step < 1) {
    return {
      error: `expected a step of 1 or more after "/", found ${found}; write e.g. "${spec.fullRange}/2"`,
    };
  }
  const from = left.trim();
  // Instance Scheduler rejects "*/2"; a step needs an explicit start.
  if (from === "*" || from === "?") {
    return {
      error: `expected a range or a start before "/", found ${found}; write the full range instead, e.g. "${spec.fullRange}/${step}"`,
    };
  }
  const range = /^(.+)-(.+)$/.exec(from);
  if (range) return parseRange(spec, found, range[1] ?? "", range[2] ?? "", step);

  // A start alone ("mon/2", "5/3") steps to the end of the domain.
  const start = readValue(spec, from);
  if (start === undefined) return { error: unknownItem(spec, found) };
  if (start === "last") return startsAtLast(spec, found);
  if (!inDomain(spec, start)) return outOfRange(spec, found);
  return spec.name === "monthdays"
    ? { kind: "monthdayRange", start, end: "last", step }
    : rangeTerm(spec, start, spec.max, step);
}

function startsAtLast(spec: FieldSpec, found: string): { error: string } {
  return {
    error: `expected a range that starts at a ${spec.noun}, found ${found} starting at L; start the range at its first ${spec.noun}, e.g. "${spec.fullRange}"`,
  };
}

function parseRange(
  spec: FieldSpec,
  found: string,
  startText: string,
  endText: string,
  step: number,
): TermResult {
  const start = readValue(spec, startText);
  const end = readValue(spec, endText);
  if (start === undefined || end === undefined) return { error: unknownItem(spec, found) };
  if (start === "last") return startsAtLast(spec, found);
  if (!inDomain(spec, start) || (end !== "last" && !inDomain(spec, end))) {
    return outOfRange(spec, found);
  }
  if (end === "last") {
    // Instance Scheduler allows L as a range end in days of the month only.
    if (spec.name === "monthdays") return { kind: "monthdayRange", start, end, step };
    return {
      error: `expected a range that ends at a ${spec.noun}, found ${found} ending at L; name the last ${spec.noun} instead, e.g. "${spec.fullRange}"`,
    };
  }
  if (spec.name === "monthdays" && start > end) {
    return {
      error: `expected a day-of-month range from low to high, found ${found}; day ranges do not wrap past the month end: swap the ends, or write the two parts as "${start}-L,1-${end}"`,
    };
  }
  return rangeTerm(spec, start, end, step);
}

// Weekday and month ranges wrap around their domain ("fri-mon", "nov-feb") and keep the
// step going across the wrap, as Instance Scheduler does: "fri-tue/2" is fri, sun, tue.
function rangeTerm(spec: FieldSpec, start: number, end: number, step: number): DayTerm {
  if (spec.name === "monthdays") return { kind: "monthdayRange", start, end, step };
  const values = new Set<number>();
  let wraps = start > end;
  for (let value = start; wraps || value <= end; value += step) {
    if (inDomain(spec, value)) values.add(value);
    if (wraps && value + step > spec.max) {
      value -= spec.max - spec.min + 1;
      wraps = false;
    }
  }
  return spec.name === "weekdays"
    ? { kind: "weekdaySet", weekdays: values }
    : { kind: "monthSet", months: values };
}

function parseNthWeekday(
  spec: FieldSpec,
  found: string,
  dayText: string,
  nText: string,
): TermResult {
  if (spec.name !== "weekdays") {
    return {
      error: `expected a ${spec.noun} expression, found ${found}; "#" (the n-th weekday of the month) belongs in weekdays, e.g. weekdays: "mon#1"`,
    };
  }
  const day = readValue(spec, dayText);
  if (day === undefined || day === "last" || !inDomain(spec, day)) {
    return {
      error: `expected a weekday before "#", found ${found}; write e.g. "mon#1" for the first Monday of the month`,
    };
  }
  const n = Number(nText.trim());
  if (!/^\d+$/.test(nText.trim()) || n < 1 || n > 5) {
    return {
      error: `expected an occurrence 1-5 after "#", found ${found}; write e.g. "mon#2" for the second Monday, or "monL" for the last one`,
    };
  }
  return { kind: "nthWeekday", weekday: day, n };
}

function parseLastWeekday(spec: FieldSpec, found: string, dayText: string): TermResult {
  const day = readValue(spec, dayText);
  if (day === undefined || day === "last" || !inDomain(spec, day)) {
    return { error: unknownItem(spec, found) };
  }
  return { kind: "lastWeekday", weekday: day };
}

function parseNearestWeekday(spec: FieldSpec, found: string, day: number): TermResult {
  if (!inDomain(spec, day)) {
    return {
      error: `expected a day 1-31 before "W", found ${found}; write e.g. "15W" for the weekday nearest the 15th`,
    };
  }
  return { kind: "nearestWeekday", day };
}

function termMatches(term: DayTerm, date: LocalDate): boolean {
  const lastDay = daysInMonth(date.year, date.month);
  switch (term.kind) {
    case "all":
      return true;
    case "weekdaySet":
      return term.weekdays.has(weekdayOf(date));
    case "monthSet":
      return term.months.has(date.month);
    case "monthdayRange": {
      const start = term.start === "last" ? lastDay : term.start;
      const end = term.end === "last" ? lastDay : Math.min(term.end, lastDay);
      return date.day >= start && date.day <= end && (date.day - start) % term.step === 0;
    }
    case "nearestWeekday":
      return date.day === nearestWeekday(date, term.day, lastDay);
    case "nthWeekday": {
      const firstOfMonth = weekdayOf({ ...date, day: 1 });
      const first = 1 + ((term.weekday - firstOfMonth + 7) % 7);
      return date.day === first + 7 * (term.n - 1);
    }
    case "lastWeekday": {
      const lastOfMonth = weekdayOf({ ...date, day: lastDay });
      return date.day === lastDay - ((lastOfMonth - term.weekday + 7) % 7);
    }
  }
}

// The weekday (Mon-Fri) nearest `day`, never leaving the month: a Saturday moves to Friday
// (or to Monday the 3rd when it is the 1st), a Sunday to Monday (or to Friday when it is the
// last day). A day the month does not have never matches; Instance Scheduler fails there.
function nearestWeekday(date: LocalDate, day: number, lastDay: number): number | undefined {
  if (day > lastDay) return undefined;
  const weekday = weekdayOf({ ...date, day });
  if (weekday === 5) return day === 1 ? day + 2 : day - 1;
  if (weekday === 6) return day === lastDay ? day - 2 : day + 1;
  return day;
}
