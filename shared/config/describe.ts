import { formatDuration } from "./duration.ts";
import type { Config, PeriodConfig, Pool } from "./schema.ts";

// `config check` prints the policy in plain words, so an operator can confirm what the file says
// before enabling it: what runs when, which hosts, what holds them on, what stops them.

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

/** "mon-fri 07:00-19:00", "fri 22:00-06:00 (overnight)", "from 07:00", "all day on 1-7". */
export function describePeriod(period: PeriodConfig): string {
  const days = (["weekdays", "months", "monthdays"] as const)
    .filter((key) => period[key] !== undefined)
    .map((key) => {
      const value = period[key] ?? [];
      const text = Array.isArray(value) ? value.join(",") : value;
      return key === "weekdays" ? text : `${key} ${text}`;
    });
  const { begintime: begin, endtime: end } = period;
  let time = "all day";
  if (begin !== undefined && end !== undefined) {
    time = `${begin}-${end}${begin.padStart(5, "0") > end.padStart(5, "0") ? " (overnight)" : ""}`;
  } else if (begin !== undefined) time = `from ${begin} (no opinion before)`;
  else if (end !== undefined) time = `until ${end} (no opinion after)`;
  return [days.length > 0 ? days.join(", ") : "every day", time].join(" ");
}

function describePool(name: string, pool: Pool, config: Config): string[] {
  const cloud = config.cloud;
  const lines = [
    `Pool ${name}: hosts tagged ${cloud.poolTag}=${name} in ${cloud.provider} ${cloud.region}; between ${pool.min} and ${pool.max} on${pool.description ? ` (${pool.description})` : ""}.`,
  ];
  const holds: string[] = [];
  if (pool.min > 0) holds.push(`${plural(pool.min, "host")} always (min)`);
  for (const window of pool.windows) {
    const schedule = config.schedules[window.schedule];
    const periods = schedule ? schedule.periods.map(describePeriod).join("; ") : "?";
    holds.push(
      `${plural(window.hosts, "host")} while ${window.schedule} runs (${schedule?.timezone ?? "?"}: ${periods})`,
    );
  }
  for (const [runName, run] of Object.entries(config.runSchedules)) {
    if (run.pool !== name) continue;
    const before = run.leadTime + pool.startupEstimate;
    holds.push(
      `${plural(run.hosts, "host")} for ${runName} (cron "${run.cron}", ${run.timezone}): from ${formatDuration(before)} before each run (lead ${formatDuration(run.leadTime)} + startup ${formatDuration(pool.startupEstimate)}) until ${formatDuration(run.expectedDuration ?? 15 * 60_000)} after it starts`,
    );
  }
  if (pool.prewarm === "learned") holds.push("hosts where work usually arrives (learned pre-warm)");
  lines.push(holds.length > 0 ? "  Held on:" : "  Held on: nothing; hosts start only for work.");
  lines.push(...holds.map((hold) => `    - ${hold}`));

  const queues = (config.signals.rabbitmq?.requestQueues ?? []).filter((q) => q.pool === name);
  lines.push(
    `  Started for work: busy hosts (per ${pool.busy.join(" and ")}) plus pending runs, ${plural(pool.runsPerHost, "run")} per host${queues.length > 0 ? `; while the midtier is unreadable, ready messages on ${queues.map((q) => `${q.vhost}${q.queue}`).join(", ")} count as pending runs` : ""}; at most ${pool.maxStartsPerTick} starts a tick.`,
  );
  lines.push(
    `  Stopped when idle: a ready host idle ${formatDuration(pool.idleTimeout)} and up at least ${formatDuration(pool.minUptime)} drains (no new runs), and stops ${formatDuration(pool.drainGrace)} after the drain is confirmed if still idle. A host that may hold work is never stopped; while a busy source is down (reading older than ${formatDuration(pool.signalMaxAge)}) nothing is drained.`,
  );
  const playpens = config.bootstrap.playpens.map((p) => `${p.path} (${p.fsTypes.join("/")})`);
  lines.push(
    `  Ready after: access over ${pool.channel === "ssh" ? "SSH with a Vault-signed certificate" : "SSM Run Command"}${playpens.length > 0 ? ` and playpen checks of ${playpens.join(", ")}` : " (no playpen checks configured)"}.`,
  );
  lines.push(
    `  On failure: a host is quarantined after ${plural(pool.maxBootstrapAttempts, "failed attempt")} or ${formatDuration(pool.bootstrapTimeout)}; the pool stops starting hosts after ${plural(pool.maxConsecutiveFailures, "host")} failed in a row, or after an outside fault lasting ${formatDuration(pool.blockedTimeout)}, for ${formatDuration(pool.protectionCooldown)} or until ops resume it.`,
  );
  return lines;
}

/** The whole policy, one paragraph a pool. */
export function describeConfig(config: Config): string[] {
  const lines: string[] = [];
  for (const [name, pool] of Object.entries(config.pools)) {
    lines.push(...describePool(name, pool, config), "");
  }
  const notices = [
    `State in ${config.state.provider} table ${config.state.table}`,
    config.alerts ? `alerts to ${config.alerts.topicArn}` : "alerts to the logs only",
    config.consul
      ? `ready hosts registered in Consul as ${config.consul.service}`
      : "ready hosts marked by tag only (no Consul)",
  ];
  lines.push(`${notices.join("; ")}.`);
  return lines;
}
