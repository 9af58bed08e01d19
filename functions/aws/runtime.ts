import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy, { type MiddlewareObj, type MiddyfiedHandler } from "@middy/core";
import type { Context } from "aws-lambda";
import type { Ports } from "../../shared/act/ports.ts";
import { PermanentError } from "../../shared/cloud/errors.ts";
import { formatIssue, type Config } from "../../shared/config/index.ts";
import { runOps } from "../../shared/ops/run-ops.ts";
import { loggerFor, metrics } from "../../shared/observability.ts";
import { loadConfigFromEnvironment, wireAws, type Environment } from "../../shared/wire.ts";

// The Lambda handlers' wiring seam: what every handler takes (config, ports, clock, dry-run
// switch, the ops runner), built once per cold start from the environment by `shared/wire.ts`,
// and the one middy chain every handler is wrapped in. Tests replace the dependencies with
// in-memory ones through `setDependenciesForTests`, never by mocking module paths.

const log = loggerFor("runtime");

/** The ops runner (`shared/ops/run-ops.ts`), a dependency so that handler tests can fake it. */
export type RunOps = typeof runOps;

export interface Dependencies {
  config: Config;
  ports: Ports;
  /** the wall clock: a handler reads it once per invocation */
  clock: () => Date;
  /** VOR_POWER_DRY_RUN=true: observe, plan and log; never act */
  dryRun: boolean;
  runOps: RunOps;
}

async function buildDependencies(env: Environment): Promise<Dependencies> {
  const loaded = await loadConfigFromEnvironment(env, undefined);
  if (!loaded.ok) {
    // Permanent: retrying reads the same parameter. Not memoised, so a fixed parameter is read.
    throw new PermanentError(
      `the config in SSM parameter ${env.VOR_POWER_CONFIG_PARAMETER ?? "(VOR_POWER_CONFIG_PARAMETER unset)"} is invalid: ${loaded.errors.map(formatIssue).join("; ")}; fix it (\`vor-power config check\`): the next invocation reads it again`,
      { cause: loaded.errors },
    );
  }
  for (const warning of loaded.warnings) log.warn(`config: ${formatIssue(warning)}`);
  const ports = await wireAws(loaded.config, env, (line) =>
    log.warn("alert (no alerts destination configured)", { line }),
  );
  return {
    config: loaded.config,
    ports,
    clock: () => new Date(),
    dryRun: env.VOR_POWER_DRY_RUN === "true",
    runOps,
  };
}

// Memoised per cold start: the config parameter, the secrets and the SDK clients are read and
// built once, not on every tick. A failed build is forgotten, so that the next invocation tries
// again (an SSM throttle at cold start must not poison the container until it is recycled).
let built: Promise<Dependencies> | undefined;

/** The dependencies of this container, built on first use. */
export function dependencies(): Promise<Dependencies> {
  built ??= buildDependencies(process.env).catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  return built;
}

/** Replaces the dependencies (tests); `undefined` makes the next call build them from the environment. */
export function setDependenciesForTests(replacement: Dependencies | undefined): void {
  built = replacement === undefined ? undefined : Promise.resolve(replacement);
}

/** Who holds a lease taken by this invocation (shown in the state store). */
export const ownerOf = (context: Pick<Context, "functionName" | "awsRequestId">): string =>
  `${context.functionName || "vor-power"}:${context.awsRequestId}`;

/**
 * Whether letting the platform retry could help (STYLE.md, "Errors"): a PermanentError (denied,
 * not found, an invalid config) fails the same way again; anything else (throttling, a timeout, a
 * lost lease, an error we do not know) may pass.
 */
export const isRetryable = (error: unknown): boolean => !(error instanceof PermanentError);

/** "TransientError: EC2 throttled DescribeInstances" (no stack: the log line carries that). */
export const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * The correlation id when the event has none at `correlationIdPath` (an SQS batch, a direct
 * invoke): the Lambda request id, so that every line of an invocation shares one id.
 */
const correlateByRequestId = (moduleLog: Logger): MiddlewareObj => ({
  before: (request) => {
    if (moduleLog.getCorrelationId() === undefined)
      moduleLog.setCorrelationId(request.context.awsRequestId);
  },
});

/**
 * Wraps a handler in the one middy chain (STYLE.md, "A handler, in prose"): the Powertools logger
 * with the Lambda context and a correlation id per invocation, then metrics published in embedded
 * metric format when the invocation ends, thrown or not. Handlers export what this returns.
 */
export function wrapHandler<TResult>(
  handler: (event: unknown, context: Context) => Promise<TResult>,
  options: { log: Logger; correlationIdPath?: string },
): MiddyfiedHandler<unknown, TResult> {
  return middy<unknown, TResult>(handler)
    .use(
      injectLambdaContext(options.log, {
        resetKeys: true,
        ...(options.correlationIdPath ? { correlationIdPath: options.correlationIdPath } : {}),
      }),
    )
    .use(correlateByRequestId(options.log))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
