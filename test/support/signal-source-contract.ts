import { afterEach, describe, expect, it } from "vitest";
import type { MidtierRun, Signals } from "../../shared/plan/snapshot.ts";
import type { SignalSource } from "../../shared/signals/signal-source.ts";

// The SignalSource contract (DESIGN.md, "The midtier's side"), run against every adapter: the
// simulator's SimSignals in test/unit/sim, CombinedSignalSource against a loopback midtier in
// test/integration. The suite describes a small world (hosts, pending runs, running runs) and
// each fixture builds it its own way: the simulator by dispatching a trace, the real adapter by
// serving the runs as the midtier's JSON. Only the midtier reading is claimed: the simulator
// always adds a RabbitMQ reading, a real installation only when RabbitMQ is configured.

/** A run waiting in the midtier for `hosts` hosts. */
export interface PendingRunDescription {
  id: string;
  hosts: number;
}

/** A run the midtier dispatched, using every host in `hostIds` (one run per host). */
export interface RunningRunDescription {
  id: string;
  hostIds: readonly string[];
}

/** One pool of the described world. */
export interface PoolDescription {
  pool: string;
  hosts: readonly string[];
  pending: readonly PendingRunDescription[];
  running: readonly RunningRunDescription[];
}

/** The world a fixture builds: the pool under test, and other pools beside it. */
export interface WorldDescription extends PoolDescription {
  otherPools?: readonly PoolDescription[];
}

/** An adapter reading the described world; `close` frees what the fixture started. */
export interface SignalSourceFixture {
  source: SignalSource;
  close(): Promise<void>;
}

/**
 * Every pool of `world`, the pool under test first. Throws on a description no installation
 * could show: a host in two pools, a run id used twice, a running run on a host of another pool
 * or sharing a host with another run, a pending run needing fewer than one host.
 */
export function poolsOf(world: WorldDescription): PoolDescription[] {
  const pools: PoolDescription[] = [
    { pool: world.pool, hosts: world.hosts, pending: world.pending, running: world.running },
    ...(world.otherPools ?? []),
  ];
  const hostPool = new Map<string, string>();
  const runIds = new Set<string>();
  const usedHosts = new Set<string>();
  for (const { pool, hosts, pending, running } of pools) {
    for (const host of hosts) {
      if (hostPool.has(host))
        throw new Error(`poolsOf(): host ${host} is in ${hostPool.get(host)} and ${pool}`);
      hostPool.set(host, pool);
    }
    for (const { id } of [...pending, ...running]) {
      if (runIds.has(id)) throw new Error(`poolsOf(): run id ${id} is used twice`);
      runIds.add(id);
    }
    for (const run of pending)
      if (!(Number.isInteger(run.hosts) && run.hosts >= 1))
        throw new Error(`poolsOf(): pending run ${run.id} needs ${run.hosts} hosts`);
    for (const run of running) {
      if (run.hostIds.length === 0)
        throw new Error(`poolsOf(): running run ${run.id} uses no host`);
      for (const host of run.hostIds) {
        if (!hosts.includes(host))
          throw new Error(`poolsOf(): running run ${run.id} uses ${host}, not a host of ${pool}`);
        if (usedHosts.has(host)) throw new Error(`poolsOf(): host ${host} runs more than one run`);
        usedHosts.add(host);
      }
    }
  }
  return pools;
}

