import { readFileSync } from "node:fs";
import type { Context, EventBridgeEvent } from "aws-lambda";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { handler, hostStateChange } from "../../../functions/aws/host-state-change.ts";
import { setDependenciesForTests } from "../../../functions/aws/runtime.ts";
import type { Ports } from "../../../shared/act/ports.ts";
import { SkipBootstrap } from "../../../shared/bootstrap/skip-bootstrap.ts";
import { PermanentError, TransientError } from "../../../shared/cloud/errors.ts";
import { loggerFor } from "../../../shared/observability.ts";
import { TAG } from "../../../shared/plan/tags.ts";
import { NO_FAULTS } from "../../../shared/sim/faults.ts";
import { seededRandom } from "../../../shared/sim/random.ts";
import { SimAlerter, SimCompute, SimSignals } from "../../../shared/sim/sim-ports.ts";
import { World } from "../../../shared/sim/world.ts";
import { MemoryStateStore } from "../../../shared/state/memory-state-store.ts";
import type { Lease } from "../../../shared/state/state-store.ts";
import { worldSettings } from "../../support/sim-builders.ts";
import { plannerConfig } from "../../support/snapshot-builder.ts";

const NOW = new Date("2026-03-04T10:00:00Z");
const context = {
  functionName: "vor-power-host-state-change",
  awsRequestId: "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
  getRemainingTimeInMillis: () => 60_000,
} as Context;

type StateChange = EventBridgeEvent<string, { "instance-id": string; state: string }>;
const RECORDED = JSON.parse(
  readFileSync(
    new URL("../../support/events/ec2-state-change-running.json", import.meta.url),
    "utf8",
  ),
) as StateChange;

/** The recorded notification for another host or state (the world names its hosts pool-hNN). */
const stateChange = (host: string, state = "running"): StateChange => ({
  ...RECORDED,
  detail: { "instance-id": host, state },
});

class CountingStore extends MemoryStateStore {
  readonly leases: string[] = [];

  override acquireLease(
    pool: string,
    owner: string,
    now: Date,
    ttlMs: number,
  ): Promise<Lease | null> {
    this.leases.push(pool);
    return super.acquireLease(pool, owner, now, ttlMs);
  }
}

/**
 * Pools compute and batch of two hosts each; batch-h01 was started three minutes ago and now
 * reads running. `listError` is what listing the hosts throws, if anything.
 */
function installation(options: { listError?: Error } = {}) {
  const config = plannerConfig(["pools.batch", { min: 0, max: 2 }]);
  const world = new World(worldSettings({ start: NOW.getTime() }), [], {
    compute: { hosts: 2, runsPerHost: 1 },
    batch: { hosts: 2, runsPerHost: 1 },
  });
  const booted = world.host("batch-h01");
  booted.cloud = "running";
  booted.launchedAt = NOW.getTime() - 60_000;
  booted.tags[TAG.lifecycle] = "starting";
  booted.tags[TAG.since] = "2026-03-04T09:57:00.000Z";
  const sim = new SimCompute(world, NO_FAULTS, seededRandom(1));
  const store = new CountingStore();
  const { listError } = options;
  const ports: Ports = {
    compute: {
      listHosts: (pool) => (listError ? Promise.reject(listError) : sim.listHosts(pool)),
      writeTags: (host, set, remove) => sim.writeTags(host, set, remove),
      start: (hosts) => sim.start(hosts),
      stop: (hosts) => sim.stop(hosts),
    },
    signals: new SimSignals(world),
    store,
    bootstrap: new SkipBootstrap(store, "test"),
    alerter: new SimAlerter(),
  };
  setDependenciesForTests({
    config,
    ports,
    clock: () => NOW,
    dryRun: false,
    runOps: () => Promise.reject(new Error("host-state-change runs no ops command")),
  });
  return { world, store };
}

afterEach(() => {
  setDependenciesForTests(undefined);
  vi.restoreAllMocks();
});

describe("host-state-change handler", () => {
  it("exports the middy-wrapped host-state-change", () => {
    expect(typeof handler.use).toBe("function");
    expect(handler).not.toBe(hostStateChange);
  });

  it("reconciles the pool of a host that reached running, which begins its bootstrap", async () => {
    const { world, store } = installation();

    const result = await handler(stateChange("batch-h01"), context);

    expect(result).toEqual({ status: "reconciled", host: "batch-h01", pool: "batch", acted: true });
    expect(store.leases).toEqual(["batch"]);
    expect(world.host("batch-h01").tags[TAG.lifecycle]).toBe("bootstrapping");
    expect((await store.readPool("batch")).bootstrapResults["batch-h01"]).toHaveLength(1);
  });

  it("ignores a host in no configured pool (the recorded event's)", async () => {
    const { store } = installation();
    const info = vi.spyOn(loggerFor("host-state-change"), "info");

    const result = await handler(RECORDED, context);

    expect(result).toMatchObject({ status: "ignored", host: "i-0a1b2c3d4e5f60718" });
    expect(info).toHaveBeenCalledWith(expect.stringContaining("in no configured pool"), {
      host: "i-0a1b2c3d4e5f60718",
    });
    expect(store.leases).toEqual([]);
  });

  it.each(["pending", "stopping", "stopped", "terminated"])(
    "leaves a host that is %s to the next tick",
    async (state) => {
      const { store } = installation();

      const result = await handler(stateChange("batch-h01", state), context);

      expect(result).toMatchObject({ status: "ignored", host: "batch-h01" });
      expect(store.leases).toEqual([]);
    },
  );

  it("throws when listing the hosts fails transiently, so EventBridge retries", async () => {
    installation({
      listError: new TransientError("DescribeInstances throttled", { cause: new Error("x") }),
    });

    const run = handler(stateChange("batch-h01"), context);

    await expect(run).rejects.toThrow(/DescribeInstances throttled; EventBridge retries/);
  });

  it("logs and acknowledges a permanent failure", async () => {
    const { store } = installation({
      listError: new PermanentError("AccessDenied: ec2:DescribeInstances", {
        cause: new Error("x"),
      }),
    });
    const error = vi.spyOn(loggerFor("host-state-change"), "error");

    const result = await handler(stateChange("batch-h01"), context);

    expect(result).toMatchObject({ status: "ignored" });
    expect(error).toHaveBeenCalledWith(
      expect.stringContaining("AccessDenied: ec2:DescribeInstances; not retried"),
      expect.objectContaining({ host: "batch-h01" }),
    );
    expect(store.leases).toEqual([]);
  });

  it.each([
    ["no detail", { ...RECORDED, detail: undefined }],
    ["no instance id", { ...RECORDED, detail: { state: "running" } }],
    [
      "another detail-type",
      { ...RECORDED, "detail-type": "EC2 Spot Instance Interruption Warning" },
    ],
    ["a string", "running"],
    ["null", null],
  ])("rejects an event with %s with a clear logged error and does nothing", async (_, event) => {
    const { store } = installation();
    const error = vi.spyOn(loggerFor("host-state-change"), "error");

    const result = await handler(event, context);

    expect(result).toMatchObject({ status: "rejected" });
    expect(error).toHaveBeenCalledWith(
      expect.stringContaining("not an EC2 Instance State-change Notification"),
    );
    expect(store.leases).toEqual([]);
  });

  it("never crashes on any event, and reconciles nothing for one", async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (event) => {
        const { store } = installation();

        const result = await handler(event, context);

        expect(result.status).toBe("rejected");
        expect(store.leases).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
