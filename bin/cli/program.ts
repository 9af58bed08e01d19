import { Command, CommanderError } from "commander";
import { registerBootstrapCommand } from "./bootstrap-command.ts";
import { configCheck, printSchema } from "./config-commands.ts";
import { EXIT, UsageError } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { observeCommand } from "./observe-command.ts";
import { registerOpsCommands } from "./ops-commands.ts";
import { registerReconcileCommands } from "./reconcile-commands.ts";
import { planCommand } from "./plan-commands.ts";
import { traceGenerate } from "./trace-commands.ts";
import { simulateCommand, type SimulateFlags } from "./simulate-command.ts";
import { scheduleEval, schedulePreview } from "./schedule-commands.ts";

function buildProgram(io: CliIo, setCode: (code: number) => void): Command {
  const program = new Command("vor-power")
    .description("Power compute hosts on and off around the work that needs them.")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    })
    .showHelpAfterError("(run with --help for usage)");

  const config = program.command("config").description("Validate and explain a config file.");
  config
    .command("check")
    .description("Validate the config and print the policy in plain words.")
    .requiredOption("--config <file>", "the vor-power config (YAML or JSON)")
    .option("--json", "machine-readable output")
    .action(async (options: { config: string; json?: boolean }) =>
      setCode(await configCheck(io, options)),
    );

  program
    .command("schema")
    .description("Print a JSON Schema (config for editors; snapshot, decision and plan for tools).")
    .argument("<which>", "config, snapshot, decision, report or plan")
    .action((which: string) => setCode(printSchema(io, which)));

  const schedule = program
    .command("schedule")
    .description("Evaluate and preview power windows and run schedules.");
  schedule
    .command("eval")
    .description("Print each schedule's state (running, stopped or any) at an instant, as JSON.")
    .requiredOption("--config <file>", "the vor-power config (only its schedules are read)")
    .option("--at <iso>", "the instant, with Z or an offset (default: now)")
    .action(async (options: { config: string; at?: string }) =>
      setCode(await scheduleEval(io, options)),
    );
  schedule
    .command("preview")
    .description("List when each schedule turns on and off and when each run schedule fires.")
    .requiredOption("--config <file>", "the vor-power config (only its schedules are read)")
    .option("--from <iso>", "the first instant, with Z or an offset (default: now)")
    .option("--days <n>", "how many days to list", "7")
    .option("--json", "machine-readable output")
    .action(async (options: { config: string; from?: string; days: string; json?: boolean }) =>
      setCode(await schedulePreview(io, options)),
    );
  program
    .command("observe")
    .description(
      "Read the live Snapshot through the AWS adapters (AWS_REGION, AWS_ENDPOINT_URL) and print it.",
    )
    .option(
      "--config <file>",
      "the vor-power config (default: the SSM parameter VOR_POWER_CONFIG_PARAMETER)",
    )
    .option("--json", "JSON (the only form)")
    .action(async (options: { config?: string }) =>
      setCode(await observeCommand(io, options, io.env ?? {})),
    );

  program
    .command("plan")
    .description(
      "Plan from a snapshot: the decisions with their rules and reasons (a dry run: nothing is done).",
    )
    .requiredOption("--config <file>", "the vor-power config")
    .option(
      "--snapshot <file>",
      "a snapshot (JSON or YAML), e.g. examples/snapshots/quiet-night.json",
    )
    .option("--at <iso>", "plan at this instant (default: the snapshot's observedAt)")
    .option("--json", "the plan as JSON")
    .action(async (options: { config: string; snapshot?: string; at?: string; json?: boolean }) =>
      setCode(await planCommand(io, options)),
    );
  registerReconcileCommands(program, io, setCode);
  registerOpsCommands(program, io, setCode);
  registerBootstrapCommand(program, io, setCode);
  const trace = program
    .command("trace")
    .description("Workload traces for the simulator (JSON Lines).");
  trace
    .command("generate")
    .description("Generate the built-in workload shape for each pool of a config.")
    .option("--config <file>", "the installation (default: the built-in example)")
    .option("--days <n>", "days of workload", "14")
    .option("--seed <n>", "seed", "1")
    .option("--start <iso>", "first instant (default: Monday 00:00Z of this week)")
    .option("--scale <x>", "ad hoc load multiplier", "1")
    .option("--out <file>", "write the JSON Lines there instead of stdout")
    .action(
      async (options: {
        config?: string;
        days: string;
        seed: string;
        start?: string;
        scale?: string;
        out?: string;
      }) => setCode(await traceGenerate(io, options)),
    );

  program
    .command("simulate")
    .description(
      "Replay a workload against the real planner under five policies; report cost and wait.",
    )
    .option("--config <file>", "the installation (default: the built-in example, pool compute)")
    .option(
      "--trace <file>",
      "a JSON Lines workload (default: a generated one, see trace generate)",
    )
    .option("--days <n>", "days to simulate", "14")
    .option("--seed <n>", "seed of the generated trace and the world's faults", "1")
    .option("--start <iso>", "first instant (default 2026-01-19T00:00:00Z, or a trace's first day)")
    .option("--out <dir>", "write report.json, report.md and report.html there")
    .option(
      "--faults <list>",
      "inject faults into vor-power's world: boot,bootstrap,vault,capacity,lag or all",
    )
    .option("--boot-min <m>", "boot time in minutes (default 3)")
    .option("--bootstrap-min <m>", "bootstrap time in minutes (default 2)")
    .option("--tick-min <m>", "tick in minutes (default 1)")
    .option("--price <p>", "price per host hour (default 2.55)")
    .option("--json", "print report.json instead of the table")
    .action(async (options: SimulateFlags) => setCode(await simulateCommand(io, options)));
  return program;
}

/** Runs one CLI invocation and returns its exit code; the one place errors become exit codes. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number = EXIT.done;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other commander error is bad usage.
      return error.exitCode === 0 ? EXIT.done : EXIT.usage;
    }
    if (error instanceof UsageError) {
      io.err(error.message);
      return EXIT.usage;
    }
    io.err(`vor-power failed: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
}
