import { randomUUID } from "node:crypto";
import amqp, { type ChannelModel } from "amqplib";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { setDependenciesForTests } from "../../functions/aws/runtime.ts";
import { handler as tickHandler } from "../../functions/aws/tick.ts";
import { loggerFor } from "../../shared/observability.ts";
import type { SignalSource } from "../../shared/signals/signal-source.ts";
import type { MidtierAnswer } from "../support/midtier-server.ts";
import {
  MINUTE,
  TestClock,
  lambdaContext,
  launchHosts,
  poolConfig,
  readHosts,
  recordedEvent,
  startLiveAws,
  subscribeInbox,
  wireLive,
  type HostView,
  type LiveAws,
} from "../support/live-handlers.ts";
import { freePort, missing, motoInstalled, waitFor } from "../support/services.ts";

// The tick handler's safety claims end to end (DESIGN.md, "Invariants"): a busy host is never
// stopped, a busy source that cannot be read freezes scale-in and raises an alert on SNS after
// signalAlertAfter, and a run that lands between plan and act stops the stop. EC2, DynamoDB, SNS
// and SQS on moto, the midtier on a loopback server, RabbitMQ on 127.0.0.1; the clock is the
// test's, so hours pass in a few seconds.

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv");

const MANAGEMENT = "http://127.0.0.1:15672";
const GUEST = `Basic ${Buffer.from("guest:guest").toString("base64")}`;
const rabbitUp = await fetch(`${MANAGEMENT}/api/overview`, {
  headers: { authorization: GUEST },
  signal: AbortSignal.timeout(3_000),
})
  .then((r) => r.ok)
  .catch(() => false);

const TICK = recordedEvent("scheduler-tick.json") as Record<string, unknown>;
/** Ready for days (past minUptime), idle since long before the test's first tick. */
const READY_IDLE = {
  "vor:lifecycle": "ready",
  "vor:ready-at": "2026-03-01T00:00:00Z",
  "vor:idle-since": "2026-03-04T12:00:00Z",
};
/** Draining, the drain confirmed long ago: an idle one stops at the next tick. */
const DRAINED = {
  "vor:lifecycle": "draining",
  "vor:since": "2026-03-04T12:00:00Z",
  "vor:drain-confirmed": "2026-03-04T12:00:00Z",
  "vor:ready-at": "2026-03-01T00:00:00Z",
};

/** The midtier's answer listing runs in `state` on `pool`, one per host. */
function runsOn(pool: string, state: string, hosts: readonly string[]): MidtierAnswer {
  return {
    kind: "json",
    body: hosts.map((host, i) => ({
      id: `r-${pool}-${i}`,
      status: state,
      pool,
      hosts: 1,
      hostIds: [host],
    })),
  };
}

/** Every "state:lifecycle" seen per host over a span of ticks. */
const seen = (views: readonly HostView[][]) =>
  views.map((round) => round.map((h) => `${h.state}:${h.tags["vor:lifecycle"] ?? ""}`));

