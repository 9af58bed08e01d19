import type { EventBridgeEvent, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { handler as hostStateChangeHandler } from "../../functions/aws/host-state-change.ts";
import { runSubmitted, handler as runSubmittedHandler } from "../../functions/aws/run-submitted.ts";
import { setDependenciesForTests, type Dependencies } from "../../functions/aws/runtime.ts";
import { tick, handler as tickHandler } from "../../functions/aws/tick.ts";
import { loggerFor } from "../../shared/observability.ts";
import {
  MINUTE,
  TestClock,
  lambdaContext,
  launchHosts,
  poolConfig,
  readHost,
  readHosts,
  recordedEvent,
  startLiveAws,
  wireLive,
  type LiveAws,
} from "../support/live-handlers.ts";
import { missing, motoInstalled } from "../support/services.ts";

// The tick and run-submitted handlers (and host-state-change) end to end: their Dependencies from
// the production wiring against moto (EC2, DynamoDB, SNS) and the loopback midtier, the clock
// moved by the test. Every claim is read back from moto or DynamoDB, not from the handler's answer.

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv");

/** Long off: no restartCooldown holds these hosts back. */
const OFF = { "vor:lifecycle": "off", "vor:since": "2026-03-01T00:00:00Z" };
/** Ready for days: past minUptime. */
const READY = { "vor:lifecycle": "ready", "vor:ready-at": "2026-03-01T00:00:00Z" };

const SQS = recordedEvent("sqs-run-submitted.json") as SQSEvent;

/** The recorded SQS batch with these bodies, messageIds m-0, m-1, ... */
function batch(...bodies: string[]): SQSEvent {
  const template = SQS.Records[0] as SQSRecord;
  return { Records: bodies.map((body, i) => ({ ...template, messageId: `m-${i}`, body })) };
}

const TICK = recordedEvent("scheduler-tick.json") as Record<string, unknown>;

describe.skipIf(skip)("run-submitted and tick handlers (moto, loopback midtier)", () => {
  let live: LiveAws;

  beforeAll(async () => {
    live = await startLiveAws();
  }, 60_000);

  afterAll(async () => {
    await live.close();
  });

  afterEach(() => {
    setDependenciesForTests(undefined);
    vi.restoreAllMocks();
  });

  /** Wires the handlers for `pool` (its own config) with the clock at `start`. */
  async function install(pool: string, start: string, settings: Record<string, unknown> = {}) {
    const clock = new TestClock(start);
    const deps = await wireLive(live, poolConfig(live, pool, settings), clock);
    setDependenciesForTests(deps);
    return { clock, deps };
  }

  it("starts exactly the hosts a submitted run needs, tagged starting, the start recorded in DynamoDB", async () => {
    live.midtier.answer({ kind: "json", body: [] });
    const hosts = await launchHosts(live.ec2, "submit", [
      { state: "stopped", tags: OFF },
      { state: "stopped", tags: OFF },
      { state: "stopped", tags: OFF },
    ]);
    const { deps } = await install("submit", "2026-03-04T20:00:00Z");
    const startsBefore = live.recorder.callsOf("StartInstances").length;

    const result = await runSubmittedHandler(
      batch(JSON.stringify({ runId: "r-1", pool: "submit", hosts: 2 })),
      lambdaContext("vor-power-run-submitted"),
    );

    expect(result).toEqual({ batchItemFailures: [] });
    const after = await readHosts(live.ec2, hosts);
    const started = hosts.filter((_, i) => after[i]?.state !== "stopped");
    expect(started).toHaveLength(2);
    for (const host of after.filter((h) => h.state !== "stopped")) {
      expect(["pending", "running"]).toContain(host.state);
      expect(host.tags["vor:lifecycle"]).toBe("starting");
      expect(host.tags["vor:since"]).toBe("2026-03-04T20:00:00Z");
    }
    expect(after.filter((h) => h.state === "stopped").map((h) => h.tags["vor:lifecycle"])).toEqual([
      "off",
    ]);
    const calls = live.recorder.callsOf("StartInstances").slice(startsBefore);
    expect(calls.flatMap((c) => c.instanceIds).sort()).toEqual([...started].sort());
    const control = await deps.ports.store.readPool("submit");
    expect(control.submitted).toEqual([
      {
        runId: "r-1",
        hosts: 2,
        at: "2026-03-04T20:00:00.000Z",
        expiresAt: "2026-03-04T20:10:00.000Z",
      },
    ]);
    expect(Object.keys(control.startRecords).sort()).toEqual([...started].sort());
  });

  it("counts a run once when the midtier lists it after its event: no host is started twice for it", async () => {
    live.midtier.answer({ kind: "json", body: [] });
    const hosts = await launchHosts(live.ec2, "dedup", [
      { state: "stopped", tags: OFF },
      { state: "stopped", tags: OFF },
      { state: "stopped", tags: OFF },
    ]);
    const { clock, deps } = await install("dedup", "2026-03-04T20:00:00Z");
    await runSubmittedHandler(
      batch(JSON.stringify({ runId: "r-7", hosts: 2 })),
      lambdaContext("vor-power-run-submitted"),
    );
    const startsBefore = live.recorder.callsOf("StartInstances").length;
    live.midtier.answer({
      kind: "json",
      body: [{ id: "r-7", status: "queued", pool: "dedup", hosts: 2, hostIds: [] }],
    });

    clock.set("2026-03-04T20:01:00Z");
    const ticked = await tickHandler(TICK, lambdaContext("vor-power-tick"));

    expect(ticked).toMatchObject({ status: "done" });
    expect(live.recorder.callsOf("StartInstances").slice(startsBefore)).toEqual([]);
    const after = await readHosts(live.ec2, hosts);
    expect(after.filter((h) => h.state === "stopped")).toHaveLength(1);
    // The event's record is dropped once the midtier shows the run.
    expect((await deps.ports.store.readPool("dedup")).submitted).toEqual([]);
  });

  it("drops the bad records of a batch alone: the good runs are stored and get their hosts", async () => {
    live.midtier.answer({ kind: "json", body: [] });
    const hosts = await launchHosts(live.ec2, "batch", [
      { state: "stopped", tags: OFF },
      { state: "stopped", tags: OFF },
      { state: "stopped", tags: OFF },
    ]);
    const { deps } = await install("batch", "2026-03-04T20:00:00Z");
    const errors = vi.spyOn(loggerFor("run-submitted"), "error");

    const result = await runSubmittedHandler(
      batch(
        JSON.stringify({ runId: "r-a", pool: "batch" }),
        "{not json",
        JSON.stringify({ runId: "r-x", pool: "no-such-pool" }),
        JSON.stringify({ runId: "r-b" }),
      ),
      lambdaContext("vor-power-run-submitted"),
    );

    // Malformed records are acknowledged (a retry cannot mend them), so nothing is returned.
    expect(result).toEqual({ batchItemFailures: [] });
    const dropped = errors.mock.calls.map(([message]) =>
      typeof message === "string" ? message : JSON.stringify(message),
    );
    expect(dropped).toEqual([
      expect.stringMatching(/^run-submitted record m-1 dropped: the body is not JSON/),
      expect.stringMatching(/^run-submitted record m-2 dropped: run r-x names pool no-such-pool/),
    ]);
    const control = await deps.ports.store.readPool("batch");
    expect(control.submitted.map((run) => run.runId).sort()).toEqual(["r-a", "r-b"]);
    const after = await readHosts(live.ec2, hosts);
    expect(after.filter((h) => h.state !== "stopped")).toHaveLength(2);
    expect(after.filter((h) => h.tags["vor:lifecycle"] === "starting")).toHaveLength(2);
  });

  it("reconciles the pool of a host that reached running: it leaves starting for bootstrap", async () => {
    live.midtier.answer({ kind: "json", body: [] });
    const [host = ""] = await launchHosts(live.ec2, "boot", [
      {
        state: "running",
        tags: { "vor:lifecycle": "starting", "vor:since": "2026-03-04T19:58:00Z" },
      },
    ]);
    const { deps } = await install("boot", "2026-03-04T20:00:00Z");
    const event = recordedEvent("ec2-state-change-running.json") as StateChange;
    const commandsBefore = live.recorder.callsOf("SendCommand").length;

    const result = await hostStateChangeHandler(
      { ...event, detail: { ...event.detail, "instance-id": host } },
      lambdaContext("vor-power-host-state-change"),
    );
    const stranger = await hostStateChangeHandler(
      event,
      lambdaContext("vor-power-host-state-change"),
    );

    expect(result).toEqual({ status: "reconciled", host, pool: "boot", acted: true });
    expect((await readHost(live.ec2, host)).tags["vor:lifecycle"]).toBe("bootstrapping");
    // The bootstrap ran over the pool's channel, SSM (moto answers every command with Success):
    // access proved, no playpen check yet, so one pass for the next plan to mark ready.
    expect(live.recorder.callsOf("SendCommand").length - commandsBefore).toBe(1);
    expect((await deps.ports.store.readPool("boot")).bootstrapResults[host]).toEqual([
      expect.objectContaining({ outcome: "passed", step: "all", code: "ok" }),
    ]);
    expect(stranger).toMatchObject({ status: "ignored", host: event.detail["instance-id"] });
  });

  it("drains an idle ready host after idleTimeout, then stops it drainGrace after the drain", async () => {
    live.midtier.answer({ kind: "json", body: [] });
    const [host = ""] = await launchHosts(live.ec2, "idle", [{ state: "running", tags: READY }]);
    const { clock } = await install("idle", "2026-03-04T20:00:00Z");
    const stopsBefore = live.recorder.callsOf("StopInstances").length;
    const tickAt = async (at: string) => {
      clock.set(at);
      expect(await tickHandler(TICK, lambdaContext("vor-power-tick"))).toMatchObject({
        status: "done",
      });
      return readHost(live.ec2, host);
    };

    const first = await tickAt("2026-03-04T20:00:00Z");
    const beforeTimeout = await tickAt("2026-03-04T20:19:00Z");
    const drained = await tickAt("2026-03-04T20:20:00Z");
    const inGrace = await tickAt("2026-03-04T20:20:30Z");
    const stopped = await tickAt("2026-03-04T20:21:00Z");
    const settled = await tickAt("2026-03-04T20:22:00Z");

    expect(first).toMatchObject({
      state: "running",
      tags: { "vor:lifecycle": "ready", "vor:idle-since": "2026-03-04T20:00:00Z" },
    });
    expect(beforeTimeout).toMatchObject({ state: "running", tags: { "vor:lifecycle": "ready" } });
    expect(drained).toMatchObject({
      state: "running",
      tags: { "vor:lifecycle": "draining", "vor:drain-confirmed": "2026-03-04T20:20:00Z" },
    });
    expect(inGrace).toMatchObject({ state: "running", tags: { "vor:lifecycle": "draining" } });
    expect(["stopping", "stopped"]).toContain(stopped.state);
    expect(stopped.tags).toMatchObject({
      "vor:lifecycle": "stopping",
      "vor:stop-cause": "scale-in",
    });
    expect(settled).toMatchObject({
      state: "stopped",
      tags: { "vor:lifecycle": "off", "vor:since": "2026-03-04T20:22:00Z" },
    });
    const stops = live.recorder.callsOf("StopInstances").slice(stopsBefore);
    expect(stops.map((c) => c.instanceIds)).toEqual([[host]]);
  });

  it("keeps min hosts: of two idle ready hosts in a pool with min 1, one is stopped", async () => {
    live.midtier.answer({ kind: "json", body: [] });
    const hosts = await launchHosts(live.ec2, "floor", [
      { state: "running", tags: READY },
      { state: "running", tags: READY },
    ]);
    const { clock } = await install("floor", "2026-03-04T20:00:00Z", { min: 1 });

    for (const at of ["20:00", "20:20", "20:21", "20:22", "20:45", "21:30"]) {
      clock.set(`2026-03-04T${at}:00Z`);
      expect(await tickHandler(TICK, lambdaContext("vor-power-tick"))).toMatchObject({
        status: "done",
      });
    }

    const after = await readHosts(live.ec2, hosts);
    expect(after.map((h) => [h.state, h.tags["vor:lifecycle"]]).sort()).toEqual([
      ["running", "ready"],
      ["stopped", "off"],
    ]);
  });

  it("starts each host once when a tick and a run-submitted event reconcile the pool at once", async () => {
    live.midtier.answer({ kind: "json", body: [] });
    // Three rounds, each on a pool of its own, so that a race lost by chance shows.
    for (const round of [1, 2, 3]) {
      const pool = `race-${round}`;
      const hosts = await launchHosts(live.ec2, pool, [
        { state: "stopped", tags: OFF },
        { state: "stopped", tags: OFF },
        { state: "stopped", tags: OFF },
      ]);
      // Both want 2 hosts: the tick for the window (business hours, Wednesday 10:00 in London),
      // the run-submitted event for its run. Each invocation gets its own wiring (its own SDK
      // clients), as two Lambda containers would; only DynamoDB's lease stands between them.
      const clock = new TestClock("2026-03-04T10:00:00Z");
      const settings = { windows: [{ schedule: "business-hours", hosts: 2 }] };
      const forTick = await wireLive(live, poolConfig(live, pool, settings), clock);
      const forRun = await wireLive(live, poolConfig(live, pool, settings), clock);
      const startsBefore = live.recorder.callsOf("StartInstances").length;

      const tickLeases = countLeaseAttempts(forTick);
      const runLeases = countLeaseAttempts(forRun);

      // The plain handlers (not the middy-wrapped ones, whose middlewares run first) take their
      // dependencies before their first await, so each runs on its own wiring.
      setDependenciesForTests(forTick);
      const ticked = tick(TICK, lambdaContext("vor-power-tick"));
      setDependenciesForTests(forRun);
      const submitted = runSubmitted(
        batch(JSON.stringify({ runId: `r-race-${round}`, hosts: 2 })),
        lambdaContext("vor-power-run-submitted"),
      );
      const [tickResult, runResult] = await Promise.all([ticked, submitted]);

      expect(tickResult).toMatchObject({ status: "done" });
      expect(runResult).toEqual({ batchItemFailures: [] });
      expect(tickLeases(), "the tick tried the lease through its own wiring").toBeGreaterThan(0);
      expect(runLeases(), "run-submitted tried the lease through its own").toBeGreaterThan(0);
      const after = await readHosts(live.ec2, hosts);
      const started = hosts.filter((_, i) => after[i]?.state !== "stopped");
      expect(started, `round ${round}`).toHaveLength(2);
      const startedIds = live.recorder
        .callsOf("StartInstances")
        .slice(startsBefore)
        .flatMap((c) => c.instanceIds);
      expect(startedIds.sort(), `round ${round}: StartInstances once per host`).toEqual(
        [...started].sort(),
      );
      // The second plan (the lease holder's "once more", or the other invocation's) sees them
      // running and moves them on to bootstrapping: it never starts them again.
      expect(
        after.filter((h) => ["starting", "bootstrapping"].includes(h.tags["vor:lifecycle"] ?? "")),
      ).toHaveLength(2);
      const control = await forRun.ports.store.readPool(pool);
      expect(control.submitted.map((r) => r.runId)).toEqual([`r-race-${round}`]);
      // Neither left the lease behind.
      expect(await forRun.ports.store.acquireLease(pool, "probe", clock.now(), MINUTE)).not.toBe(
        null,
      );
    }
  });
});

/** Counts the lease attempts made through these dependencies' state store. */
function countLeaseAttempts(deps: Dependencies): () => number {
  const store = deps.ports.store;
  const acquire = store.acquireLease.bind(store);
  let attempts = 0;
  store.acquireLease = (...args) => {
    attempts++;
    return acquire(...args);
  };
  return () => attempts;
}

type StateChange = EventBridgeEvent<
  "EC2 Instance State-change Notification",
  { "instance-id": string; state: string }
>;
