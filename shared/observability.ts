import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

// The one logger and the one metrics instance of every Lambda entry point (STYLE.md: PT
// `commons/powertools`, GR `aws-powertools-util`), built once per cold start. Building them does
// no I/O: Powertools reads its POWERTOOLS_* variables here and writes only when asked. Core code
// (config, schedule, plan) never imports this module; handlers report what the core returned.

export const SERVICE_NAME = "vor-power";
export const METRICS_NAMESPACE = "VorPower";

/**
 * Finds a correlation id by a plain dotted path ("requestContext.requestId"). Powertools' own
 * search is JMESPath, an optional peer dependency we do not install: our paths never need more.
 */
export function findByPath(expression: string, data: unknown): unknown {
  let node: unknown = data;
  for (const key of expression.split(".")) {
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === "string" || typeof node === "number" ? node : undefined;
}

export const logger = new Logger({ serviceName: SERVICE_NAME, correlationIdSearchFn: findByPath });

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

const children = new Map<string, Logger>();

/** The logger of one module: the shared logger with a `module` key (the same instance per name). */
export function loggerFor(module: string): Logger {
  let child = children.get(module);
  if (child === undefined) {
    child = logger.createChild({ persistentKeys: { module } });
    children.set(module, child);
  }
  return child;
}

/** The metrics vor-power publishes (namespace VorPower), in CloudWatch embedded metric format. */
export type MetricName =
  "HostsDesired" | "HostsCapacity" | "Starts" | "Stops" | "Failures" | "Holds" | "BlindMinutes";

/** Adds each value to the invocation's metrics; `logMetrics` publishes them when it ends. */
export function addMetrics(values: Partial<Record<MetricName, number>>): void {
  for (const [name, value] of Object.entries(values)) {
    metrics.addMetric(name, name === "BlindMinutes" ? MetricUnit.NoUnit : MetricUnit.Count, value);
  }
}
