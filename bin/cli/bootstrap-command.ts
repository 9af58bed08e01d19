import type { Command } from "commander";
import { ACCESS_SCRIPT, targetOf } from "../../shared/bootstrap/channel-bootstrap.ts";
import type { Trace, TraceEntry } from "../../shared/bootstrap/bootstrap-trace.ts";
import { AccessFault } from "../../shared/bootstrap/host-channel.ts";
import { PLAYPEN_CHECKS } from "../../shared/bootstrap/playpen-check.ts";
import type { PoolBootstrap } from "../../shared/bootstrap/pool-bootstrap.ts";
import { resolveEndpoint } from "../../shared/bootstrap/ssh-address.ts";
import type { Config } from "../../shared/config/index.ts";
import type { BootstrapResult, HostSnapshot } from "../../shared/plan/snapshot.ts";
import { loadConfigFromEnvironment, wireBootstrap } from "../../shared/wire.ts";
import { fixFor } from "./bootstrap-fixes.ts";
import { reportInvalid } from "./config-commands.ts";
import { EXIT, UsageError } from "./errors.ts";
import type { CliIo } from "./io.ts";

// `vor-power bootstrap --host ID` (issue 13): why is this host not ready? It runs the bootstrap
// step's own steps (ChannelBootstrap.diagnose: the same channel, signer and playpen script) for one
// host and prints each with its outcome, code and time. It is a diagnosis: it claims nothing,
// records no result in the state store and writes no tag, so it may run beside the tick at any
// time; the planner keeps acting on what the bootstrap step itself records.

export interface BootstrapFlags {
  config?: string;
  host: string;
  dryRun?: boolean;
  json?: boolean;
}

export function registerBootstrapCommand(
  program: Command,
  io: CliIo,
  setCode: (code: number) => void,
): void {
  program
    .command("bootstrap")
    .description(
      "Run the bootstrap steps for one host and print each with its result: why is it not ready? " +
        "A diagnosis: it records nothing in the state store and writes no tag.",
    )
    .option("--config <file>", "the vor-power config (default: VOR_POWER_CONFIG_PARAMETER)")
    .requiredOption("--host <id>", "the host (its instance id)")
    .option("--dry-run", "connect and sign nothing: print the channel, address and checks")
    .option("--json", "machine-readable output")
    .action(async (flags: BootstrapFlags) => setCode(await bootstrapCommand(io, flags)));
}

/** The host step's view: where the host is and how it would be reached. */
interface Found {
  pool: string;
  host: HostSnapshot;
  channel: Config["pools"][string]["channel"];
  /** "127.0.0.1:2222" (SSH), "instance i-0abc" (SSM), or why there is none */
  address: string;
}

export async function bootstrapCommand(io: CliIo, flags: BootstrapFlags): Promise<number> {
  const env = io.env ?? {};
  const loaded = await loadConfigFromEnvironment(env, flags.config);
  if (!loaded.ok)
    return reportInvalid(
      io,
      flags.config ?? "config",
      loaded.errors,
      loaded.warnings,
      flags.json === true,
    );
  const config = loaded.config;
  // The playpen check's log lines say what the trace says: the trace is printed instead.
  const { compute, bootstrap } = wireBootstrap(config, env, () => undefined);
  const startedAt = performance.now();
  const found = await findHost(config, flags.host, (pool) => compute.listHosts(pool));
  const hostEntry = hostStep(config, found, performance.now() - startedAt);

  if (flags.dryRun === true) {
    const plan = dryRunPlan(config, found);
    if (flags.json === true)
      io.out(
        JSON.stringify(
          { host: flags.host, pool: found.pool, dryRun: true, steps: [hostEntry], plan },
          null,
          2,
        ),
      );
    else {
      io.out(
        `bootstrap of ${flags.host} (pool ${found.pool}), dry run: nothing is connected or signed`,
      );
      printEntry(io, hostEntry);
      for (const line of plan) io.out(`  would ${line}`);
    }
    return EXIT.done;
  }

  const steps: TraceEntry[] = [hostEntry];
  const results =
    hostEntry.outcome === "passed"
      ? await diagnose(bootstrap, found, io.now(), (entry) => steps.push(entry))
      : [];
  const failed = steps.find((s) => s.outcome === "failed");
  if (flags.json === true)
    io.out(
      JSON.stringify(
        {
          host: flags.host,
          pool: found.pool,
          dryRun: false,
          recorded: false,
          ok: failed === undefined,
          ...(failed === undefined
            ? {}
            : { failed: { step: failed.step, code: failed.code, detail: failed.detail } }),
          steps,
          results,
        },
        null,
        2,
      ),
    );
  else {
    io.out(
      `bootstrap of ${flags.host} (pool ${found.pool}): a diagnosis; nothing is recorded, no tag is written`,
    );
    for (const entry of steps) printEntry(io, entry);
    io.out(
      failed === undefined
        ? "ready: every step passed"
        : `not ready: failed at ${failed.step} (${failed.code}); fix: ${fixFor(failed.code)}`,
    );
  }
  return failed === undefined ? EXIT.done : EXIT.failed;
}

