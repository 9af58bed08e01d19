import { observe } from "../../shared/act/observe.ts";
import type { Config } from "../../shared/config/index.ts";
import type { Plan, Snapshot } from "../../shared/plan/index.ts";
import { plan } from "../../shared/plan/plan.ts";
import { loadConfigFromEnvironment, wireAws } from "../../shared/wire.ts";
import { reportInvalid } from "./config-commands.ts";
import { EXIT } from "./errors.ts";
import type { CliIo } from "./io.ts";

type Environment = Readonly<Record<string, string | undefined>>;

/** `vor-power observe --config FILE --json`: the live Snapshot, read through the AWS adapters. */
export async function observeCommand(
  io: CliIo,
  options: { config?: string },
  env: Environment,
): Promise<number> {
  const config = await loadConfigFromEnvironment(env, options.config);
  if (!config.ok)
    return reportInvalid(io, options.config ?? "config", config.errors, config.warnings, false);
  const ports = await wireAws(config.config, env, (line) => io.err(line));
  const snapshot = await observe(config.config, ports, io.now());
  io.out(JSON.stringify(snapshot, null, 2));
  return EXIT.done;
}

export type LivePlan =
  { ok: false; exitCode: number } | { ok: true; snapshot: Snapshot; config: Config; result: Plan };

/** The live half of `vor-power plan` (no --snapshot): observe through the adapters, then plan. */
export async function livePlan(
  io: CliIo,
  configFile: string | undefined,
  env: Environment,
): Promise<LivePlan> {
  const config = await loadConfigFromEnvironment(env, configFile);
  if (!config.ok)
    return {
      ok: false,
      exitCode: reportInvalid(io, configFile ?? "config", config.errors, config.warnings, false),
    };
  const ports = await wireAws(config.config, env, (line) => io.err(line));
  const now = io.now();
  const snapshot = await observe(config.config, ports, now);
  return { ok: true, snapshot, config: config.config, result: plan(snapshot, config.config, now) };
}
