import { DateTime } from "luxon";
import { UsageError } from "./errors.ts";

// Instants on the command line carry Z or an offset: "10:00" alone would mean a different moment
// on every operator's machine.
const ISO_WITH_ZONE =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** Parses `--at`/`--from`; a UsageError names the flag when the text is not a zoned ISO instant. */
export function parseInstant(text: string, flag: string): Date {
  const parsed = DateTime.fromISO(text, { setZone: true });
  if (!ISO_WITH_ZONE.test(text) || !parsed.isValid) {
    throw new UsageError(
      `${flag}: expected an ISO instant with Z or an offset such as 2026-03-04T10:00:00Z, found ${JSON.stringify(text)}; fix: add Z (UTC) or the offset`,
    );
  }
  return parsed.toJSDate();
}

/** UTC ISO text, without milliseconds when they are zero: 2026-03-04T10:00:00Z. */
export function formatUtc(instant: Date): string {
  return instant.toISOString().replace(/\.000Z$/, "Z");
}

/** "Wed 2026-11-25 07:00 +00:00" in the given zone (an offset is unambiguous; "GMT+1" is not). */
export function formatLocal(instant: Date, timezone: string): string {
  return DateTime.fromJSDate(instant, { zone: timezone }).toFormat("ccc yyyy-LL-dd HH:mm ZZ");
}

/** "2026-11-25 07:00Z" */
export function formatUtcShort(instant: Date): string {
  return DateTime.fromJSDate(instant, { zone: "UTC" }).toFormat("yyyy-LL-dd HH:mm'Z'");
}