/** The ok midtier reading's runs, sorted by id (adapters list runs in any order). */
function midtierRuns(signals: Signals): MidtierRun[] {
  const reading = signals.midtier;
  if (reading?.status !== "ok")
    throw new Error(`expected an ok midtier reading, got ${JSON.stringify(reading)}`);
  return [...reading.data.runs]
    .map((run) => ({ ...run, hostIds: [...run.hostIds].sort() }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

const POOL = "compute";
const HOSTS = ["h-1", "h-2", "h-3", "h-4"] as const;

/** The pool "compute" (hosts h-1 to h-4): r-pend-1 waits for 2 hosts, r-run-1 uses h-1 and h-3. */
const BUSY_POOL: WorldDescription = {
  pool: POOL,
  hosts: HOSTS,
  pending: [{ id: "r-pend-1", hosts: 2 }],
  running: [{ id: "r-run-1", hostIds: ["h-1", "h-3"] }],
};

/** Registers the SignalSource contract for one adapter. */
export function describeSignalSourceContract(
  name: string,
  makeFixture: (world: WorldDescription) => Promise<SignalSourceFixture>,
): void {
  const open: SignalSourceFixture[] = [];
  const sourceOf = async (world: WorldDescription): Promise<SignalSource> => {
    const fixture = await makeFixture(world);
    open.push(fixture);
    return fixture.source;
  };

  describe(`SignalSource contract: ${name}`, () => {
    afterEach(async () => {
      await Promise.all(open.splice(0).map((fixture) => fixture.close()));
    });

    describe("read", () => {
      it("lists each pending run with the hosts it needs and each running run with every host it uses", async () => {
        const source = await sourceOf({
          pool: POOL,
          hosts: HOSTS,
          pending: [
            { id: "r-pend-1", hosts: 1 },
            { id: "r-pend-2", hosts: 3 },
          ],
          running: [
            { id: "r-run-1", hostIds: ["h-2"] },
            { id: "r-run-2", hostIds: ["h-1", "h-4"] },
          ],
        });

        const signals = await source.read(POOL, HOSTS);

        expect(midtierRuns(signals)).toEqual([
          { id: "r-pend-1", state: "pending", hosts: 1, hostIds: [] },
          { id: "r-pend-2", state: "pending", hosts: 3, hostIds: [] },
          { id: "r-run-1", state: "running", hosts: 1, hostIds: ["h-2"] },
          { id: "r-run-2", state: "running", hosts: 2, hostIds: ["h-1", "h-4"] },
        ]);
      });

      it("leaves out the runs of another pool", async () => {
        const source = await sourceOf({
          ...BUSY_POOL,
          otherPools: [
            {
              pool: "gpu",
              hosts: ["g-1", "g-2"],
              pending: [{ id: "g-pend-1", hosts: 1 }],
              running: [{ id: "g-run-1", hostIds: ["g-2"] }],
            },
          ],
        });

        const signals = await source.read(POOL, HOSTS);

        expect(midtierRuns(signals).map((run) => run.id)).toEqual(["r-pend-1", "r-run-1"]);
      });

      it("gives an ok reading without runs when the pool has none", async () => {
        const source = await sourceOf({ pool: POOL, hosts: HOSTS, pending: [], running: [] });

        const signals = await source.read(POOL, HOSTS);

        expect(midtierRuns(signals)).toEqual([]);
      });

      it("gives every ok reading a non-negative ageMs", async () => {
        const source = await sourceOf(BUSY_POOL);

        const signals = await source.read(POOL, HOSTS);

        const readings = Object.values(signals).filter((reading) => reading.status === "ok");
        expect(readings.map((reading) => reading.status)).toContain("ok");
        for (const reading of readings) expect(reading.ageMs).toBeGreaterThanOrEqual(0);
      });
    });

    describe("isBusy", () => {
      it.each(["h-1", "h-3"])("finds %s busy while a running run uses it", async (host) => {
        const source = await sourceOf(BUSY_POOL);

        const busy = await source.isBusy(POOL, host);

        expect(busy).toBe(true);
      });

      it.each(["h-2", "h-4"])(
        "finds idle host %s not busy while other hosts of its pool run and runs wait",
        async (host) => {
          const source = await sourceOf(BUSY_POOL);

          const busy = await source.isBusy(POOL, host);

          expect(busy).toBe(false);
        },
      );

      it("finds a host not busy when its pool has only pending runs", async () => {
        const source = await sourceOf({ ...BUSY_POOL, running: [] });

        const busy = await source.isBusy(POOL, "h-1");

        expect(busy).toBe(false);
      });
    });
  });
}
