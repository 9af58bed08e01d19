import { IANAZone } from "luxon";
import { InvariantError } from "./errors.ts";
import { localDateFromKey, localDateKey, type LocalDate } from "./local-date.ts";

const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;

// Offsets stay within -12h..+14h, so the instant of a wall time lies within 15 hours of the
// wall time read as UTC; sampling offsets there finds every offset that could apply (zones
// change offset at most once in such a span).
const OFFSET_PROBES_MS = [-15, 0, 15].map((h) => h * MS_PER_HOUR);

// Intl also accepts offsets such as "+01:00"; a schedule must name a zone with DST rules.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

/**
 * Whether `tz` names an IANA time zone ("Europe/London", "UTC"). Offsets ("+01:00") and ""
 * are rejected: they carry no daylight saving rules.
 */
export function isValidTimeZone(tz: string): boolean {
  // luxon checks a zone by building an Intl formatter each time: slow, and the answer never changes.
  let valid = validZones.get(tz);
  if (valid === undefined) {
    valid = ZONE_NAME.test(tz) && IANAZone.isValidZone(tz);
    validZones.set(tz, valid);
  }
  return valid;
}

const validZones = new Map<string, boolean>();

const zones = new Map<string, IANAZone>();

// `zone.isValid` re-checks the name with a new Intl formatter on every call: check once per zone.
function zoneOf(tz: string): IANAZone {
  let zone = zones.get(tz);
  if (!zone) {
    zone = IANAZone.create(tz);
    if (!zone.isValid) throw new InvariantError(`time zone ${tz} reached evaluation unvalidated`);
    zones.set(tz, zone);
  }
  return zone;
}

/** Offset from UTC in milliseconds in effect in `tz` at `instantMs`. */
export function offsetMsAt(tz: string, instantMs: number): number {
  return zoneOf(tz).offset(instantMs) * MS_PER_MINUTE;
}

/** The wall-clock reading in `tz` at `instantMs`, as milliseconds of a UTC-based timeline. */
export function wallClockMsAt(tz: string, instantMs: number): number {
  return instantMs + offsetMsAt(tz, instantMs);
}

/** The calendar date in `tz` at `instantMs`. */
export function localDateAt(tz: string, instantMs: number): LocalDate {
  return localDateFromKey(Math.floor(wallClockMsAt(tz, instantMs) / 86_400_000) * 86_400_000);
}

/**
 * The instant at which clocks in `tz` read `wallMs` (a wall-clock time as UTC-based ms).
 *
 * A repeated wall time (clocks go back) resolves to its first occurrence, so a period covers
 * its wall-clock span once and hosts are not started twice. A skipped wall time (clocks go
 * forward) resolves to the transition itself, the first valid instant after the gap: luxon
 * would shift it by the gap's length instead (02:30 on a spring-forward day at 02:00 becomes
 * 03:30), which would start hosts an hour late.
 */
export function instantOfWallClock(tz: string, wallMs: number): number {
  const offsets = [...new Set(OFFSET_PROBES_MS.map((probe) => offsetMsAt(tz, wallMs + probe)))];
  const valid = offsets
    .map((offset) => wallMs - offset)
    .filter((instant) => offsetMsAt(tz, instant) === wallMs - instant);
  if (valid.length > 0) return Math.min(...valid);
  return transitionWithin(tz, wallMs - Math.max(...offsets), wallMs - Math.min(...offsets));
}

/** The instant of `minuteOfDay` (0-1440; 1440 is the next midnight) on `date` in `tz`. */
export function instantOfLocalTime(tz: string, date: LocalDate, minuteOfDay: number): number {
  return instantOfWallClock(tz, localDateKey(date) + minuteOfDay * MS_PER_MINUTE);
}

// In a gap, the offset changes between `before` (old offset) and `after` (new offset); the
// change is the first instant carrying the new offset, found by bisection to the millisecond.
function transitionWithin(tz: string, before: number, after: number): number {
  const oldOffset = offsetMsAt(tz, before);
  if (offsetMsAt(tz, after) === oldOffset) {
    throw new InvariantError(`no offset change in ${tz} between ${before} and ${after}`);
  }
  let lo = before;
  let hi = after;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMsAt(tz, mid) === oldOffset) lo = mid;
    else hi = mid;
  }
  return hi;
}
