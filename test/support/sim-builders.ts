import type { Config } from "../../shared/config/index.ts";
import { WORLD_DEFAULTS } from "../../shared/sim/simulate.ts";
import type { PolicyRun, TraceRun, WorldSettings } from "../../shared/sim/types.ts";
import { World, type SimHost, type SimRun } from "../../shared/sim/world.ts";
import { plannerConfig } from "./snapshot-builder.ts";

// Builders for simulator fixtures: literal instants in epoch ms, hand-made trace runs, a world on
// a Monday in DESIGN.md's defaults, and a config with nothing but the pool "compute" (no windows,
// no run schedules) unless a test names them.

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

/** A literal UTC instant in epoch ms: utc("2026-01-19T09:12:30"); "Z" is implied. */
export function utc(text: string): number {
  const ms = Date.parse(text.endsWith("Z") ? text : `${text}Z`);
  if (Number.isNaN(ms)) throw new Error(`utc(): not an instant: ${text}`);
  return ms;
}

/** Monday 19 January 2026, 00:00 UTC (London is on UTC in January). */
export const MONDAY = utc("2026-01-19T00:00");

/** A world of DESIGN.md's defaults (boot 3, bootstrap 2, tick 1, 2.55) for one day from MONDAY. */
export function worldSettings(overrides: Partial<WorldSettings> = {}): WorldSettings {
  return { ...WORLD_DEFAULTS, days: 1, seed: 1, start: MONDAY, ...overrides };
}

/** A one-host ad hoc run on "compute": traceRun("2026-01-19T09:12:30", 35, { hosts: 2 }). */
export function traceRun(
  submittedAt: string,
  durationMin: number,
  overrides: Partial<Omit<TraceRun, "submittedAt" | "durationMin">> = {},
): TraceRun {
  if (!(durationMin > 0))
    throw new Error(`traceRun(): durationMin must be > 0, got ${durationMin}`);
  return {
    submittedAt: utc(submittedAt),
    pool: "compute",
    durationMin,
    hosts: 1,
    source: "adhoc",
    ...overrides,
  };
}

/**
 * A valid config whose pool "compute" has `max` hosts and nothing that turns hosts on by itself
 * (no windows, no run schedules); the schedule "business-hours" (07:00-19:00 mon-fri) is there
 * in UTC for a test to name. Further changes as for plannerConfig ("pools.compute.idleTimeout").
 */
export function simConfig(max: number, ...changes: [string, unknown][]): Config {
  return plannerConfig(
    ["runSchedules", {}],
    ["schedules.business-hours.timezone", "UTC"],
    ["pools.compute.windows", []],
    ["pools.compute.max", max],
    ...changes,
  );
}

/** A bare world on "compute" with `hosts` stopped hosts (compute-h01, ...). */
export function bareWorld(
  trace: readonly TraceRun[],
  options: { hosts?: number; runsPerHost?: number; settings?: Partial<WorldSettings> } = {},
): World {
  return new World(worldSettings(options.settings), trace, {
    compute: { hosts: options.hosts ?? 1, runsPerHost: options.runsPerHost ?? 1 },
  });
}

/**
 * Moves the world to `at` and starts the host there the way the baselines do: a start call, and
 * ready for the midtier boot + bootstrap later.
 */
export function startHostAt(world: World, hostId: string, at: number): SimHost {
  if (at < world.now)
    throw new Error(`startHostAt(): ${new Date(at).toISOString()} is in the past`);
  world.advance(at, (h) => h.readyAt !== undefined && h.readyAt <= world.now);
  const host = world.host(hostId);
  if (!world.start(host)) throw new Error(`startHostAt(): ${hostId} was not stopped`);
  host.readyAt = at + (world.settings.bootMin + world.settings.bootstrapMin) * MINUTE_MS;
  return host;
}

/** The run of the trace submitted at `submittedAt` (there must be exactly one). */
export function runSubmittedAt(world: World, submittedAt: string): SimRun {
  const matches = world.runs.filter((r) => r.submittedAt === utc(submittedAt));
  const [run] = matches;
  if (run === undefined || matches.length !== 1)
    throw new Error(`runSubmittedAt(): ${matches.length} runs submitted at ${submittedAt}`);
  return run;
}

/** A policy's unrounded cost: billed host-hours times the world's price. */
export function costOf(run: Pick<PolicyRun, "hostMinutes">, settings: WorldSettings): number {
  return (run.hostMinutes / 60) * settings.pricePerHostHour;
}