/** The bootstrap step's own steps, traced; then its verdict as a step of its own. */
async function diagnose(
  bootstrap: PoolBootstrap,
  found: Found,
  now: Date,
  trace: Trace,
): Promise<BootstrapResult[]> {
  const diagnosis = await bootstrap.diagnose(
    found.pool,
    found.host.id,
    { reference: false, trace },
    now,
  );
  const results = diagnosis?.results ?? [];
  const verdict = results.at(-1);
  if (verdict === undefined)
    // stopped between the two listings: the bootstrap step would have done nothing either
    trace({
      step: "verdict",
      outcome: "failed",
      code: "host:not-running",
      detail: "the host was no longer running when the steps began",
      facts: {},
    });
  else
    trace({
      step: "verdict",
      outcome: verdict.outcome === "passed" ? "passed" : "failed",
      code: verdict.code,
      detail:
        verdict.outcome === "passed"
          ? "every step passed: the bootstrap step would record this host as passed"
          : `the bootstrap step would record: ${verdict.step} ${verdict.outcome}, ${verdict.code}`,
      facts: { step: verdict.step },
    });
  return results;
}

/** The host in whichever pool lists it; an unknown host is bad input (exit 2). */
async function findHost(
  config: Config,
  id: string,
  listHosts: (pool: string) => Promise<HostSnapshot[]>,
): Promise<Found> {
  const pools = Object.keys(config.pools);
  for (const pool of pools) {
    const host = (await listHosts(pool)).find((h) => h.id === id);
    if (host === undefined) continue;
    const channel = config.pools[pool]?.channel ?? "ssh";
    return { pool, host, channel, address: addressOf(config, pool, host, channel) };
  }
  throw new UsageError(
    `--host: no host ${id} in any pool (${pools.join(", ")}); fix: a host belongs to a pool by its tag ${config.cloud.poolTag}=<pool>`,
  );
}

function addressOf(
  config: Config,
  pool: string,
  host: HostSnapshot,
  channel: Found["channel"],
): string {
  if (channel === "ssm") return `instance ${host.id}`;
  const ssh = config.bootstrap.ssh;
  if (ssh === undefined) return "none (bootstrap.ssh is not configured)";
  try {
    const endpoint = resolveEndpoint(targetOf(pool, host), ssh);
    return `${endpoint.host}:${endpoint.port}`;
  } catch (error) {
    return `none (${error instanceof AccessFault ? error.message : "unresolvable"})`;
  }
}

/** Step `host`: its pool, cloud state, lifecycle tags, channel and address. */
function hostStep(config: Config, found: Found, durationMs: number): TraceEntry {
  const { host, channel } = found;
  const vorTags = Object.entries(host.tags)
    .filter(([key]) => key.startsWith("vor:") && key !== config.cloud.poolTag)
    .map(([key, value]) => `${key}=${value}`);
  const configured =
    channel === "ssm" ||
    (config.bootstrap.vault !== undefined && config.bootstrap.ssh !== undefined);
  const facts = {
    pool: found.pool,
    cloudState: host.cloudState,
    tags: vorTags,
    channel,
    address: found.address,
  };
  const where = `${host.cloudState}; ${vorTags.join(", ") || "no vor: tags"}; channel ${channel} to ${found.address}`;
  const entry = (outcome: TraceEntry["outcome"], code: string, detail: string): TraceEntry => ({
    step: "host",
    outcome,
    code,
    durationMs: Math.round(durationMs * 10) / 10,
    detail,
    facts,
  });
  if (host.cloudState !== "running")
    return entry("failed", "host:not-running", `${where}: only a running host is bootstrapped`);
  if (!configured)
    return entry(
      "failed",
      "channel:none",
      `${where}: the SSH channel needs bootstrap.vault and bootstrap.ssh`,
    );
  return entry("passed", "ok", where);
}

/** What a real run would do, in order, from the config alone. */
function dryRunPlan(config: Config, found: Found): string[] {
  const lines: string[] = [];
  const { vault, ssh, playpens } = config.bootstrap;
  if (found.channel === "ssh" && vault !== undefined && ssh !== undefined) {
    lines.push(
      `log in to Vault at ${vault.address}${vault.namespace === undefined ? "" : ` (namespace ${vault.namespace})`} with AppRole`,
      `sign a new ed25519 key at ${vault.sign.mount}/sign/${vault.sign.role} for ${vault.sign.principals.join(",")}, valid ${Math.round(vault.sign.ttl / 1000)} s`,
      ssh.hostKey.mode === "ca"
        ? `verify the host certificate against the host CA at ${ssh.hostKey.mount}/public_key`
        : "verify the host key against the keys its console output pins",
      `log in over SSH as ${ssh.user} at ${found.address} and run \`${ACCESS_SCRIPT}\``,
    );
  } else if (found.channel === "ssm") {
    lines.push(`run \`${ACCESS_SCRIPT}\` through SSM Run Command on ${found.host.id}`);
  }
  if (playpens.length === 0) lines.push("run no playpen check (bootstrap.playpens is empty)");
  const checks = PLAYPEN_CHECKS.map((c) => c.check).join(", ");
  for (const p of playpens)
    lines.push(
      `check playpen ${p.path} (${checks}): fs type ${p.fsTypes.join(" or ")}${p.source === undefined ? "" : `, source ${p.source}`}, as ${p.runAs}, marker ${p.marker.file}`,
    );
  return lines;
}

function printEntry(io: CliIo, entry: TraceEntry): void {
  const time = entry.durationMs === undefined ? "" : `${entry.durationMs.toFixed(1)} ms`;
  io.out(
    `  ${entry.step.padEnd(12)} ${entry.outcome.padEnd(6)} ${time.padStart(10)}  ${entry.code}  ${entry.detail}`,
  );
  if (entry.checks !== undefined)
    io.out(`  ${"".padEnd(31)}${entry.checks.map((c) => `${c.check} ${c.outcome}`).join(", ")}`);
}
