import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../shared/config/index.ts";
import { FAULT_NAMES, NO_FAULTS, faultSettings, type FaultName } from "../../shared/sim/faults.ts";
import { renderHtml } from "../../shared/sim/report-html.ts";
import { renderMarkdown, renderTable } from "../../shared/sim/report.ts";
import { WORLD_DEFAULTS, simulate } from "../../shared/sim/simulate.ts";
import { generateTrace } from "../../shared/sim/trace-generate.ts";
import { formatTraceError, parseTrace } from "../../shared/sim/trace.ts";
import type { TraceRun } from "../../shared/sim/types.ts";
import { reportInvalid } from "./config-commands.ts";
import { EXIT, UsageError } from "./errors.ts";
import { parseInstant } from "./instants.ts";
import type { CliIo } from "./io.ts";

/** The built-in installation, found beside the CLI rather than in the working directory. */
const EXAMPLE_CONFIG = fileURLToPath(new URL("../../examples/vor-power.yaml", import.meta.url));
/** The built-in trace starts on a Monday that leads into a month end (the surge is in the two weeks). */
const DEFAULT_START = "2026-01-19T00:00:00Z";

export interface SimulateFlags {
  config?: string;
  trace?: string;
  days: string;
  seed: string;
  start?: string;
  out?: string;
  faults?: string;
  bootMin?: string;
  bootstrapMin?: string;
  tickMin?: string;
  price?: string;
  json?: boolean;
}

function number(
  flag: string,
  text: string | undefined,
  fallback: number,
  check: (n: number) => boolean,
  example: string,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || !check(value)) {
    throw new UsageError(`${flag}: expected ${example}, found ${JSON.stringify(text)}`);
  }
  return value;
}

function parseFaults(text: string | undefined): FaultName[] {
  if (text === undefined || text === "" || text === "none") return [];
  const names = text === "all" ? [...FAULT_NAMES] : text.split(",").map((s) => s.trim());
  const unknown = names.filter((n) => !(FAULT_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new UsageError(
      `--faults: expected a comma list of ${FAULT_NAMES.join(", ")} (or all), found ${unknown.map((u) => JSON.stringify(u)).join(", ")}`,
    );
  }
  return names as FaultName[];
}

/** A progress bar on stderr for long runs, only on a terminal. */
function progressBar(io: CliIo, enabled: boolean): (fraction: number) => void {
  let shown = -1;
  return (fraction) => {
    if (!enabled) return;
    const percent = Math.floor(fraction * 100);
    if (percent === shown) return;
    shown = percent;
    const width = 30;
    const filled = Math.round((percent / 100) * width);
    io.progress?.(`simulating [${"#".repeat(filled)}${".".repeat(width - filled)}] ${percent}%`);
  };
}

/** `vor-power simulate [--config FILE] [--trace FILE] [--days N] [--seed N] [--out DIR] ...` */
export async function simulateCommand(io: CliIo, flags: SimulateFlags): Promise<number> {
  const days = number(
    "--days",
    flags.days,
    14,
    (n) => Number.isInteger(n) && n >= 1 && n <= 92,
    "a whole number of days from 1 to 92, e.g. --days 14",
  );
  const seed = number(
    "--seed",
    flags.seed,
    1,
    (n) => Number.isInteger(n) && n >= 0 && n <= 4_294_967_295,
    "a whole number from 0 to 4294967295, e.g. --seed 1",
  );
  const positive = (n: number) => n > 0 && n <= 1440;
  const world = {
    bootMin: number(
      "--boot-min",
      flags.bootMin,
      WORLD_DEFAULTS.bootMin,
      (n) => n >= 0 && n <= 60,
      "minutes from 0 to 60",
    ),
    bootstrapMin: number(
      "--bootstrap-min",
      flags.bootstrapMin,
      WORLD_DEFAULTS.bootstrapMin,
      (n) => n >= 0 && n <= 60,
      "minutes from 0 to 60",
    ),
    tickMin: number(
      "--tick-min",
      flags.tickMin,
      WORLD_DEFAULTS.tickMin,
      (n) => Number.isInteger(n) && positive(n),
      "a whole number of minutes, e.g. 1",
    ),
    pricePerHostHour: number(
      "--price",
      flags.price,
      WORLD_DEFAULTS.pricePerHostHour,
      (n) => n >= 0,
      "a price per host hour, e.g. 2.55",
    ),
  };
  const faults = parseFaults(flags.faults);
  const configFile = flags.config ?? EXAMPLE_CONFIG;
  const config = await loadConfig(configFile);
  if (!config.ok) return reportInvalid(io, configFile, config.errors, config.warnings, false);

  let trace: readonly TraceRun[];
  let traceName = "built-in";
  let start = parseInstant(flags.start ?? DEFAULT_START, "--start").getTime();
  if (flags.trace !== undefined) {
    let text: string;
    try {
      text = await readFile(flags.trace, "utf8");
    } catch {
      throw new UsageError(
        `--trace: expected a readable JSON Lines file at ${flags.trace}, found none; fix: write one with vor-power trace generate`,
      );
    }
    const parsed = parseTrace(text);
    if (!parsed.ok) {
      io.err(
        `${flags.trace}: ${parsed.errors.length} bad line${parsed.errors.length === 1 ? "" : "s"}; nothing was run.`,
      );
      for (const error of parsed.errors) io.err(`  ${formatTraceError(error)}`);
      return EXIT.usage;
    }
    const unknownPools = [...new Set(parsed.runs.map((r) => r.pool))].filter(
      (p) => !(p in config.config.pools),
    );
    if (unknownPools.length > 0) {
      throw new UsageError(
        `--trace: runs name pools the config does not have (${unknownPools.join(", ")}); fix: use --config with those pools`,
      );
    }
    trace = parsed.runs;
    traceName = basename(flags.trace);
    // A trace file starts the simulation at its first run's day, unless --start says otherwise.
    const first = parsed.runs[0]?.submittedAt;
    if (flags.start === undefined && first !== undefined)
      start = Math.floor(first / 86_400_000) * 86_400_000;
  } else {
    trace = generateTrace({ config: config.config, start, days, seed });
  }

  const settings = { ...world, days, seed, start };
  const result = await simulate({
    config: config.config,
    trace,
    traceName,
    settings,
    faults: faults.length > 0 ? faultSettings(faults) : NO_FAULTS,
    onProgress: progressBar(io, io.isTerminal === true),
  });
  io.progress?.("");
  if (flags.json) io.out(JSON.stringify(result.report, null, 2));
  else io.out(renderTable(result.report));
  if (flags.out !== undefined) {
    await mkdir(flags.out, { recursive: true });
    await writeFile(join(flags.out, "report.json"), `${JSON.stringify(result.report, null, 2)}\n`);
    await writeFile(join(flags.out, "report.md"), renderMarkdown(result.report));
    await writeFile(
      join(flags.out, "report.html"),
      renderHtml(result.report, result.runs, result.timeline, settings),
    );
    if (!flags.json)
      io.out(`\nWrote ${join(flags.out, "report.json")}, report.md and report.html.`);
  }
  return EXIT.done;
}
