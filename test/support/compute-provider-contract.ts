import { describe, expect, it } from "vitest";
import type { ComputeProvider } from "../../shared/cloud/compute-provider.ts";
import type { HostSnapshot } from "../../shared/plan/snapshot.ts";

// The ComputeProvider contract (DESIGN.md, "Where state lives"), run against every adapter: the
// simulator's SimCompute in test/unit/cloud, the EC2 adapter against moto. Only what every cloud
// agrees on is claimed here: EC2 answers a start of a running instance with success where the
// simulator says incorrect-state, and moto stops at once where EC2 and the simulator pass through
// stopping, so those differences are each adapter's own tests.

/** A fresh cloud for one test, and the means to put hosts in it. */
export interface ComputeFixture {
  provider: ComputeProvider;
  /** The tag key that puts a host into a pool (the provider's `cloud.poolTag`). */
  poolTag: string;
  /** Creates `count` stopped hosts tagged into `pool`; returns their ids. */
  createHosts(pool: string, count: number): Promise<string[]>;
  /** Lets hosts that are pending or stopping finish (the simulator: time passes; EC2: waits). */
  settle(): Promise<void>;
}

/** The tags of `host` as listHosts reports them. */
async function tagsOf(
  cloud: ComputeFixture,
  pool: string,
  host: string,
): Promise<Record<string, string> | undefined> {
  return (await cloud.provider.listHosts(pool)).find((h) => h.id === host)?.tags;
}

const sortedIds = (hosts: readonly HostSnapshot[]): string[] => hosts.map((h) => h.id).sort();

/** Registers the ComputeProvider contract for one adapter. */
export function describeComputeProviderContract(
  name: string,
  makeProvider: () => Promise<ComputeFixture> | ComputeFixture,
): void {
  // Pools are unique per test, so adapters whose cloud outlives one test (moto) stay isolated.
  let pools = 0;
  const freshPool = (): string => `contract-${++pools}`;

  describe(`ComputeProvider contract: ${name}`, () => {
    describe("listHosts", () => {
      it("lists every host tagged into the pool and no host of another pool", async () => {
        const cloud = await makeProvider();
        const pool = freshPool();
        const other = freshPool();
        const ours = await cloud.createHosts(pool, 3);
        await cloud.createHosts(other, 2);

        const hosts = await cloud.provider.listHosts(pool);

        expect(sortedIds(hosts)).toEqual([...ours].sort());
        for (const host of hosts) {
          expect(host.cloudState).toBe("stopped");
          expect(host.tags[cloud.poolTag]).toBe(pool);
        }
      });

      it("lists nothing for a pool without hosts", async () => {
        const cloud = await makeProvider();

        const hosts = await cloud.provider.listHosts(freshPool());

        expect(hosts).toEqual([]);
      });
    });

    describe("writeTags", () => {
      it("removes the keys to remove, then sets the tags to set, leaving other tags alone", async () => {
        const cloud = await makeProvider();
        const pool = freshPool();
        const [host = ""] = await cloud.createHosts(pool, 1);
        await cloud.provider.writeTags(
          host,
          { "vor:lifecycle": "ready", "vor:idle-since": "2026-03-04T10:00:00.000Z" },
          [],
        );
        const untouched = Object.fromEntries(
          Object.entries((await tagsOf(cloud, pool, host)) ?? {}).filter(
            ([key]) => key !== "vor:idle-since",
          ),
        );

        await cloud.provider.writeTags(
          host,
          { "vor:lifecycle": "draining", "vor:since": "2026-03-04T10:05:00.000Z" },
          ["vor:idle-since", "vor:lifecycle", "vor:never-set"],
        );

        expect(await tagsOf(cloud, pool, host)).toEqual({
          ...untouched,
          [cloud.poolTag]: pool,
          "vor:lifecycle": "draining",
          "vor:since": "2026-03-04T10:05:00.000Z",
        });
      });

      it("changes nothing when there is nothing to set or remove", async () => {
        const cloud = await makeProvider();
        const pool = freshPool();
        const [host = ""] = await cloud.createHosts(pool, 1);
        const before = await tagsOf(cloud, pool, host);

        await cloud.provider.writeTags(host, {}, []);

        expect(await tagsOf(cloud, pool, host)).toEqual(before);
        expect(before).toMatchObject({ [cloud.poolTag]: pool });
      });
    });

    describe("start", () => {
      it("starts stopped hosts with one ok outcome per host, and they come up running", async () => {
        const cloud = await makeProvider();
        const pool = freshPool();
        const ids = await cloud.createHosts(pool, 5);

        const outcomes = await cloud.provider.start(ids);

        expect([...outcomes.keys()].sort()).toEqual([...ids].sort());
        expect([...outcomes.values()]).toEqual(ids.map(() => ({ ok: true })));
        for (const host of await cloud.provider.listHosts(pool))
          expect(["pending", "running"]).toContain(host.cloudState);
        await cloud.settle();
        const settled = await cloud.provider.listHosts(pool);
        expect(settled.map((h) => h.cloudState)).toEqual(ids.map(() => "running"));
        for (const host of settled) expect(host.launchedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      });

      it("starts only the hosts it is given", async () => {
        const cloud = await makeProvider();
        const pool = freshPool();
        const [first = "", second = ""] = await cloud.createHosts(pool, 2);

        const outcomes = await cloud.provider.start([first]);

        expect([...outcomes.keys()]).toEqual([first]);
        const states = new Map(
          (await cloud.provider.listHosts(pool)).map((h) => [h.id, h.cloudState]),
        );
        expect(states.get(second)).toBe("stopped");
        expect(states.get(first)).not.toBe("stopped");
      });

      it("answers an empty list with no outcomes", async () => {
        const cloud = await makeProvider();

        const outcomes = await cloud.provider.start([]);

        expect(outcomes.size).toBe(0);
      });
    });

    describe("stop", () => {
      it.each([false, true])(
        "stops running hosts with one ok outcome per host (hibernate %s)",
        async (hibernate) => {
          const cloud = await makeProvider();
          const pool = freshPool();
          const ids = await cloud.createHosts(pool, 3);
          await cloud.provider.start(ids);
          await cloud.settle();

          const outcomes = await cloud.provider.stop(ids, { hibernate });

          expect([...outcomes.keys()].sort()).toEqual([...ids].sort());
          expect([...outcomes.values()]).toEqual(ids.map(() => ({ ok: true })));
          for (const host of await cloud.provider.listHosts(pool))
            expect(["stopping", "stopped"]).toContain(host.cloudState);
          await cloud.settle();
          const settled = await cloud.provider.listHosts(pool);
          expect(settled.map((h) => h.cloudState)).toEqual(ids.map(() => "stopped"));
        },
      );

      it("keeps a host's tags through a start and a stop", async () => {
        const cloud = await makeProvider();
        const pool = freshPool();
        const [host = ""] = await cloud.createHosts(pool, 1);
        await cloud.provider.writeTags(host, { "vor:lifecycle": "starting" }, []);

        await cloud.provider.start([host]);
        await cloud.settle();
        await cloud.provider.writeTags(host, { "vor:lifecycle": "stopping" }, []);
        await cloud.provider.stop([host], { hibernate: false });
        await cloud.settle();

        const [listed] = await cloud.provider.listHosts(pool);
        expect(listed).toMatchObject({
          id: host,
          cloudState: "stopped",
          tags: { [cloud.poolTag]: pool, "vor:lifecycle": "stopping" },
        });
      });
    });
  });
}
