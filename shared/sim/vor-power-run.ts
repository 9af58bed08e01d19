import type { Ports } from "../act/ports.ts";
import { reconcilePool } from "../act/reconcile.ts";
import type { Config } from "../config/index.ts";
import { MemoryStateStore } from "../state/memory-state-store.ts";
import type { FaultSettings } from "./faults.ts";
import { seededRandom } from "./random.ts";
import { SimAlerter, SimBootstrap, SimCompute, SimSignals } from "./sim-ports.ts";
import type { TraceRun, WorldSettings } from "./types.ts";
import { World, taggedReady, type SimHost } from "./world.ts";

const MINUTE = 60_000;

export interface VorPowerRun {
  world: World;
  alerts: SimAlerter["sent"];
  /** pending runs in the midtier at each tick */
  queueDepth: number[];
  /** stops act skipped because the last-moment re-read found work */
  stopsSkippedBusy: number;
  /** decisions by rule, over the whole run */
  rules: Map<string, number>;
}

/**
 * vor-power in the simulated world: every tick the production reconcile (observe -> plan -> act)
 * runs against the in-memory adapters; only the adapters are simulated.
 */
export async function runVorPower(
  config: Config,
  trace: readonly TraceRun[],
  settings: WorldSettings,
  faults: FaultSettings,
  onTick?: (fraction: number) => void,
): Promise<VorPowerRun> {
  const pools = Object.fromEntries(
    Object.entries(config.pools).map(([name, pool]) => [
      name,
      { hosts: pool.max, runsPerHost: pool.runsPerHost },
    ]),
  );
  const world = new World(settings, trace, pools);
  const random = seededRandom(settings.seed * 7919 + 17);
  const store = new MemoryStateStore();
  const alerter = new SimAlerter();
  const bootstrap = new SimBootstrap(world, store, faults, random);
  const ports: Ports = {
    compute: new SimCompute(world, faults, random),
    signals: new SimSignals(world),
    store,
    bootstrap,
    alerter,
  };
  const tickMs = settings.tickMin * MINUTE;
  const end = settings.start + settings.days * 24 * 60 * MINUTE;
  const queueDepth: number[] = [];
  const rules = new Map<string, number>();
  let stopsSkippedBusy = 0;
  // The lagging busy signal: the midtier dispatches from the ready list of the previous tick.
  let staleReady = new Set<string>();
  const lagged = (host: SimHost) => staleReady.has(host.id);

  for (let t = settings.start; t < end; t += tickMs) {
    await advanceWithBootstraps(world, bootstrap, t);
    const now = new Date(t);
    for (const pool of Object.keys(config.pools)) {
      const result = await reconcilePool(config, pool, ports, now, "sim-tick", {
        beforeAct: () => {
          if (!faults.lag) return;
          world.dispatch(lagged);
          staleReady = new Set(world.hosts.filter(taggedReady).map((h) => h.id));
        },
      });
      for (const decision of result.decisions)
        rules.set(decision.rule, (rules.get(decision.rule) ?? 0) + 1);
      stopsSkippedBusy += result.outcomes.filter(
        (o) => o.status === "skipped" && o.why?.includes("got work"),
      ).length;
    }
    world.dispatch(taggedReady);
    world.sample();
    queueDepth.push(
      Object.keys(config.pools).reduce((sum, pool) => sum + world.pendingRuns(pool).length, 0),
    );
    onTick?.((t - settings.start) / (end - settings.start));
  }
  await advanceWithBootstraps(world, bootstrap, end);
  return { world, alerts: alerter.sent, queueDepth, stopsSkippedBusy, rules };
}

// World events and bootstrap completions interleave in time order up to `to`.
async function advanceWithBootstraps(
  world: World,
  bootstrap: SimBootstrap,
  to: number,
): Promise<void> {
  await bootstrap.complete(to);
  world.advance(to, taggedReady);
}
