import type { Config } from "../config/index.ts";
import { runBaseline, type Baseline } from "./baselines.ts";
import type { FaultSettings } from "./faults.ts";
import { runOracle } from "./oracle.ts";
import { buildReport } from "./report.ts";
import type { PolicyRun, Report, Timeline, TraceRun, WorldSettings } from "./types.ts";
import { runVorPower, type VorPowerRun } from "./vor-power-run.ts";
import type { World } from "./world.ts";

/** DESIGN.md's world defaults: every policy is judged in the same world. */
export const WORLD_DEFAULTS = {
  bootMin: 3,
  bootstrapMin: 2,
  tickMin: 1,
  pricePerHostHour: 2.55,
} as const;

export interface SimulateOptions {
  config: Config;
  trace: readonly TraceRun[];
  /** "built-in" or the trace file's name */
  traceName: string;
  settings: WorldSettings;
  faults: FaultSettings;
  /** fraction of the whole simulation done, 0-1 */
  onProgress?: (fraction: number) => void;
}

export interface SimulationResult {
  report: Report;
  runs: PolicyRun[];
  timeline: Timeline;
  vorPower: VorPowerRun;
}

function policyRun(name: PolicyRun["name"], world: World): PolicyRun {
  const { waitsMin, runsNeverStarted } = world.finish();
  return {
    name,
    hostMinutes: world.measures.hostMinutes,
    waitsMin,
    starts: world.measures.starts,
    stops: world.measures.stops,
    runsKilled: world.measures.runsKilled,
    runsNeverStarted,
    hostsOn: world.measures.hostsOn,
  };
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;

/** The same config with every pool's pre-warm switched (to show what learning changes). */
function withPrewarm(config: Config, prewarm: "none" | "learned"): Config {
  return {
    ...config,
    pools: Object.fromEntries(
      Object.entries(config.pools).map(([name, pool]) => [name, { ...pool, prewarm }]),
    ),
  };
}

/**
 * Replays the trace under the five policies of DESIGN.md's simulator section in the same world,
 * vor-power through the production observe -> plan -> act, and reports cost and wait together.
 */
export async function simulate(options: SimulateOptions): Promise<SimulationResult> {
  const { config, trace, settings, faults } = options;
  // Work shares for the progress bar: vor-power (twice: as configured, and with pre-warm switched) costs the most.
  const shares: [string, number][] = [
    ["always-on", 0.05],
    ["schedule-only", 0.05],
    ["reactive", 0.05],
    ["vor-power", 0.45],
    ["compare", 0.4],
  ];
  let done = 0;
  const progress = (name: string) => (fraction: number) => {
    const share = shares.find(([n]) => n === name)?.[1] ?? 0;
    options.onProgress?.(Math.min(1, done + share * fraction));
  };
  const next = (name: string) => (done += shares.find(([n]) => n === name)?.[1] ?? 0);

  const runs: PolicyRun[] = [];
  for (const baseline of ["always-on", "schedule-only", "reactive"] as Baseline[]) {
    runs.push(
      policyRun(baseline, runBaseline(baseline, config, trace, settings, progress(baseline))),
    );
    next(baseline);
  }
  const vorPower = await runVorPower(config, trace, settings, faults, progress("vor-power"));
  const vorPowerRun = policyRun("vor-power", vorPower.world);
  runs.push(vorPowerRun);
  next("vor-power");
  runs.push(runOracle(trace, settings));

  // The learned pre-warm's effect: the same world with it switched the other way.
  const configured = Object.values(config.pools).some((p) => p.prewarm === "learned")
    ? "learned"
    : "none";
  const other = configured === "learned" ? "none" : "learned";
  const compare = await runVorPower(
    withPrewarm(config, other),
    trace,
    settings,
    faults,
    progress("compare"),
  );
  const compareRun = policyRun("vor-power", compare.world);
  options.onProgress?.(1);

  const notes = notesOf(vorPower, vorPowerRun, compareRun, configured, other, settings, faults);
  const end = settings.start + settings.days * 86_400_000;
  const report = buildReport(settings, runs, {
    runs: trace.filter((r) => r.submittedAt < end).length,
    trace: options.traceName,
    maxHosts: Object.values(config.pools).reduce((sum, pool) => sum + pool.max, 0),
    notes,
  });
  const timeline: Timeline = {
    queueDepth: vorPower.queueDepth,
    runStarts: vorPower.world.runs
      .filter((r) => r.startedAt !== undefined)
      .map((r) => ({
        at: r.startedAt ?? 0,
        waitMin: ((r.startedAt ?? 0) - r.submittedAt) / 60_000,
      })),
  };
  return { report, runs, timeline, vorPower };
}

function notesOf(
  run: VorPowerRun,
  summary: PolicyRun,
  compare: PolicyRun,
  configured: string,
  other: string,
  settings: WorldSettings,
  faults: FaultSettings,
): string[] {
  const cost = (r: PolicyRun) => ((r.hostMinutes / 60) * settings.pricePerHostHour).toFixed(2);
  const notes = [
    `pre-warm: as configured (${configured}) vor-power costs ${cost(summary)} with a mean wait of ${mean(summary.waitsMin).toFixed(2)} min; with prewarm ${other} it would cost ${cost(compare)} with a mean wait of ${mean(compare.waitsMin).toFixed(2)} min.`,
  ];
  const count = (rule: string) => run.rules.get(rule) ?? 0;
  const faultsOn = [
    faults.bootFailureRate > 0
      ? `boot failures (${faults.bootFailureRate * 100}% of starts): ${count("start.failed")} failed starts handled, the pool backing off and picking other hosts`
      : "",
    faults.capacityErrorRate > 0
      ? `capacity errors (${faults.capacityErrorRate * 100}% of start calls): counted in the failed starts above`
      : "",
    faults.badHostPerPool || faults.bootstrapFailureRate > 0
      ? `bootstrap failures (one bad host per pool, ${faults.bootstrapFailureRate * 100}% random): ${count("bootstrap.failed")} host-caused failures retried, ${count("quarantine.failed")} hosts quarantined`
      : "",
    faults.vaultOutage
      ? `a sealed Vault for ${faults.vaultOutage.forMin} min: ${count("bootstrap.blocked")} bootstraps blocked (nothing counted), pool protected ${count("protect.blocked")} time(s), lifted ${count("blocked.ended") + count("unprotect.cooldown")} time(s)`
      : "",
    faults.lag
      ? `a lagging busy signal: ${run.stopsSkippedBusy} stops skipped by act's last-moment busy re-read`
      : "",
  ].filter((text) => text !== "");
  if (faultsOn.length > 0)
    notes.push(`faults injected into vor-power's world: ${faultsOn.join("; ")}.`);
  notes.push(
    `vor-power killed ${summary.runsKilled} runs; ${summary.runsNeverStarted} runs had not started when the simulation ended; ${run.alerts.length} alerts were sent.`,
  );
  return notes;
}