describe.skipIf(skip)("tick handler and busy hosts (moto, loopback midtier)", () => {
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

  async function tick(clock: TestClock, at: string): Promise<void> {
    clock.set(at);
    expect(await tickHandler(TICK, lambdaContext("vor-power-tick")), `tick at ${at}`).toMatchObject(
      { status: "done" },
    );
  }

  /** Ticks every `stepMs` from `from` (included) to `to` (excluded); the hosts after each. */
  async function tickSpan(
    clock: TestClock,
    hosts: readonly string[],
    from: string,
    to: string,
    stepMs: number,
  ): Promise<HostView[][]> {
    const views: HostView[][] = [];
    for (let at = Date.parse(from); at < Date.parse(to); at += stepMs) {
      await tick(clock, new Date(at).toISOString());
      views.push(await readHosts(live.ec2, hosts));
    }
    return views;
  }

  it("never stops a host the midtier shows busy, over three hours of ticks; stops it once idle", async () => {
    const hosts = await launchHosts(live.ec2, "busy", [
      { state: "running", tags: READY_IDLE },
      { state: "running", tags: DRAINED },
    ]);
    const [ready = "", draining = ""] = hosts;
    const clock = new TestClock("2026-03-04T20:00:00Z");
    setDependenciesForTests(await wireLive(live, poolConfig(live, "busy"), clock));
    live.midtier.answer(runsOn("busy", "running", hosts));
    const stopsBefore = live.recorder.callsOf("StopInstances").length;

    const busySpan = await tickSpan(
      clock,
      hosts,
      "2026-03-04T20:00:00Z",
      "2026-03-04T23:00:00Z",
      5 * MINUTE,
    );

    // The draining host got work, so it went back to ready; neither was drained nor stopped.
    expect(busySpan).toHaveLength(36);
    expect(new Set(seen(busySpan).flat())).toEqual(new Set(["running:ready"]));
    expect(busySpan[0]?.[0]?.tags["vor:idle-since"]).toBeUndefined();
    expect(live.recorder.callsOf("StopInstances").slice(stopsBefore)).toEqual([]);

    live.midtier.answer(runsOn("busy", "finished", hosts));
    await tick(clock, "2026-03-04T23:00:00Z");
    await tick(clock, "2026-03-04T23:20:00Z");
    const drained = await readHosts(live.ec2, hosts);
    await tick(clock, "2026-03-04T23:21:00Z");
    await tick(clock, "2026-03-04T23:22:00Z");
    const after = await readHosts(live.ec2, hosts);

    expect(drained.map((h) => h.tags["vor:lifecycle"])).toEqual(["draining", "draining"]);
    expect(after.map((h) => [h.state, h.tags["vor:lifecycle"], h.tags["vor:stop-cause"]])).toEqual([
      ["stopped", "off", undefined],
      ["stopped", "off", undefined],
    ]);
    expect(
      live.recorder
        .callsOf("StopInstances")
        .slice(stopsBefore)
        .flatMap((c) => c.instanceIds)
        .sort(),
    ).toEqual([ready, draining].sort());
  });

  it("skips a planned stop when a run lands on the host between plan and act", async () => {
    const [host = ""] = await launchHosts(live.ec2, "recheck", [
      { state: "running", tags: DRAINED },
    ]);
    const clock = new TestClock("2026-03-04T20:00:00Z");
    const deps = await wireLive(live, poolConfig(live, "recheck"), clock);
    live.midtier.answer({ kind: "json", body: [] });
    // The midtier dispatches a run to the host right after the planner's read: act's re-read
    // (the real isBusy, against the real midtier) is the only thing that can see it.
    const real = deps.ports.signals;
    const signals: SignalSource = {
      read: async (pool, ids) => {
        const readings = await real.read(pool, ids);
        live.midtier.answer(runsOn("recheck", "assigned", [host]));
        return readings;
      },
      isBusy: (pool, id) => real.isBusy(pool, id),
    };
    setDependenciesForTests({ ...deps, ports: { ...deps.ports, signals } });
    const info = vi.spyOn(loggerFor("tick"), "info");
    const stopsBefore = live.recorder.callsOf("StopInstances").length;

    await tick(clock, "2026-03-04T20:00:00Z");

    const [after] = await readHosts(live.ec2, [host]);
    expect(after).toMatchObject({ state: "running", tags: { "vor:lifecycle": "draining" } });
    expect(live.recorder.callsOf("StopInstances").slice(stopsBefore)).toEqual([]);
    expect(info).toHaveBeenCalledWith(
      expect.stringContaining("stopping (scale-in)"),
      expect.objectContaining({
        host,
        rule: "scale-in.stop",
        outcome: "skipped",
        why: `${host} got work since the plan: not stopped`,
      }),
    );

    setDependenciesForTests(deps);
    await tick(clock, "2026-03-04T20:01:00Z");

    const [next] = await readHosts(live.ec2, [host]);
    expect(next).toMatchObject({ state: "running", tags: { "vor:lifecycle": "ready" } });
  });

  it("freezes scale-in while the midtier answers 500, alerts on SNS after signalAlertAfter, once, and scales in when it is back", async () => {
    const hosts = await launchHosts(live.ec2, "blind", [
      { state: "running", tags: READY_IDLE },
      { state: "running", tags: DRAINED },
    ]);
    const clock = new TestClock("2026-03-04T20:00:00Z");
    const deps = await wireLive(live, poolConfig(live, "blind"), clock);
    setDependenciesForTests(deps);
    const inbox = await subscribeInbox(live, "ops-inbox-blind");
    live.midtier.answer({ kind: "status", status: 500 });

    const early = await tickSpan(
      clock,
      hosts,
      "2026-03-04T20:00:00Z",
      "2026-03-04T20:10:00Z",
      MINUTE,
    );
    const beforeAlertAfter = await inbox.take();
    const late = await tickSpan(
      clock,
      hosts,
      "2026-03-04T20:10:00Z",
      "2026-03-04T21:00:00Z",
      5 * MINUTE,
    );
    const alerts = await inbox.take();
    const control = await deps.ports.store.readPool("blind");

    expect(new Set(seen([...early, ...late]).flat())).toEqual(
      new Set(["running:ready", "running:draining"]),
    );
    expect(beforeAlertAfter).toEqual([]);
    expect(alerts).toEqual([
      {
        subject: "vor-power alert: signal",
        key: "signal:midtier",
        message: expect.stringMatching(
          /^blind: busy source midtier failed since 2026-03-04T20:00:00Z \(HTTP 500 from the midtier's runs API at http:\/\/127\.0\.0\.1:\d+\/api\/runs: .*\); scale-in is frozen while it is down$/,
        ) as string,
      },
    ]);
    expect(control.marks.blindSince).toBe("2026-03-04T20:00:00Z");
    expect(Object.keys(control.alertsSent)).toEqual(["signal:midtier"]);

    live.midtier.answer({ kind: "json", body: [] });
    await tick(clock, "2026-03-04T21:00:00Z");
    await tick(clock, "2026-03-04T21:01:00Z");
    await tick(clock, "2026-03-04T21:02:00Z");

    const after = await readHosts(live.ec2, hosts);
    expect(after.map((h) => [h.state, h.tags["vor:lifecycle"]])).toEqual([
      ["stopped", "off"],
      ["stopped", "off"],
    ]);
    expect((await deps.ports.store.readPool("blind")).alertsSent).toEqual({});
  });

  it("freezes scale-in and alerts when the midtier refuses connections", async () => {
    const hosts = await launchHosts(live.ec2, "refused", [
      { state: "running", tags: READY_IDLE },
      { state: "running", tags: DRAINED },
    ]);
    const clock = new TestClock("2026-03-04T20:00:00Z");
    // Nothing listens on this loopback port.
    const nowhere = `http://127.0.0.1:${await freePort()}/api/runs`;
    setDependenciesForTests(
      await wireLive(
        live,
        poolConfig(live, "refused", {}, ["signals.midtier.runsUrl", nowhere]),
        clock,
      ),
    );
    const inbox = await subscribeInbox(live, "ops-inbox-refused");

    const span = await tickSpan(
      clock,
      hosts,
      "2026-03-04T20:00:00Z",
      "2026-03-04T20:30:00Z",
      5 * MINUTE,
    );

    expect(new Set(seen(span).flat())).toEqual(new Set(["running:ready", "running:draining"]));
    expect(await inbox.take()).toEqual([
      expect.objectContaining({
        key: "signal:midtier",
        message: expect.stringContaining("ECONNREFUSED") as string,
      }),
    ]);
  });
});

const VHOST = `vor-power-handlers-${randomUUID().slice(0, 8)}`;
const vhostPath = encodeURIComponent(VHOST);

async function management(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(`${MANAGEMENT}/api/${path}`, {
    ...init,
    headers: { authorization: GUEST, "content-type": "application/json" },
  });
  if (!response.ok && response.status !== 404)
    throw new Error(`management ${init.method ?? "GET"} ${path}: HTTP ${response.status}`);
  return response;
}

/** The run-queue consumers the management API lists in the test's vhost. */
async function consumers(): Promise<number> {
  return ((await (await management(`consumers/${vhostPath}`)).json()) as unknown[]).length;
}

const rabbitSkip =
  skip ||
  (!rabbitUp &&
    missing(
      "RabbitMQ management API on 127.0.0.1:15672",
      "start rabbitmq-server and enable rabbitmq_management (scripts/setup-test-env.sh does)",
    ));

describe.skipIf(rabbitSkip)("tick handler and RabbitMQ consumers (moto, RabbitMQ)", () => {
  let live: LiveAws;
  let connection: ChannelModel | undefined;

  beforeAll(async () => {
    live = await startLiveAws({ VOR_RABBITMQ_PASSWORD: "guest" });
    await management(`vhosts/${vhostPath}`, { method: "PUT" });
    await management(`permissions/${vhostPath}/guest`, {
      method: "PUT",
      body: JSON.stringify({ configure: ".*", write: ".*", read: ".*" }),
    });
    // The request queue the config names must exist, or its reading fails (and the pool is blind).
    await management(`queues/${vhostPath}/vor.requests`, { method: "PUT", body: "{}" });
  }, 60_000);

  afterAll(async () => {
    await connection?.close().catch(() => undefined);
    await management(`vhosts/${vhostPath}`, { method: "DELETE" });
    await live.close();
  });

  afterEach(() => {
    setDependenciesForTests(undefined);
  });

  it("never stops a host consuming a run queue while the midtier lists nothing; stops it once the consumer left", async () => {
    const [host = ""] = await launchHosts(live.ec2, "rabbit", [
      { state: "running", tags: READY_IDLE },
    ]);
    const clock = new TestClock("2026-03-04T20:00:00Z");
    const raw = poolConfig(live, "rabbit", { busy: ["rabbitmq", "midtier"] }, [
      "signals.rabbitmq",
      {
        managementUrl: MANAGEMENT,
        username: "guest",
        password: { fromEnv: "VOR_RABBITMQ_PASSWORD" },
        requestQueues: [{ vhost: VHOST, queue: "vor.requests", pool: "rabbit" }],
        runQueues: { vhost: VHOST, pattern: "^vor\\.run\\.(?<runId>[^.]+)\\." },
        ignoreConsumers: ["^vor-midtier"],
      },
    ]);
    setDependenciesForTests(await wireLive(live, raw, clock));
    live.midtier.answer({ kind: "json", body: [] });
    // The host's worker names its connection after the host (hostOf: connectionName).
    connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:5672/${vhostPath}`, {
      clientProperties: { connection_name: host },
    });
    const channel = await connection.createChannel();
    await channel.assertQueue("vor.run.r-77.main", { autoDelete: true });
    await channel.consume("vor.run.r-77.main", () => undefined);
    await waitFor(async () => (await consumers()) === 1, 20_000, "the consumer listed");

    const busySpan: HostView[][] = [];
    for (let at = Date.parse("2026-03-04T20:00:00Z"); at < Date.parse("2026-03-04T22:00:00Z");) {
      await tick(clock, new Date(at).toISOString());
      busySpan.push(await readHosts(live.ec2, [host]));
      at += 10 * MINUTE;
    }

    expect(new Set(seen(busySpan).flat())).toEqual(new Set(["running:ready"]));

    await connection.close();
    connection = undefined;
    await waitFor(async () => (await consumers()) === 0, 20_000, "the consumer gone");
    await tick(clock, "2026-03-04T22:00:00Z");
    await tick(clock, "2026-03-04T22:20:00Z");
    await tick(clock, "2026-03-04T22:21:00Z");
    await tick(clock, "2026-03-04T22:22:00Z");

    const [after] = await readHosts(live.ec2, [host]);
    expect(after).toMatchObject({ state: "stopped", tags: { "vor:lifecycle": "off" } });
  });

  async function tick(clock: TestClock, at: string): Promise<void> {
    clock.set(at);
    expect(await tickHandler(TICK, lambdaContext("vor-power-tick")), `tick at ${at}`).toMatchObject(
      { status: "done" },
    );
  }
});
