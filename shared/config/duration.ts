import { z } from "zod";

/** A span of time in milliseconds (config durations such as `90s`, `20m`, `3h` become these). */
export type Duration = number;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

// One or more number-unit groups, largest unit first by habit but not by rule: "90s", "1h30m".
const DURATION_PATTERN = /^(?:\d+(?:ms|s|m|h|d))+$/;
const GROUP = /(\d+)(ms|s|m|h|d)/g;

/** Parses `90s`, `20m`, `3h`, `1d`, `1h30m` into milliseconds; undefined when the text is not one. */
export function parseDuration(text: string): Duration | undefined {
  if (!DURATION_PATTERN.test(text)) return undefined;
  let total = 0;
  for (const [, count, unit] of text.matchAll(GROUP)) {
    total += Number(count) * UNIT_MS[unit as Unit];
  }
  return total;
}

/** Renders milliseconds the way an operator writes them: 90000 -> "1m30s", 3600000 -> "1h". */
export function formatDuration(ms: Duration): string {
  if (ms === 0) return "0s";
  const parts: string[] = [];
  let rest = ms;
  for (const unit of ["d", "h", "m", "s", "ms"] as const) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      parts.push(`${count}${unit}`);
      rest -= count * size;
    }
  }
  return parts.join("");
}

/** A config duration: a string like `20m` in the file, milliseconds after parsing. */
export const durationSchema = z
  .string({
    error: (issue) =>
      `expected a duration such as "90s", "20m" or "3h", found ${issue.input === undefined ? "nothing" : typeof issue.input}; fix: write the number with its unit, in quotes in JSON`,
  })
  .regex(DURATION_PATTERN, {
    error: (issue) =>
      `expected a duration such as "90s", "20m" or "3h" (units ms, s, m, h, d), found ${JSON.stringify(issue.input)}; fix: write the number with its unit, e.g. "10m"`,
  })
  .transform((text) => parseDuration(text) ?? 0);
