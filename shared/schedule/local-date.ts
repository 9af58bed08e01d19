/** A calendar date in some time zone, with no instant attached (month 1-12, day 1-31). */
export interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

const MS_PER_DAY = 86_400_000;

/** Milliseconds of the date's midnight as if it were UTC: a key for calendar arithmetic. */
export function localDateKey(date: LocalDate): number {
  return Date.UTC(date.year, date.month - 1, date.day);
}

/** The date whose `localDateKey` is `key`. */
export function localDateFromKey(key: number): LocalDate {
  const d = new Date(key);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** The date `days` calendar days after `date` (negative for before). */
export function addDays(date: LocalDate, days: number): LocalDate {
  return localDateFromKey(localDateKey(date) + days * MS_PER_DAY);
}

/** Number of days in a month (28-31). */
export function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Weekday in Instance Scheduler numbering: 0 = Monday ... 6 = Sunday. */
export function weekdayOf(date: LocalDate): number {
  return (new Date(localDateKey(date)).getUTCDay() + 6) % 7;
}
