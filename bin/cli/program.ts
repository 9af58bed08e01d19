import { Command, CommanderError } from "commander";
import { configCheck, printSchema } from "./config-commands.ts";
import { EXIT, UsageError } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { planCommand } from "./plan-commands.ts";
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
    .argument("<which>", "config, snapshot, decision or plan")
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
