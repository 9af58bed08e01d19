import { readFileSync } from "node:fs";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { handler, runSubmitted } from "../../../functions/aws/run-submitted.ts";
import { setDependenciesForTests } from "../../../functions/aws/runtime.ts";
import type { Ports } from "../../../shared/act/ports.ts";
import { SkipBootstrap } from "../../../shared/bootstrap/skip-bootstrap.ts";
import { PermanentError, TransientError } from "../../../shared/cloud/errors.ts";
import type { Config } from "../../../shared/config/index.ts";
import { loggerFor } from "../../../shared/observability.ts";
import type { PoolControl } from "../../../shared/plan/snapshot.ts";
import { NO_FAULTS } from "../../../shared/sim/faults.ts";
import { seededRandom } from "../../../shared/sim/random.ts";
import { SimAlerter, SimCompute, SimSignals } from "../../../shared/sim/sim-ports.ts";
import { World } from "../../../shared/sim/world.ts";
import { MemoryStateStore } from "../../../shared/state/memory-state-store.ts";
import type { Lease } from "../../../shared/state/state-store.ts";
import { worldSettings } from "../../support/sim-builders.ts";
import { plannerConfig } from "../../support/snapshot-builder.ts";

const NOW = new Date("2026-03-04T10:00:00Z");
const recorded = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../support/events/${name}`, import.meta.url), "utf8"));
const context = {
  functionName: "vor-power-run-submitted",
  awsRequestId: "4f3c2b1a-0e9d-4c8b-a7f6-e5d4c3b2a190",
  getRemainingTimeInMillis: () => 60_000,
} as Context;

const SQS = recorded("sqs-run-submitted.json") as SQSEvent;
const SECOND = SQS.Records[1]?.messageId;

/** The recorded batch with these bodies, messageIds m-0, m-1, ... */
function batch(...bodies: string[]): SQSEvent {
  const template = SQS.Records[0] as SQSRecord;
  return { Records: bodies.map((body, i) => ({ ...template, messageId: `m-${i}`, body })) };
}

/** The memory store, counting leases taken and refusing the store writes of chosen runs. */
class TestStore extends MemoryStateStore {
  readonly leases: string[] = [];
  readonly refuse = new Map<string, Error>();

  override addSubmitted(pool: string, run: PoolControl["submitted"][number]): Promise<void> {
    const error = this.refuse.get(run.runId);
    return error ? Promise.reject(error) : super.addSubmitted(pool, run);
  }

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

/** A simulated world of four stopped hosts per pool; `failing` pools cannot be listed. */
function installation(options: { pools?: string[]; failing?: string[] } = {}) {
  const pools = options.pools ?? ["compute"];
  const config: Config = plannerConfig(
    ...pools
      .filter((p) => p !== "compute")
      .map((p): [string, unknown] => [`pools.${p}`, { min: 0, max: 4 }]),
  );
  const world = new World(
    worldSettings({ start: NOW.getTime() }),
    [],
    Object.fromEntries(pools.map((p) => [p, { hosts: 4, runsPerHost: 1 }])),
  );
  const sim = new SimCompute(world, NO_FAULTS, seededRandom(1));
  const store = new TestStore();
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
    dryRun: false,
    runOps: () => Promise.reject(new Error("run-submitted runs no ops command")),
  });
  const submitted = async (pool = "compute") =>
    (await store.readPool(pool)).submitted.map((s) => s.runId);
  const started = (pool = "compute") =>
    world.hosts.filter((h) => h.pool === pool && h.cloud !== "stopped").length;
  return { store, submitted, started };
}

afterEach(() => {
  setDependenciesForTests(undefined);
  vi.restoreAllMocks();
});

describe("run-submitted handler", () => {
  it("exports the middy-wrapped run-submitted", () => {
    expect(typeof handler.use).toBe("function");
    expect(handler).not.toBe(runSubmitted);
  });

  it("stores each run of the batch with its expiry, then reconciles the pool once", async () => {
    const { store, started } = installation();

    const result = await handler(SQS, context);

    expect(result).toEqual({ batchItemFailures: [] });
    expect((await store.readPool("compute")).submitted).toEqual([
      { runId: "run-0001", hosts: 2, at: NOW.toISOString(), expiresAt: "2026-03-04T10:10:00.000Z" },
      { runId: "run-0002", hosts: 1, at: NOW.toISOString(), expiresAt: "2026-03-04T10:10:00.000Z" },
    ]);
    expect(store.leases).toEqual(["compute"]);
    expect(started()).toBe(3);
  });

  it("tags every line of a batch with the Lambda request id", async () => {
    installation();
    const log = loggerFor("run-submitted");
    const ids = new Set<unknown>();
    vi.spyOn(log, "info").mockImplementation(() => ids.add(log.getCorrelationId()));

    await handler(SQS, context);

    expect(ids).toEqual(new Set([context.awsRequestId]));
  });

  it("stores the run of an EventBridge event", async () => {
    const { submitted } = installation();

    const result = await handler(recorded("eventbridge-run-submitted.json"), context);

    expect(result).toEqual({ batchItemFailures: [] });
    expect(await submitted()).toEqual(["run-0003"]);
  });

  it.each([
    ["a body that is not JSON", "run-0009", /body is not JSON/],
    ["a run without runId", '{"pool":"compute"}', /runId/],
    ["an unknown pool", '{"runId":"r-9","pool":"gpu"}', /pool gpu, which the config does not have/],
    ["zero hosts", '{"runId":"r-9","hosts":0}', /hosts/],
    ["an unknown key", '{"runId":"r-9","host":2}', /host/],
  ])("acknowledges a record with %s and logs why, storing the good one", async (_, body, why) => {
    const { submitted } = installation();
    const error = vi.spyOn(loggerFor("run-submitted"), "error");

    const result = await handler(batch('{"runId":"run-0001"}', body), context);

    expect(result).toEqual({ batchItemFailures: [] });
    expect(await submitted()).toEqual(["run-0001"]);
    expect(error).toHaveBeenCalledWith(
      expect.stringMatching(/^run-submitted record m-1 dropped: /),
    );
    expect(error).toHaveBeenCalledWith(expect.stringMatching(why));
  });

  it("drops a run without pool when the config has several pools", async () => {
    const { submitted, store } = installation({ pools: ["compute", "batch"] });
    const error = vi.spyOn(loggerFor("run-submitted"), "error");

    const result = await handler(SQS, context);

    expect(result).toEqual({ batchItemFailures: [] });
    expect(await submitted()).toEqual(["run-0001"]);
    expect(store.leases).toEqual(["compute"]);
    expect(error).toHaveBeenCalledWith(
      expect.stringContaining(`${SECOND} dropped: run run-0002 names no pool`),
    );
  });

  it("returns only the record whose store write failed for a retry", async () => {
    const { store, submitted } = installation();
    store.refuse.set(
      "run-0002",
      new TransientError("DynamoDB throttled", { cause: new Error("ThrottlingException") }),
    );

    const result = await handler(SQS, context);

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: SECOND }] });
    expect(await submitted()).toEqual(["run-0001"]);
    expect(store.leases).toEqual(["compute"]);
  });

  it("acknowledges a record whose store write fails permanently, with a logged error", async () => {
    const { store } = installation();
    store.refuse.set(
      "run-0002",
      new PermanentError("AccessDenied: dynamodb:UpdateItem", { cause: new Error("denied") }),
    );
    const error = vi.spyOn(loggerFor("run-submitted"), "error");

    const result = await handler(SQS, context);

    expect(result).toEqual({ batchItemFailures: [] });
    expect(error).toHaveBeenCalledWith(
      expect.stringContaining("AccessDenied: dynamodb:UpdateItem; acknowledged"),
      expect.objectContaining({ messageId: SECOND }),
    );
  });

  it("returns the records of a pool whose reconcile failed, not those of other pools", async () => {
    const { submitted, started } = installation({
      pools: ["compute", "batch"],
      failing: ["compute"],
    });

    const result = await handler(
      batch('{"runId":"r-1","pool":"compute"}', '{"runId":"r-2","pool":"batch"}'),
      context,
    );

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "m-0" }] });
    expect(await submitted("compute")).toEqual(["r-1"]);
    expect(started("batch")).toBe(1);
  });

  it("throws on an EventBridge event whose store write failed, so EventBridge retries it", async () => {
    const { store } = installation();
    store.refuse.set("run-0003", new TransientError("timeout", { cause: new Error("ETIMEDOUT") }));

    const run = handler(recorded("eventbridge-run-submitted.json"), context);

    await expect(run).rejects.toThrow(/EventBridge retries it/);
  });

  it.each([null, "Records", { Records: [] }, { Records: "x" }, { detail: "run-1" }, []])(
    "rejects the event %j with a logged error and stores nothing",
    async (event) => {
      const { submitted, store } = installation();
      const error = vi.spyOn(loggerFor("run-submitted"), "error");

      const result = await handler(event, context);

      expect(result).toEqual({ batchItemFailures: [] });
      expect(error).toHaveBeenCalledWith(expect.stringContaining("run-submitted rejected"));
      expect(await submitted()).toEqual([]);
      expect(store.leases).toEqual([]);
    },
  );

  it("never crashes on any event, and stores nothing from one that is no trigger", async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (event) => {
        const { submitted } = installation();

        const result = await handler(event, context);

        expect(result).toEqual({ batchItemFailures: [] });
        expect(await submitted()).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it("never fails a record of random bodies, and stores only runs it was sent", async () => {
    const body = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record(
          {
            runId: fc.oneof(fc.constantFrom("run-a", "run-b", ""), fc.integer()),
            pool: fc.constantFrom("compute", "gpu"),
            hosts: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.string()),
          },
          { requiredKeys: [] },
        )
        .map((run) => JSON.stringify(run)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 5 }), async (bodies) => {
        const { submitted } = installation();

        const result = await handler(batch(...bodies), context);

        expect(result).toEqual({ batchItemFailures: [] });
        for (const runId of await submitted())
          expect(bodies.some((b) => b.includes(`"runId":"${runId}"`))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
