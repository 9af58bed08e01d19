import { hostname, userInfo } from "node:os";
import type { Command } from "commander";
import { opsCommandSchema, type OpsCommand, type OpsResult } from "../../shared/ops/commands.ts";
import type { HostStatus, PoolStatus } from "../../shared/ops/read-commands.ts";
import { runOps, type StatusReport, type WriteAnswer } from "../../shared/ops/run-ops.ts";
import { loadConfigFromEnvironment, wireAws } from "../../shared/wire.ts";
import { reportInvalid } from "./config-commands.ts";
import { EXIT, UsageError } from "./errors.ts";
import { formatUtc, parseInstant } from "./instants.ts";
import type { CliIo } from "./io.ts";

// The manual ops commands (DESIGN.md, "Three ways in"): the same `runOps` the ops Lambda runs,
// through the AWS adapters of `shared/wire.ts`. Writes need --why: it is the audit trail.

type OpsName = OpsCommand["command"];

export interface OpsFlags {
  config?: string;
  pool?: string;
  host?: string;
  hosts?: string;
  until?: string;
  why?: string;
  by?: string;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

interface WriteSpec {
  name: Exclude<OpsName, "status" | "plan">;
  description: string;
  host?: boolean;
  hosts?: "required" | "optional";
  until?: boolean;
  force?: boolean;
}

const WRITES: readonly WriteSpec[] = [
  {
    name: "start",
    description:
      "Add hosts now: an ops hold at the current desired + --hosts for 30 minutes (release ends it).",
    hosts: "optional",
  },
  {
    name: "stop",
    description:
      "Stop a host: it drains at once and stops once idle; --force stops it at once, busy or not (audited).",
    host: true,
    force: true,
  },
  {
    name: "hold",
    description: "Keep at least --hosts hosts until --until (the pool's floor).",
    hosts: "required",
    until: true,
  },
  { name: "release", description: "Remove the pool's ops holds (start's included)." },
  {
    name: "exclude",
    description: "Take a host out for maintenance (vor:exclude): vor-power leaves it alone.",
    host: true,
  },
  {
    name: "include",
    description: "Bring an excluded host back; a running one goes through bootstrap again.",
    host: true,
  },
  { name: "pause", description: "Pause the pool: the planner takes no action until resume." },
  { name: "resume", description: "Resume a paused pool." },
  {
    name: "resume-pool",
    description: "Lift the pool's protection (no starts after failures or a long block).",
  },
  {
    name: "reset",
    description: "Clear a failed (quarantined) host: off when stopped, adopted when running.",
    host: true,
  },
];

/** Registers status and the write commands on the program (program.ts). */
export function registerOpsCommands(
  program: Command,
  io: CliIo,
  setCode: (code: number) => void,
): void {
  program
    .command("status")
    .description(
      "Each pool's hosts, holds, stop requests, pause, protection and the planner's numbers.",
    )
    .option("--config <file>", "the vor-power config (default: VOR_POWER_CONFIG_PARAMETER)")
    .option("--pool <name>", "one pool (default: all)")
    .option("--json", "machine-readable output")
    .action(async (flags: OpsFlags) => setCode(await opsCommand(io, "status", flags)));

  for (const spec of WRITES) {
    const command = program
      .command(spec.name)
      .description(spec.description)
      .option("--config <file>", "the vor-power config (default: VOR_POWER_CONFIG_PARAMETER)")
      .option("--pool <name>", "the pool");
    if (spec.host) command.option("--host <id>", "the host (its instance id)");
    if (spec.hosts === "optional") command.option("--hosts <n>", "how many more hosts", "1");
    if (spec.hosts === "required") command.option("--hosts <n>", "the floor to hold");
    if (spec.until) command.option("--until <iso>", "when the hold ends, with Z or an offset");
    if (spec.force) command.option("--force", "stop at once, even a busy host (audited)");
    command
      .option("--why <text>", "why (required: the audit line and the host's vor:reason)")
      .option("--by <name>", "who asks (default: the OS user)")
      .option("--dry-run", "write nothing: say what would change")
      .option("--json", "machine-readable output")
      .action(async (flags: OpsFlags) => setCode(await opsCommand(io, spec.name, flags)));
  }
}

/** Runs one ops command through the AWS adapters; the answer's status becomes the exit code. */
export async function opsCommand(io: CliIo, name: OpsName, flags: OpsFlags): Promise<number> {
  // Bad flags are reported before anything is read.
  const command = parseCommand(name, flags);
  const env = io.env ?? {};
  const config = await loadConfigFromEnvironment(env, flags.config);
  if (!config.ok)
    return reportInvalid(
      io,
      flags.config ?? "config",
      config.errors,
      config.warnings,
      flags.json === true,
    );
  const ports = await wireAws(config.config, env, (line) => io.err(line));
  const result = await runOps(command, {
    config: config.config,
    ports,
    now: io.now(),
    dryRun: flags.dryRun === true,
    owner: `vor-power-cli@${hostname()}:${process.pid}`,
  });
  report(io, name, result, flags.json === true);
  return exitCodeOf(result.status);
}

/** 200/202: done; 400/404/409: bad input or state (the message names it); 500: failed. */
export function exitCodeOf(status: OpsResult["status"]): number {
  if (status === 200 || status === 202) return EXIT.done;
  return status === 500 ? EXIT.failed : EXIT.usage;
}

const FLAG_OF: Record<string, string> = {
  pool: "--pool",
  host: "--host",
  hosts: "--hosts",
  until: "--until",
  why: "--why",
  by: "--by",
  force: "--force",
};

/** The ops command from the flags, validated by the same schema the ops Lambda uses. */
function parseCommand(name: OpsName, flags: OpsFlags): OpsCommand {
  const write = name !== "status" && name !== "plan";
  const input: Record<string, unknown> = { command: name };
  if (flags.pool !== undefined) input.pool = flags.pool;
  if (flags.host !== undefined) input.host = flags.host;
  if (flags.hosts !== undefined) {
    if (!/^\d+$/.test(flags.hosts))
      throw new UsageError(
        `--hosts: expected a whole number, found ${JSON.stringify(flags.hosts)}`,
      );
    input.hosts = Number(flags.hosts);
  }
  if (flags.until !== undefined) input.until = parseInstant(flags.until, "--until").toISOString();
  if (flags.force !== undefined) input.force = flags.force;
  if (write) {
    if (flags.why !== undefined) input.why = flags.why;
    input.by = flags.by ?? osUser();
  }
  const parsed = opsCommandSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new UsageError(
    parsed.error.issues
      .map((issue) => {
        const field = String(issue.path[0] ?? "");
        const flag = FLAG_OF[field] ?? field;
        if (field === "why" && input.why === undefined)
          return `--why: required for ${name}: say why (it is the audit line and the host's vor:reason), e.g. --why "kernel patch"`;
        if (field in FLAG_OF && input[field] === undefined) return `${flag}: required for ${name}`;
        return `${flag}: ${issue.message}`;
      })
      .join("; "),
  );
}

/** The OS user, the default `--by`; some containers have no passwd entry for theirs. */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}

