import { readFile } from "node:fs/promises";
import { loadConfig, readConfigText } from "../../shared/config/index.ts";
import { fromZodIssues } from "../../shared/config/issues.ts";
import { knownKeysAt } from "../../shared/config/schema.ts";
import {
  plan,
  snapshotSchema,
  type Decision,
  type Plan,
  type Snapshot,
} from "../../shared/plan/index.ts";
import { livePlan } from "./observe-command.ts";
import { reportInvalid } from "./config-commands.ts";
import { EXIT, UsageError } from "./errors.ts";
import { formatUtc, parseInstant } from "./instants.ts";
import type { CliIo } from "./io.ts";

/** Reads and validates a snapshot file (JSON or YAML); every problem is reported at once. */
async function loadSnapshot(io: CliIo, file: string): Promise<Snapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
    throw new UsageError(
      `--snapshot: expected a readable snapshot file at ${file}, found ${code === "ENOENT" ? "no such file" : code}; fix: write one with vor-power observe --json, or start from examples/snapshots/`,
    );
  }
  const read = readConfigText(text);
  if (!read.ok) {
    reportInvalid(io, file, read.errors, [], false);
    return undefined;
  }
  const parsed = snapshotSchema.safeParse(read.raw, { reportInput: true });
  if (!parsed.success) {
    reportInvalid(
      io,
      file,
      fromZodIssues(parsed.error.issues, read.raw, (path) => knownKeysAt(snapshotSchema, path)),
      [],
      false,
    );
    return undefined;
  }
  return parsed.data;
}

const strip = (decision: Decision) => {
  const prefix = `${decision.host ?? decision.pool}: `;
  return decision.reason.startsWith(prefix)
    ? decision.reason.slice(prefix.length)
    : decision.reason;
};

/** `vor-power plan --config FILE --snapshot FILE [--at ISO] [--json]` */
export async function planCommand(
  io: CliIo,
  options: { config: string; snapshot?: string; at?: string; json?: boolean },
): Promise<number> {
  const atFlag = options.at === undefined ? undefined : parseInstant(options.at, "--at");
  let snapshot: Snapshot;
  let result: Plan;
  if (options.snapshot === undefined) {
    // Live: observe through the AWS adapters (AWS_ENDPOINT_URL points them at moto in tests).
    const live = await livePlan(io, options.config, io.env ?? {});
    if (!live.ok) return live.exitCode;
    snapshot = live.snapshot;
    result = atFlag ? plan(snapshot, live.config, atFlag) : live.result;
  } else {
    const config = await loadConfig(options.config);
    if (!config.ok)
      return reportInvalid(
        io,
        options.config,
        config.errors,
        config.warnings,
        options.json === true,
      );
    const loaded = await loadSnapshot(io, options.snapshot);
    if (!loaded) return EXIT.usage;
    snapshot = loaded;
    result = plan(snapshot, config.config, atFlag ?? new Date(snapshot.observedAt));
  }
  const at = new Date(result.at);
  if (options.json) {
    io.out(JSON.stringify(result, null, 2));
    return EXIT.done;
  }
  io.out(
    `Plan at ${formatUtc(at)} (snapshot observed ${formatUtc(new Date(snapshot.observedAt))})`,
  );
  for (const pool of [...new Set(result.decisions.map((d) => d.pool))]) {
    const decisions = result.decisions.filter((d) => d.pool === pool);
    const numbers = decisions.find((d) => d.numbers)?.numbers;
    io.out("");
    io.out(
      `pool ${pool}${numbers ? `: desired ${numbers.desired}, demand ${numbers.demand}, floor ${numbers.floor}, capacity ${numbers.capacity}` : ""}`,
    );
    const hostWidth = Math.max(4, ...decisions.map((d) => (d.host ?? "-").length));
    const ruleWidth = Math.max(4, ...decisions.map((d) => d.rule.length));
    io.out(
      `  ${"DECISION".padEnd(10)} ${"RULE".padEnd(ruleWidth)} ${"HOST".padEnd(hostWidth)} REASON`,
    );
    for (const decision of decisions) {
      io.out(
        `  ${decision.kind.padEnd(10)} ${decision.rule.padEnd(ruleWidth)} ${(decision.host ?? "-").padEnd(hostWidth)} ${strip(decision)}`,
      );
    }
  }
  return EXIT.done;
}
