import { SimSignals } from "../../../shared/sim/sim-ports.ts";
import type { TraceRun } from "../../../shared/sim/types.ts";
import { World, type ReadyTest } from "../../../shared/sim/world.ts";
import {
  describeSignalSourceContract,
  poolsOf,
  type RunningRunDescription,
  type WorldDescription,
} from "../../support/signal-source-contract.ts";
import { MINUTE_MS, MONDAY, worldSettings } from "../../support/sim-builders.ts";

// The simulator's signals keep the contract the real midtier adapter keeps
// (test/integration/combined-signal-contract.test.ts), so what the simulator's planner sees of
// runs and busy hosts is what it would see in an installation.

const SECOND_MS = 1_000;

/**
 * Builds the described world the way the simulator gets there: every host is started and boots,
 * then the running runs are submitted one a second, each dispatched while only its own hosts are
 * ready, then the pending runs are submitted while no host is ready.
 */
function simWorld(description: WorldDescription): World {
  const pools = poolsOf(description);
  const running = pools.flatMap((p) => p.running.map((run) => ({ pool: p.pool, run })));
  const pending = pools.flatMap((p) => p.pending.map((run) => ({ pool: p.pool, run })));
  const settings = worldSettings();
  const booted = MONDAY + settings.bootMin * MINUTE_MS;
  const submittedAt = (index: number): number => booted + (index + 1) * SECOND_MS;
  const trace: TraceRun[] = [
    ...running.map(({ pool, run }) => ({ pool, hosts: run.hostIds.length })),
    ...pending.map(({ pool, run }) => ({ pool, hosts: run.hosts })),
  ].map(({ pool, hosts }, index) => ({
    submittedAt: submittedAt(index),
    pool,
    durationMin: 60,
    hosts,
    source: "adhoc",
  }));
  const world = new World(
    settings,
    trace,
    Object.fromEntries(pools.map((p) => [p.pool, { hosts: 0, runsPerHost: 1 }])),
  );

  // The world names runs run-0001, ... in trace order; the contract names them.
  const ids = [...running, ...pending].map(({ run }) => run.id);
  world.runs.forEach((run, index) => (run.id = ids[index] ?? run.id));
  for (const { pool, hosts } of pools)
    for (const id of hosts)
      world.hosts.push({
        id,
        pool,
        cloud: "stopped",
        tags: { "vor:pool": pool },
        runs: new Set(),
        idleSince: world.now,
      });
  for (const host of world.hosts) world.start(host);

  const noHostReady: ReadyTest = () => false;
  const onlyHostsOf =
    (run: RunningRunDescription): ReadyTest =>
    (host) =>
      run.hostIds.includes(host.id);
  world.advance(booted, noHostReady);
  running.forEach(({ run }, index) => world.advance(submittedAt(index), onlyHostsOf(run)));
  world.advance(submittedAt(trace.length), noHostReady);

  for (const p of pools) {
    const placed = {
      pending: world.pendingRuns(p.pool).map((r) => r.id),
      running: world.runningRuns(p.pool).map((r) => `${r.id}@${[...r.hostIds].sort().join(",")}`),
    };
    const described = {
      pending: p.pending.map((r) => r.id),
      running: p.running.map((r) => `${r.id}@${[...r.hostIds].sort().join(",")}`),
    };
    if (JSON.stringify(placed) !== JSON.stringify(described))
      throw new Error(
        `simWorld(): pool ${p.pool} came out as ${JSON.stringify(placed)}, not ${JSON.stringify(described)}`,
      );
  }
  return world;
}

describeSignalSourceContract("SimSignals", (description) =>
  Promise.resolve({
    source: new SimSignals(simWorld(description)),
    close: () => Promise.resolve(),
  }),
);