function report(io: CliIo, name: OpsName, result: OpsResult, json: boolean): void {
  if (json) {
    io.out(JSON.stringify(result.body, null, 2));
    return;
  }
  if (result.status >= 400) {
    io.err(`vor-power ${name}: ${String(result.body.error)}`);
    return;
  }
  // runOps answers status with a StatusReport and every write with a WriteAnswer (run-ops.ts).
  if (name === "status") printStatus(io, result.body as StatusReport);
  else io.out(writeLine(result.body as WriteAnswer));
}

/** One line: what changed, what the reconcile did, and the audit. */
function writeLine(body: WriteAnswer): string {
  const { audit, reconcile } = body;
  const acted = reconcile?.decisions
    ?.filter((d) => d.host !== undefined && d.status !== "nothing")
    .map((d) => `${d.host ?? ""} ${d.kind} ${d.status}`);
  const after =
    reconcile === undefined
      ? ""
      : reconcile.error !== undefined
        ? `; ${reconcile.error}`
        : !reconcile.acted
          ? "; the reconcile holding the lease applies it"
          : acted && acted.length > 0
            ? `; reconciled: ${acted.join(", ")}`
            : "; reconciled: nothing else to do";
  return `${body.message}${after} [audit: ${audit.who}: ${audit.what} (why: ${audit.why}) at ${formatUtc(new Date(audit.at))}]`;
}

function printStatus(io: CliIo, report: StatusReport): void {
  io.out(`Status at ${formatUtc(new Date(report.at))}`);
  for (const [name, pool] of Object.entries(report.pools)) {
    io.out("");
    const n = pool.numbers;
    io.out(
      `pool ${name}${n ? `: desired ${n.desired}, demand ${n.demand}, floor ${n.floor}, capacity ${n.capacity}` : ""}`,
    );
    for (const line of poolLines(pool)) io.out(`  ${line}`);
    const rows = pool.hosts.map(hostRow);
    const header = ["HOST", "CLOUD", "LIFECYCLE", "BUSY", "NOTE", "REASON"];
    const widths = header.map((h, i) =>
      Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)),
    );
    const line = (cells: readonly string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd();
    io.out(`  ${line(header)}`);
    for (const row of rows) io.out(`  ${line(row)}`);
    if (rows.length === 0) io.out("  (no hosts tagged into this pool)");
  }
}

function poolLines(pool: PoolStatus): string[] {
  const lines: string[] = [];
  const signals = Object.entries(pool.signals)
    .map(([source, state]) => `${source} ${state}`)
    .join(", ");
  lines.push(
    `paused: ${pool.paused ? `yes, by ${pool.paused.by} since ${pool.paused.at} (${pool.paused.why})` : "no"}; ` +
      `protected: ${pool.protection ? `yes, since ${pool.protection.since} (${pool.protection.reason})` : "no"}; ` +
      `blind: ${pool.blind ? "yes" : "no"}; signals: ${signals || "none"}`,
  );
  for (const hold of pool.holds)
    lines.push(
      `hold: ${hold.hosts} until ${hold.until} by ${hold.by} (${hold.why})${hold.active ? "" : " [expired]"}`,
    );
  for (const [host, request] of Object.entries(pool.stopRequests))
    lines.push(
      `stop request: ${host}${request.force ? " (forced)" : ""} by ${request.by} at ${request.at} (${request.why})`,
    );
  if (pool.summary) lines.push(pool.summary);
  return lines;
}

function hostRow(host: HostStatus): string[] {
  const notes = [
    host.excluded ? "excluded" : "",
    host.failure ? `failure ${host.failure}` : "",
    host.blocked ? `blocked ${host.blocked}` : "",
    host.stopRequest ? "stop requested" : "",
  ].filter((n) => n !== "");
  return [
    host.id,
    host.cloudState,
    host.lifecycle ?? "-",
    host.busy === null ? "-" : host.busy === "unknown" ? "unknown" : host.busy ? "yes" : "no",
    notes.join(", ") || "-",
    host.reason ?? "",
  ];
}
