import { compileRunSchedule, compileSchedule, type ScheduleIssue } from "../schedule/index.ts";
import { formatDuration } from "./duration.ts";
import type { ConfigIssue } from "./issues.ts";
import type { BusySource, Config, ParsedConfig, Pool, ScheduleSections } from "./schema.ts";

// Cross-field rules: what a schema cannot say about one field alone. Each rule is named for the
// invariant it protects. They run on whatever parts parsed, so every problem is reported at once.

interface RuleResult {
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

const prefixed = (prefix: (string | number)[], issues: readonly ScheduleIssue[]): ConfigIssue[] =>
  issues.map((issue) => ({ path: [...prefix, ...issue.path], message: issue.message }));

const nameList = (names: readonly string[]) =>
  names.length === 0 ? "none is configured" : names.join(", ");

/** Schedules and run schedules compile (periods, time zones, cron), and run schedules name pools. */
export function checkScheduleRules(
  parts: Partial<ScheduleSections>,
  pools: { names: string[]; parsed: Partial<ParsedConfig>["pools"] } | undefined,
): RuleResult {
  const result: RuleResult = { errors: [], warnings: [] };
  for (const [name, schedule] of Object.entries(parts.schedules ?? {})) {
    const compiled = compileSchedule(schedule);
    if (compiled.ok) result.warnings.push(...prefixed(["schedules", name], compiled.warnings));
    else result.errors.push(...prefixed(["schedules", name], compiled.issues));
  }
  for (const [name, runSchedule] of Object.entries(parts.runSchedules ?? {})) {
    const compiled = compileRunSchedule(runSchedule);
    if (compiled.ok) result.warnings.push(...prefixed(["runSchedules", name], compiled.warnings));
    else result.errors.push(...prefixed(["runSchedules", name], compiled.issues));
    if (pools === undefined) continue;
    const pool = pools.parsed?.[runSchedule.pool];
    if (!pools.names.includes(runSchedule.pool)) {
      result.errors.push({
        path: ["runSchedules", name, "pool"],
        message: `expected the name of a configured pool (${nameList(pools.names)}), found ${JSON.stringify(runSchedule.pool)}; fix: name a pool under pools`,
      });
    } else if (pool && runSchedule.hosts > pool.max) {
      result.warnings.push({
        path: ["runSchedules", name, "hosts"],
        message: `expected at most the pool's max (${pool.max}), found ${runSchedule.hosts}; only ${pool.max} will be held on; fix: lower hosts or raise pools.${runSchedule.pool}.max`,
      });
    }
  }
  return result;
}

/** Every cross-field rule of a full config; on success also returns the normalised config. */
export function checkConfigRules(
  parts: Partial<ParsedConfig>,
  raw: unknown,
): RuleResult & { config?: Config } {
  // Names are read from the file, not from what parsed: a pool with a bad field still exists.
  const rawPools = rawObject(rawObject(raw).pools);
  const poolNames = Object.keys(rawPools);
  const scheduleNames = Object.keys(rawObject(rawObject(raw).schedules));
  const result = checkScheduleRules(parts, { names: poolNames, parsed: parts.pools });
  const { errors, warnings } = result;
  const pools: Record<string, Pool> = {};

  for (const [name, pool] of Object.entries(parts.pools ?? {})) {
    const at = (...path: (string | number)[]) => ["pools", name, ...path];

    // min <= max: desired is clamped into [min, max], which must not be empty.
    if (pool.min > pool.max) {
      errors.push({
        path: at("min"),
        message: `expected min at most max (${pool.max}), found ${pool.min}; fix: lower min or raise max`,
      });
    }
    if (pool.max === 0) {
      warnings.push({
        path: at("max"),
        message:
          "expected at least 1, found 0; this pool never starts a host; fix: raise max if that is not intended",
      });
    }

    // Windows name schedules that exist; a missing one would silently give no floor.
    pool.windows.forEach((window, index) => {
      if (!scheduleNames.includes(window.schedule)) {
        errors.push({
          path: at("windows", index, "schedule"),
          message: `expected the name of a schedule under schedules (${nameList(scheduleNames)}), found ${JSON.stringify(window.schedule)}; fix: correct the name or add the schedule`,
        });
      }
      if (window.hosts > pool.max) {
        warnings.push({
          path: at("windows", index, "hosts"),
          message: `expected at most the pool's max (${pool.max}), found ${window.hosts}; only ${pool.max} will be held on; fix: lower hosts or raise max`,
        });
      }
    });

    // Busy sources: the midtier is required (drains rely on it recording runs before dispatch),
    // and every named source must be configured. Unset means every configured source.
    const configured = (["rabbitmq", "midtier"] as const).filter(
      (s) => parts.signals?.[s] !== undefined,
    );
    const rawBusy = rawObject(rawPools[name]).busy;
    const busy: BusySource[] = pool.busy ?? [...new Set<BusySource>([...configured, "midtier"])];
    if (!busy.includes("midtier")) {
      errors.push({
        path: at("busy"),
        message: `expected a list that includes midtier, found [${busy.join(", ")}]; a drain is safe only because the midtier records each run on its hosts before dispatching it; fix: add midtier`,
      });
    }
    busy.forEach((source, index) => {
      if (parts.signals !== undefined && parts.signals[source] === undefined) {
        errors.push({
          path: rawBusy === undefined ? ["signals", source] : at("busy", index),
          message: `expected signals.${source} to be configured (pool ${name} reads it to know which hosts are busy), found nothing; fix: add signals.${source}${rawBusy === undefined ? "" : ` or remove it from pools.${name}.busy`}`,
        });
      }
    });

    // drainGrace above listMaxAge: the midtier may dispatch from a list that old, so a host must
    // stay draining longer than that before it can be stopped.
    const listMaxAge = parts.signals?.midtier?.listMaxAge;
    if (listMaxAge !== undefined && pool.drainGrace <= listMaxAge) {
      errors.push({
        path: at("drainGrace"),
        message: `expected more than signals.midtier.listMaxAge (${formatDuration(listMaxAge)}), found ${formatDuration(pool.drainGrace)}; a run dispatched from a ready-list read just before the drain could land on a stopping host; fix: raise drainGrace above ${formatDuration(listMaxAge)}`,
      });
    }

    // Every waiting state ends: the grace periods must end before their timeouts.
    if (pool.startGrace >= pool.startTimeout) {
      errors.push({
        path: at("startGrace"),
        message: `expected less than startTimeout (${formatDuration(pool.startTimeout)}), found ${formatDuration(pool.startGrace)}; fix: lower startGrace or raise startTimeout`,
      });
    }
    if (pool.bootGrace >= pool.bootstrapTimeout) {
      errors.push({
        path: at("bootGrace"),
        message: `expected less than bootstrapTimeout (${formatDuration(pool.bootstrapTimeout)}), found ${formatDuration(pool.bootGrace)}; no failure would ever count; fix: lower bootGrace or raise bootstrapTimeout`,
      });
    }

    pools[name] = { ...pool, busy };
  }

  // The SSH channel signs keys with Vault and must know how to reach and verify the host.
  const sshPools = Object.entries(parts.pools ?? {})
    .filter(([, pool]) => pool.channel === "ssh")
    .map(([name]) => name);
  if (sshPools.length > 0 && parts.bootstrap !== undefined) {
    const which =
      sshPools.length === 1 ? `pool ${sshPools[0] ?? ""} uses` : `pools ${sshPools.join(", ")} use`;
    for (const section of ["vault", "ssh"] as const) {
      if (parts.bootstrap[section] === undefined) {
        errors.push({
          path: ["bootstrap", section],
          message: `expected bootstrap.${section} (${which} channel ssh), found nothing; fix: add bootstrap.${section}, or set channel: ssm on ${sshPools.length === 1 ? "that pool" : "those pools"}`,
        });
      }
    }
  }

  if (parts.pools !== undefined && poolNames.length === 0) {
    errors.push({
      path: ["pools"],
      message:
        "expected at least one pool, found none; fix: add a pool (see examples/vor-power.yaml)",
    });
  }

  parts.signals?.rabbitmq?.requestQueues.forEach((queue, index) => {
    if (!poolNames.includes(queue.pool)) {
      errors.push({
        path: ["signals", "rabbitmq", "requestQueues", index, "pool"],
        message: `expected the name of a configured pool (${nameList(poolNames)}), found ${JSON.stringify(queue.pool)}; fix: correct the name`,
      });
    }
  });

  // Certificates are short-lived: a long TTL turns a leaked key into a standing credential.
  const ttl = parts.bootstrap?.vault?.sign.ttl;
  if (ttl !== undefined && ttl > 60 * 60_000) {
    errors.push({
      path: ["bootstrap", "vault", "sign", "ttl"],
      message: `expected at most 1h (a bootstrap takes minutes), found ${formatDuration(ttl)}; fix: use 5m`,
    });
  }
  if (parts.bootstrap !== undefined && parts.bootstrap.playpens.length === 0) {
    warnings.push({
      path: ["bootstrap", "playpens"],
      message:
        "expected at least one playpen, found none; hosts will be marked ready without any mount check; fix: list the midtier's playpen directories",
    });
  }
  if (parts.alerts === undefined && raw !== undefined) {
    warnings.push({
      path: ["alerts"],
      message:
        "expected an alert destination, found none; alerts (quarantine, protected pools, blind pools) go to the logs only; fix: add alerts: { provider: sns, topicArn: ... }",
    });
  }

  if (errors.length > 0) return result;
  return { ...result, config: { ...(parts as ParsedConfig), pools } };
}

function rawObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
