import { readFileSync } from "node:fs";
import type { Context } from "aws-lambda";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { handler, tick } from "../../../functions/aws/tick.ts";
import { setDependenciesForTests } from "../../../functions/aws/runtime.ts";
import type { Ports } from "../../../shared/act/ports.ts";
import { SkipBootstrap } from "../../../shared/bootstrap/skip-bootstrap.ts";
import { TransientError } from "../../../shared/cloud/errors.ts";
import type { Config } from "../../../shared/config/index.ts";
import { loggerFor, metrics } from "../../../shared/observability.ts";
import { NO_FAULTS } from "../../../shared/sim/faults.ts";
import { seededRandom } from "../../../shared/sim/random.ts";
import { SimAlerter, SimCompute, SimSignals } from "../../../shared/sim/sim-ports.ts";
import { World } from "../../../shared/sim/world.ts";
import { MemoryStateStore } from "../../../shared/state/memory-state-store.ts";
import { worldSettings } from "../../support/sim-builders.ts";
import { plannerConfig } from "../../support/snapshot-builder.ts";

// Wednesday 10:00 UTC: the business-hours window wants one host in each pool of plannerConfig.
const NOW = new Date("2026-03-04T10:00:00Z");
const recorded = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../support/events/${name}`, import.meta.url), "utf8"));
const context = {
  functionName: "vor-power-tick",
  awsRequestId: "c6af9ac6-7b61-11e6-9a41-93e812345678",
  getRemainingTimeInMillis: () => 60_000,
} as Context;

/** Two pools of two stopped hosts each in a simulated world; `failing` pools cannot be listed. */
function installation(options: { dryRun?: boolean; failing?: string[] } = {}) {
  const config: Config = plannerConfig([
    "pools.batch",
    { min: 0, max: 2, windows: [{ schedule: "business-hours", hosts: 1 }] },
  ]);
  const world = new World(worldSettings({ start: NOW.getTime() }), [], {
    compute: { hosts: 2, runsPerHost: 1 },
    batch: { hosts: 2, runsPerHost: 1 },
  });
  const sim = new SimCompute(world, NO_FAULTS, seededRandom(1));
  const store = new MemoryStateStore();
  const failing = new Set(options.failing ?? []);
  const ports: Ports = {
    compute: {
      listHosts: (pool) =>
        failing.has(pool)
          ? Promise.reject(
              new TransientError(`DescribeInstances throttled for ${pool}`, {
                cause: new Error("ThrottlingException"),
              }),
            )
          : sim.listHosts(pool),
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
    dryRun: options.dryRun ?? false,
    runOps: () => Promise.reject(new Error("the tick runs no ops command")),
  });
  const started = (pool: string) =>
    world.hosts.filter((h) => h.pool === pool && h.cloud !== "stopped").map((h) => h.id);
  return { world, started };
}

/** Every value the handler added to a metric, by name. */
function metricValues(spy: { mock: { calls: unknown[][] } }): Record<string, unknown[]> {
  const values: Record<string, unknown[]> = {};
  for (const [name, , value] of spy.mock.calls) (values[String(name)] ??= []).push(value);
  return values;
}

afterEach(() => {
  setDependenciesForTests(undefined);
  vi.restoreAllMocks();
});

describe("tick handler", () => {
  it("exports the middy-wrapped tick", () => {
    expect(typeof handler.use).toBe("function");
    expect(handler).not.toBe(tick);
  });

  it("reconciles every pool and counts desired hosts, capacity and starts", async () => {
    const { started } = installation();
    const added = vi.spyOn(metrics, "addMetric");

    const result = await handler(recorded("scheduler-tick.json"), context);

    expect(result).toMatchObject({ status: "done", dryRun: false });
    expect(started("compute")).toEqual(["compute-h01"]);
    expect(started("batch")).toEqual(["batch-h01"]);
    expect(metricValues(added)).toMatchObject({
      HostsDesired: [1, 1],
      HostsCapacity: [0, 0],
      Starts: [1, 1],
      Failures: [0, 0],
    });
  });

  it("logs each decision with its rule and reason", async () => {
    installation();
    const info = vi.spyOn(loggerFor("tick"), "info");

    await handler(recorded("scheduler-tick.json"), context);

    expect(info).toHaveBeenCalledWith(
      expect.stringContaining("compute-h01"),
      expect.objectContaining({
        pool: "compute",
        host: "compute-h01",
        kind: "start",
        outcome: "done",
      }),
    );
  });

  it("tags every line of an invocation with the schedule's execution id", async () => {
    installation();
    const log = loggerFor("tick");
    const ids = new Set<unknown>();
    vi.spyOn(log, "info").mockImplementation(() => ids.add(log.getCorrelationId()));

    await handler(recorded("scheduler-tick.json"), context);

    expect(ids).toEqual(new Set(["d32c5kddcf5bb8c3"]));
  });

  it("throws after reconciling the other pools when one pool fails", async () => {
    const { started } = installation({ failing: ["compute"] });
    const error = vi.spyOn(loggerFor("tick"), "error");

    const run = handler(recorded("scheduler-tick.json"), context);

    await expect(run).rejects.toThrow(
      /failed for pool compute \(TransientError: DescribeInstances throttled/,
    );
    expect(started("batch")).toEqual(["batch-h01"]);
    expect(error).toHaveBeenCalledWith(
      expect.stringContaining("compute: reconcile failed"),
      expect.objectContaining({ pool: "compute" }),
    );
  });

  it("plans without acting on a dry run", async () => {
    const { started } = installation({ dryRun: true });
    const info = vi.spyOn(loggerFor("tick"), "info");

    const result = await handler(recorded("scheduler-tick.json"), context);

    expect(result).toMatchObject({ status: "done", dryRun: true });
    expect([...started("compute"), ...started("batch")]).toEqual([]);
    expect(info).toHaveBeenCalledWith(
      expect.any(String),
      expect.objectContaining({ kind: "start", outcome: "dry-run" }),
    );
  });

  it.each([null, "tick", 42, [], [{ executionId: "x" }], { executionId: 7 }])(
    "rejects the input %j with a logged error and acts on nothing",
    async (event) => {
      const { started } = installation();
      const error = vi.spyOn(loggerFor("tick"), "error");

      const result = await handler(event, context);

      expect(result).toMatchObject({ status: "rejected" });
      expect(error).toHaveBeenCalledWith(expect.stringContaining("not a JSON object"));
      expect([...started("compute"), ...started("batch")]).toEqual([]);
    },
  );

  it("never crashes on any input, and acts only on an object", async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (event) => {
        const { started } = installation();

        const result = await handler(event, context);

        const acted = started("compute").length > 0;
        expect(acted).toBe(result.status === "done");
      }),
      { numRuns: 40 },
    );
  });
});
