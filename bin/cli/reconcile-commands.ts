import { hostname } from "node:os";
import type { Command } from "commander";
import { poolFailed, reconcileOrPlan, type PoolReport } from "../../shared/act/reconcile.ts";
import { parseSubmittedRun, submitRun } from "../../shared/act/submit-run.ts";
import { loadConfigFromEnvironment, wireAws } from "../../shared/wire.ts";
import { reportInvalid } from "./config-commands.ts";
import { EXIT, UsageError } from "./errors.ts";
import { formatUtc } from "./instants.ts";
import type { CliIo } from "./io.ts";

// `vor-power tick` and `vor-power submit`: the tick and run-submitted handlers' work from a
// terminal (DESIGN.md, "Three ways in"), through the same reconcile and the AWS adapters of
// `shared/wire.ts`, so an operator can drive or rehearse an installation (or moto) by hand.

interface CommonFlags {
  config?: string;
  dryRun?: boolean;
  json?: boolean;
}

interface SubmitFlags extends CommonFlags {
  pool?: string;
  runId?: string;
  hosts?: string;
}

/** Registers tick and submit on the program (program.ts). */
export function registerReconcileCommands(
  program: Command,
  io: CliIo,
  setCode: (code: number) => void,
): void {
  const common = (command: Command) =>
    command
      .option("--config <file>", "the vor-power config (default: VOR_POWER_CONFIG_PARAMETER)")
      .option("--dry-run", "observe and plan only: act on nothing, store nothing")
      .option("--json", "machine-readable output");
  common(
    program
      .command("tick")
      .description(
        "Reconcile every pool once, as the scheduled tick does: observe, plan and act under each pool's lease.",
      ),
  ).action(async (flags: CommonFlags) => setCode(await tickCommand(io, flags)));
  common(
    program
      .command("submit")
      .description(
        "Tell vor-power a run was submitted, as the run-submitted event does: store it and reconcile its pool now.",
      )
      .option("--pool <name>", "the run's pool (optional when the config has one)")
      .option("--run-id <id>", "the run's id (submitting it twice stores it once)")
      .option("--hosts <n>", "how many hosts the run needs", "1"),
  ).action(async (flags: SubmitFlags) => setCode(await submitCommand(io, flags)));
}

const owner = (): string => `vor-power-cli@${hostname()}:${process.pid}`;

/** `vor-power tick`: every pool once; exit 1 when any pool's reconcile or act failed. */
export async function tickCommand(io: CliIo, flags: CommonFlags): Promise<number> {
  const wired = await wire(io, flags);
  if (!wired.ok) return wired.exitCode;
  const { config, ports } = wired;
  const now = io.now();
  const deps = { config, ports, dryRun: flags.dryRun === true };
  const reports = await Promise.all(
    Object.keys(config.pools).map((pool) => reconcileOrPlan(pool, deps, now, owner())),
  );
  return report(io, now, reports, flags);
}

/** `vor-power submit`: stores the run (not on a dry run) and reconciles its pool. */
export async function submitCommand(io: CliIo, flags: SubmitFlags): Promise<number> {
  // Bad flags are reported before anything is read.
  if (flags.runId === undefined)
    throw new UsageError("--run-id: required: the run's id, e.g. --run-id run-2026-11-25-001");
  if (flags.hosts !== undefined && !/^\d+$/.test(flags.hosts))
    throw new UsageError(`--hosts: expected a whole number, found ${JSON.stringify(flags.hosts)}`);
  const wired = await wire(io, flags);
  if (!wired.ok) return wired.exitCode;
  const { config, ports } = wired;
  const parsed = parseSubmittedRun(
    {
      runId: flags.runId,
      ...(flags.pool === undefined ? {} : { pool: flags.pool }),
      ...(flags.hosts === undefined ? {} : { hosts: Number(flags.hosts) }),
    },
    config,
  );
  if (!parsed.ok) throw new UsageError(parsed.why.replace(/^not a submitted run[^:]*: /, ""));
  const now = io.now();
  const done = await submitRun(
    parsed.run,
    { config, ports, dryRun: flags.dryRun === true },
    now,
    owner(),
  );
  if (!flags.json && !done.dryRun && done.error === undefined)
    io.out(
      `run ${parsed.run.runId} stored for pool ${parsed.run.pool} (${parsed.run.hosts} host${parsed.run.hosts === 1 ? "" : "s"})`,
    );
  return report(io, now, [done], flags);
}

async function wire(io: CliIo, flags: CommonFlags) {
  const env = io.env ?? {};
  const loaded = await loadConfigFromEnvironment(env, flags.config);
  if (!loaded.ok)
    return {
      ok: false as const,
      exitCode: reportInvalid(
        io,
        flags.config ?? "config",
        loaded.errors,
        loaded.warnings,
        flags.json === true,
      ),
    };
  const ports = await wireAws(loaded.config, env, (line) => io.err(line));
  return { ok: true as const, config: loaded.config, ports };
}

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** The JSON form of a pool's report: each decision with its rule, reason and what became of it. */
export function reportJson(report: PoolReport) {
  const outcomes = new Map(report.outcomes.map((o) => [o.decision, o]));
  return {
    pool: report.pool,
    dryRun: report.dryRun,
    acted: report.acted,
    ...(report.error === undefined ? {} : { error: describeError(report.error) }),
    decisions: report.decisions.map((d) => {
      const outcome = outcomes.get(d);
      return {
        rule: d.rule,
        kind: d.kind,
        ...(d.host === undefined ? {} : { host: d.host }),
        reason: d.reason,
        outcome: report.dryRun ? "dry-run" : (outcome?.status ?? "nothing"),
        ...(outcome?.why === undefined ? {} : { why: outcome.why }),
      };
    }),
  };
}

function report(io: CliIo, now: Date, reports: readonly PoolReport[], flags: CommonFlags): number {
  const failed = reports.some(poolFailed);
  if (flags.json) {
    io.out(
      JSON.stringify({ at: now.toISOString(), pools: reports.map(reportJson), failed }, null, 2),
    );
    return failed ? EXIT.failed : EXIT.done;
  }
  io.out(`${flags.dryRun ? "Planned (dry run: nothing done)" : "Reconciled"} at ${formatUtc(now)}`);
  for (const pool of reports.map(reportJson)) {
    io.out("");
    if (pool.error !== undefined) {
      io.err(`pool ${pool.pool}: reconcile failed: ${pool.error}`);
      continue;
    }
    io.out(
      `pool ${pool.pool}${!pool.dryRun && !pool.acted ? ": another invocation holds the lease; it plans once more with this" : ""}`,
    );
    for (const d of pool.decisions) {
      const line = `  ${d.rule}${d.host === undefined ? "" : ` ${d.host}`} [${d.outcome}${d.why === undefined ? "" : `: ${d.why}`}]: ${d.reason}`;
      if (d.outcome === "failed") io.err(line);
      else io.out(line);
    }
  }
  return failed ? EXIT.failed : EXIT.done;
}
