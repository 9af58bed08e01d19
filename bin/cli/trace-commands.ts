import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { formatIssue, loadConfig } from "../../shared/config/index.ts";
import { formatTrace } from "../../shared/sim/trace.ts";
import { generateTrace, startOfUtcWeek } from "../../shared/sim/trace-generate.ts";
import { reportInvalid } from "./config-commands.ts";
import { EXIT, UsageError } from "./errors.ts";
import { formatUtc, parseInstant } from "./instants.ts";
import type { CliIo } from "./io.ts";

/** The built-in installation, found beside the CLI rather than in the working directory. */
export const EXAMPLE_CONFIG = fileURLToPath(
  new URL("../../examples/vor-power.yaml", import.meta.url),
);

const MAX_SEED = 4_294_967_295;

function parseDays(text: string): number {
  const days = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(days) || days < 1 || days > 366) {
    throw new UsageError(
      `--days: expected a whole number from 1 to 366, found ${JSON.stringify(text)}; fix: e.g. --days 14`,
    );
  }
  return days;
}

function parseSeed(text: string): number {
  const seed = Number(text);
  // The generator's PRNG has 32 bits of state: a larger seed would silently alias a smaller one.
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(seed) || seed > MAX_SEED) {
    throw new UsageError(
      `--seed: expected a whole number from 0 to ${MAX_SEED}, found ${JSON.stringify(text)}; fix: e.g. --seed 1`,
    );
  }
  return seed;
}

function parseScale(text: string): number {
  const scale = Number(text);
  if (text.trim() === "" || !Number.isFinite(scale) || scale <= 0 || scale > 1000) {
    throw new UsageError(
      `--scale: expected a load multiplier above 0 and at most 1000, found ${JSON.stringify(text)}; fix: e.g. --scale 10`,
    );
  }
  return scale;
}

/**
 * `vor-power trace generate [--config FILE] --days N --seed N [--start ISO] [--scale X] [--out FILE]`:
 * the built-in workload for each pool of the config (default: the example installation), as JSON
 * Lines on stdout or in FILE. Without --start, the trace starts on Monday 00:00Z of this week.
 */
export async function traceGenerate(
  io: CliIo,
  options: {
    config?: string;
    days: string;
    seed: string;
    start?: string;
    out?: string;
    scale?: string;
  },
): Promise<number> {
  // Flags first: a usage mistake is reported before any file is read.
  const days = parseDays(options.days);
  const seed = parseSeed(options.seed);
  const scale = options.scale === undefined ? 1 : parseScale(options.scale);
  const start =
    options.start === undefined
      ? startOfUtcWeek(io.now().getTime())
      : parseInstant(options.start, "--start").getTime();
  if (options.out?.trim() === "") {
    throw new UsageError("--out: expected a file path, found nothing; fix: e.g. --out trace.jsonl");
  }

  const file = options.config ?? EXAMPLE_CONFIG;
  const result = await loadConfig(file);
  if (!result.ok) return reportInvalid(io, file, result.errors, result.warnings, false);
  // Warnings go to stderr, so stdout stays pure JSON Lines.
  for (const issue of result.warnings) io.err(`warning: ${formatIssue(issue)}`);

  const runs = generateTrace({ config: result.config, start, days, seed, scale });
  const text = formatTrace(runs);
  if (options.out === undefined) {
    for (const line of text.split("\n")) if (line !== "") io.out(line);
    return EXIT.done;
  }
  try {
    await writeFile(options.out, text);
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : "unwritable";
    io.err(
      `trace generate: could not write ${options.out} (${code}); nothing was written; fix: check that its folder exists and is writable`,
    );
    return EXIT.failed;
  }
  const scheduled = runs.filter((run) => run.source === "scheduled").length;
  io.out(
    `wrote ${runs.length} runs (${runs.length - scheduled} ad hoc, ${scheduled} scheduled) from ${formatUtc(new Date(start))} for ${days} day${days === 1 ? "" : "s"}, seed ${seed}${scale === 1 ? "" : `, scale ${scale}`}, to ${options.out}`,
  );
  return EXIT.done;
}
