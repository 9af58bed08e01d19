import {
  configJsonSchema,
  formatIssue,
  formatPath,
  loadConfig,
  type ConfigIssue,
} from "../../shared/config/index.ts";
import { z } from "zod";
import { describeConfig } from "../../shared/config/describe.ts";
import { decisionSchema, planSchema, snapshotSchema } from "../../shared/plan/index.ts";
import { reportSchema } from "../../shared/sim/report-schema.ts";
import { EXIT } from "./errors.ts";
import type { CliIo } from "./io.ts";

const issueJson = (issue: ConfigIssue) => ({
  path: formatPath(issue.path),
  message: issue.message,
});

/** Prints every error and warning at once; returns the exit code for an invalid file. */
export function reportInvalid(
  io: CliIo,
  file: string,
  errors: readonly ConfigIssue[],
  warnings: readonly ConfigIssue[],
  json: boolean,
): number {
  if (json) {
    io.out(
      JSON.stringify(
        { valid: false, errors: errors.map(issueJson), warnings: warnings.map(issueJson) },
        null,
        2,
      ),
    );
  } else {
    io.err(`${file}: ${errors.length} error${errors.length === 1 ? "" : "s"}; nothing was run.`);
    for (const issue of errors) io.err(`  error: ${formatIssue(issue)}`);
    for (const issue of warnings) io.err(`  warning: ${formatIssue(issue)}`);
  }
  return EXIT.usage;
}

/** `vor-power config check --config FILE [--json]` */
export async function configCheck(
  io: CliIo,
  options: { config: string; json?: boolean },
): Promise<number> {
  const result = await loadConfig(options.config);
  if (!result.ok)
    return reportInvalid(io, options.config, result.errors, result.warnings, options.json === true);
  if (options.json) {
    io.out(
      JSON.stringify(
        {
          valid: true,
          errors: [],
          warnings: result.warnings.map(issueJson),
          policy: describeConfig(result.config),
        },
        null,
        2,
      ),
    );
    return EXIT.done;
  }
  const count = result.warnings.length;
  io.out(
    `${options.config}: valid${count > 0 ? ` (${count} warning${count === 1 ? "" : "s"})` : ""}.`,
  );
  for (const issue of result.warnings) io.out(`  warning: ${formatIssue(issue)}`);
  io.out("");
  for (const line of describeConfig(result.config)) io.out(line);
  return EXIT.done;
}

const SCHEMAS: Record<string, () => Record<string, unknown>> = {
  config: configJsonSchema,
  snapshot: () => ({
    ...z.toJSONSchema(snapshotSchema, { io: "input", unrepresentable: "any" }),
    title: "vor-power snapshot",
  }),
  decision: () => ({
    ...z.toJSONSchema(decisionSchema, { unrepresentable: "any" }),
    title: "vor-power decision",
  }),
  report: () => ({
    ...z.toJSONSchema(reportSchema, { unrepresentable: "any" }),
    title: "vor-power simulator report",
  }),
  plan: () => ({
    ...z.toJSONSchema(planSchema, { unrepresentable: "any" }),
    title: "vor-power plan",
  }),
};

/** `vor-power schema config|snapshot|decision|report|plan` */
export function printSchema(io: CliIo, which: string): number {
  const schema = SCHEMAS[which];
  if (schema) {
    io.out(JSON.stringify(schema(), null, 2));
    return EXIT.done;
  }
  io.err(
    `schema: expected one of ${Object.keys(SCHEMAS).join(", ")}, found ${JSON.stringify(which)}; fix: e.g. vor-power schema config`,
  );
  return EXIT.usage;
}
