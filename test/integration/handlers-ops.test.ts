import type { APIGatewayProxyEventV2WithIAMAuthorizer } from "aws-lambda";
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
  vi,
  type MockInstance,
} from "vitest";
import { handler as opsHandler } from "../../functions/aws/ops.ts";
import { setDependenciesForTests, type Dependencies } from "../../functions/aws/runtime.ts";
import { handler as tickHandler } from "../../functions/aws/tick.ts";
import { loggerFor } from "../../shared/observability.ts";
import type { Audit, StatusReport, WriteAnswer } from "../../shared/ops/run-ops.ts";
import type { MidtierAnswer } from "../support/midtier-server.ts";
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
  subscribeInbox,
  wireLive,
  type LiveAws,
} from "../support/live-handlers.ts";
import { missing, motoInstalled } from "../support/services.ts";

// Every ops command through the ops Lambda's function URL (IAM auth), end to end: the handler's
// Dependencies from the production wiring against moto (EC2, DynamoDB, SNS, SQS) and the loopback
// midtier. Each command's effect is read back from moto and DynamoDB; each write's audit line is
// the ops logger's "audit" entry, with the caller's IAM principal as who.

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv");

type UrlRequest = APIGatewayProxyEventV2WithIAMAuthorizer;
const RECORDED = recordedEvent("function-url-ops.json") as UrlRequest;
/** The recorded request's IAM principal: the audit trail's `by`, whatever the body says. */
const ALICE = "arn:aws:sts::123456789012:assumed-role/vor-operators/alice";
const TICK = recordedEvent("scheduler-tick.json") as Record<string, unknown>;

/** Off for days: no restartCooldown holds it back. */
const OFF = { "vor:lifecycle": "off", "vor:since": "2026-03-01T00:00:00Z" };
/** Ready for days (past minUptime), idle since long before the test's first instant. */
const READY_IDLE = {
  "vor:lifecycle": "ready",
  "vor:ready-at": "2026-03-01T00:00:00Z",
  "vor:idle-since": "2026-03-04T06:00:00Z",
};
/** Wednesday 10:00 in London: business hours, the window of the pools that have one. */
const WEDNESDAY = "2026-03-04T10:00:00Z";
const BUSINESS_HOURS = { windows: [{ schedule: "business-hours", hosts: 1 }] };

/** AWS calls that change something (EC2 tags, starts, stops; DynamoDB writes). */
const WRITES = new Set([
  "CreateTags",
  "DeleteTags",
  "StartInstances",
  "StopInstances",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "TransactWriteItems",
]);

function runningOn(pool: string, host: string): MidtierAnswer {
  return {
    kind: "json",
    body: [{ id: `r-${pool}`, status: "running", pool, hosts: 1, hostIds: [host] }],
  };
}

describe.skipIf(skip)("ops handler (function URL, moto, loopback midtier)", () => {
  let live: LiveAws;
  let info: MockInstance<(message: string, ...extra: unknown[]) => void>;

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
  async function install(
    pool: string,
    start: string,
    settings: Record<string, unknown> = {},
  ): Promise<{ clock: TestClock; deps: Dependencies }> {
    const clock = new TestClock(start);
    const deps = await wireLive(live, poolConfig(live, pool, settings), clock);
    setDependenciesForTests(deps);
    info = vi.spyOn(loggerFor("ops"), "info");
    return { clock, deps };
  }

  /** Sends `command` as the recorded function URL request (alice's) to the wrapped handler. */
  async function send(
    command: Record<string, unknown>,
  ): Promise<{ status: number; body: unknown }> {
    const response = await opsHandler(
      { ...RECORDED, body: JSON.stringify(command) },
      lambdaContext("vor-power-ops"),
    );
    return { status: response.statusCode, body: JSON.parse(response.body) };
  }

  /** Sends a write command; its answer is a WriteAnswer (or an error body the test sees fail). */
  async function ops(command: Record<string, unknown>) {
    const { status, body } = await send(command);
    return { status, body: body as WriteAnswer };
  }

  /** The audit entries the ops logger wrote. */
  const audits = (): Audit[] =>
    info.mock.calls
      .filter(([message]) => message === "audit")
      .map(([, extra]) => (extra as { audit: Audit }).audit);

  async function tick(clock: TestClock, at: string): Promise<void> {
    clock.set(at);
    expect(await tickHandler(TICK, lambdaContext("vor-power-tick")), `tick at ${at}`).toMatchObject(
      { status: "done" },
    );
  }

  it("status reports the hosts as EC2 has them, busy from the midtier, and writes nothing", async () => {
    const [ready = "", off = ""] = await launchHosts(live.ec2, "st", [
      { state: "running", tags: READY_IDLE },
      { state: "stopped", tags: OFF },
    ]);
    await install("st", WEDNESDAY);
    live.midtier.answer(runningOn("st", ready));
    const callsBefore = live.recorder.calls.length;

    const answer = await send({ command: "status" });
    const status = answer.status;
    const body = answer.body as StatusReport;

    expect(status).toBe(200);
    const pool = body.pools.st;
    expect(pool?.numbers).toEqual({ desired: 1, demand: 1, floor: 0, capacity: 1 });
    const [readyNow, offNow] = await readHosts(live.ec2, [ready, off]);
    // EC2 lists hosts in its own order.
    expect(pool?.hosts.map((h) => [h.id, h.cloudState, h.lifecycle, h.busy]).sort()).toEqual(
      [
        [ready, readyNow?.state, readyNow?.tags["vor:lifecycle"], true],
        [off, offNow?.state, offNow?.tags["vor:lifecycle"], false],
      ].sort(),
    );
    expect(live.recorder.calls.slice(callsBefore).filter((c) => WRITES.has(c.action))).toEqual([]);
    expect(audits()).toEqual([]);
  });

  it("plan answers what a tick would do without doing it; the tick then does it", async () => {
    const [host = ""] = await launchHosts(live.ec2, "pl", [{ state: "running", tags: READY_IDLE }]);
    const { clock } = await install("pl", WEDNESDAY);
    live.midtier.answer({ kind: "json", body: [] });
    const callsBefore = live.recorder.calls.length;

    const answer = await send({ command: "plan", pool: "pl" });
    const body = answer.body as { dryRun: boolean; decisions: { rule: string }[] };
    const afterPlan = await readHost(live.ec2, host);
    const planWrites = live.recorder.calls.slice(callsBefore).filter((c) => WRITES.has(c.action));
    await tick(clock, WEDNESDAY);

    expect(answer.status).toBe(200);
    expect(body.dryRun).toBe(true);
    expect(body.decisions).toContainEqual(
      expect.objectContaining({ host, kind: "drain", rule: "scale-in.idle" }),
    );
    expect(afterPlan.tags["vor:lifecycle"]).toBe("ready");
    expect(planWrites).toEqual([]);
    expect((await readHost(live.ec2, host)).tags["vor:lifecycle"]).toBe("draining");
  });

  it("start stores a 30-minute hold as the caller and starts that many off hosts", async () => {
    const hosts = await launchHosts(live.ec2, "sa", [
      { state: "stopped", tags: OFF },
      { state: "stopped", tags: OFF },
      { state: "stopped", tags: OFF },
    ]);
    const { deps } = await install("sa", WEDNESDAY);
    live.midtier.answer({ kind: "json", body: [] });

    const { status, body } = await ops({
      command: "start",
      pool: "sa",
      hosts: 2,
      by: "someone-else",
      why: "month-end rerun",
    });

    expect(status).toBe(200);
    expect(body.reconcile?.acted).toBe(true);
    expect((await deps.ports.store.readPool("sa")).holds).toEqual([
      { hosts: 2, until: "2026-03-04T10:30:00Z", by: ALICE, why: "month-end rerun" },
    ]);
    const after = await readHosts(live.ec2, hosts);
    expect(after.filter((h) => h.state === "pending" || h.state === "running")).toHaveLength(2);
    expect(after.filter((h) => h.tags["vor:lifecycle"] === "starting")).toHaveLength(2);
    expect(audits()).toEqual([
      {
        who: ALICE,
        what: "start 2 hosts in sa (a hold at 2 until 2026-03-04T10:30:00Z)",
        why: "month-end rerun",
        at: "2026-03-04T10:00:00Z",
      },
    ]);
  });

  it("hold keeps an idle host on and starts another; release lets the idle host drain", async () => {
    const [idle = "", off = ""] = await launchHosts(live.ec2, "hr", [
      { state: "running", tags: READY_IDLE },
      { state: "stopped", tags: OFF },
    ]);
    const { clock, deps } = await install("hr", WEDNESDAY);
    live.midtier.answer({ kind: "json", body: [] });

    const held = await ops({
      command: "hold",
      pool: "hr",
      hosts: 2,
      until: "2026-03-04T12:00:00Z",
      by: ALICE,
      why: "regulator demo",
    });
    const holds = (await deps.ports.store.readPool("hr")).holds;
    await tick(clock, "2026-03-04T10:30:00Z");
    const [idleHeld, offHeld] = await readHosts(live.ec2, [idle, off]);
    const released = await ops({ command: "release", pool: "hr", by: ALICE, why: "demo done" });

    expect(held.status).toBe(200);
    expect(holds).toEqual([
      { hosts: 2, until: "2026-03-04T12:00:00Z", by: ALICE, why: "regulator demo" },
    ]);
    expect(idleHeld).toMatchObject({ state: "running", tags: { "vor:lifecycle": "ready" } });
    expect(["pending", "running"]).toContain(offHeld?.state);
    expect(released.status).toBe(200);
    expect((await deps.ports.store.readPool("hr")).holds).toEqual([]);
    // Without the hold the floor is 0: the release's own reconcile drains the idle host.
    expect((await readHost(live.ec2, idle)).tags["vor:lifecycle"]).toBe("draining");
    expect(audits().map((a) => [a.who, a.what])).toEqual([
      [ALICE, "hold hr at 2 hosts until 2026-03-04T12:00:00Z"],
      [ALICE, "release the holds of hr"],
    ]);
  });

  it("stop of a busy host is stored and drains it at once; the host stops only once idle", async () => {
    const [host = ""] = await launchHosts(live.ec2, "sb", [{ state: "running", tags: READY_IDLE }]);
    const { clock, deps } = await install("sb", WEDNESDAY);
    live.midtier.answer(runningOn("sb", host));

    const { status, body } = await ops({
      command: "stop",
      pool: "sb",
      host,
      by: ALICE,
      why: "kernel patch",
    });
    const stored = (await deps.ports.store.readPool("sb")).stopRequests;
    const drained = await readHost(live.ec2, host);
    const busySpan = [];
    for (let minute = 5; minute <= 60; minute += 5) {
      await tick(clock, new Date(Date.parse(WEDNESDAY) + minute * MINUTE).toISOString());
      busySpan.push(await readHost(live.ec2, host));
    }
    live.midtier.answer({ kind: "json", body: [] });
    await tick(clock, "2026-03-04T11:05:00Z");
    const stopping = await readHost(live.ec2, host);
    await tick(clock, "2026-03-04T11:06:00Z");

    expect(status).toBe(200);
    expect(body.audit).toEqual({
      who: ALICE,
      what: `stop ${host} in sb`,
      why: "kernel patch",
      at: "2026-03-04T10:00:00Z",
    });
    expect(stored).toEqual({
      [host]: { by: ALICE, why: "kernel patch", force: false, at: "2026-03-04T10:00:00Z" },
    });
    expect(drained).toMatchObject({ state: "running", tags: { "vor:lifecycle": "draining" } });
    expect(new Set(busySpan.map((h) => `${h.state}:${h.tags["vor:lifecycle"] ?? ""}`))).toEqual(
      new Set(["running:draining"]),
    );
    expect(stopping.tags).toMatchObject({ "vor:lifecycle": "stopping", "vor:stop-cause": "ops" });
    expect(await readHost(live.ec2, host)).toMatchObject({
      state: "stopped",
      tags: { "vor:lifecycle": "off" },
    });
    expect((await deps.ports.store.readPool("sb")).stopRequests).toEqual({});
  });

  it("stop with force stops a busy host at once, audited in the log, on the host and on SNS", async () => {
    const [host = ""] = await launchHosts(live.ec2, "sf", [{ state: "running", tags: READY_IDLE }]);
    await install("sf", WEDNESDAY);
    live.midtier.answer(runningOn("sf", host));
    const inbox = await subscribeInbox(live, "ops-inbox-force");
    const stopsBefore = live.recorder.callsOf("StopInstances").length;

    const { status, body } = await ops({
      command: "stop",
      pool: "sf",
      host,
      force: true,
      by: ALICE,
      why: "host wedged",
    });

    expect(status).toBe(200);
    const after = await readHost(live.ec2, host);
    expect(["stopping", "stopped"]).toContain(after.state);
    expect(after.tags).toMatchObject({
      "vor:lifecycle": "stopping",
      "vor:stop-cause": "ops-force",
    });
    expect(live.recorder.callsOf("StopInstances").slice(stopsBefore)).toEqual([
      { action: "StopInstances", instanceIds: [host] },
    ]);
    const audit = {
      who: ALICE,
      what: `force-stop ${host} in sf`,
      why: "host wedged",
      at: "2026-03-04T10:00:00Z",
    };
    expect(body.audit).toEqual(audit);
    expect(audits()).toEqual([audit]);
    expect(await inbox.take()).toEqual([
      {
        subject: "vor-power alert: ops-force",
        key: `ops-force:${host}:2026-03-04T10:00:00Z`,
        message: `sf: AUDIT ${host} force-stopped by ${ALICE}: host wedged`,
      },
    ]);
  });

  it("exclude tags the host and puts it out of vor-power's hands; include brings it back adopted", async () => {
    const [host = ""] = await launchHosts(live.ec2, "ex", [{ state: "running", tags: READY_IDLE }]);
    const { clock } = await install("ex", WEDNESDAY);
    live.midtier.answer({ kind: "json", body: [] });

    const excluded = await ops({
      command: "exclude",
      pool: "ex",
      host,
      by: ALICE,
      why: "maintenance",
    });
    const afterExclude = await readHost(live.ec2, host);
    const excludeTags = live.recorder
      .callsOf("CreateTags")
      .filter((c) => c.instanceIds.includes(host));
    // Idle for hours and above the floor: only the exclusion keeps ticks from draining it.
    const callsBefore = live.recorder.calls.length;
    await tick(clock, "2026-03-04T10:30:00Z");
    await tick(clock, "2026-03-04T11:00:00Z");
    const tickWrites = live.recorder.calls
      .slice(callsBefore)
      .filter((c) => c.instanceIds.includes(host) && WRITES.has(c.action));
    const afterTicks = await readHost(live.ec2, host);
    const included = await ops({
      command: "include",
      pool: "ex",
      host,
      by: ALICE,
      why: "maintenance done",
    });

    expect(excluded.status).toBe(200);
    expect(afterExclude.tags).toMatchObject({
      "vor:exclude": "true",
      "vor:reason": `${host}: excluded by ${ALICE}: maintenance`,
    });
    // The recorder sees the exclude's own tag write, so it would see a tick's.
    expect(excludeTags).toHaveLength(1);
    expect(tickWrites).toEqual([]);
    expect(afterTicks).toEqual(afterExclude);
    expect(included.status).toBe(200);
    const afterInclude = await readHost(live.ec2, host);
    expect(afterInclude.tags["vor:exclude"]).toBeUndefined();
    expect(afterInclude.tags["vor:lifecycle"]).toBe("adopted");
    expect(audits().map((a) => a.what)).toEqual([`exclude ${host} in ex`, `include ${host} in ex`]);
  });

  it("pause stops the planner acting, resume lets it start the window's host", async () => {
    const [host = ""] = await launchHosts(live.ec2, "pa", [{ state: "stopped", tags: OFF }]);
    const { clock, deps } = await install("pa", WEDNESDAY, BUSINESS_HOURS);
    live.midtier.answer({ kind: "json", body: [] });

    const paused = await ops({ command: "pause", pool: "pa", by: ALICE, why: "storage migration" });
    const pausedState = (await deps.ports.store.readPool("pa")).paused;
    await tick(clock, "2026-03-04T10:05:00Z");
    await tick(clock, "2026-03-04T10:10:00Z");
    const whilePaused = await readHost(live.ec2, host);
    const resumed = await ops({ command: "resume", pool: "pa", by: ALICE, why: "migration done" });

    expect(paused.status).toBe(200);
    expect(pausedState).toEqual({
      by: ALICE,
      why: "storage migration",
      at: "2026-03-04T10:00:00Z",
    });
    expect(whilePaused).toMatchObject({ state: "stopped", tags: { "vor:lifecycle": "off" } });
    expect(resumed.status).toBe(200);
    expect((await deps.ports.store.readPool("pa")).paused).toBe(null);
    const afterResume = await readHost(live.ec2, host);
    expect(["pending", "running"]).toContain(afterResume.state);
    expect(afterResume.tags["vor:lifecycle"]).toBe("starting");
  });

  it("resume-pool lifts a protection stored in DynamoDB, and the window's host starts", async () => {
    const [host = ""] = await launchHosts(live.ec2, "rp", [{ state: "stopped", tags: OFF }]);
    const { clock, deps } = await install("rp", WEDNESDAY, BUSINESS_HOURS);
    live.midtier.answer({ kind: "json", body: [] });
    // Protected after three quarantines in a row, as the planner would have left it, 10 minutes
    // ago (protectionCooldown, 1h, would lift it at 10:50).
    const lease = await deps.ports.store.acquireLease("rp", "test-setup", clock.now(), MINUTE);
    if (!lease) throw new Error("no lease for the set-up");
    await deps.ports.store.updatePool(lease, clock.now(), (control) => ({
      ...control,
      protection: {
        since: "2026-03-04T09:50:00Z",
        reason: "3 hosts failed bootstrap in a row",
        cause: "failures",
      },
      counters: { ...control.counters, consecutiveFailures: 3 },
      alertsSent: { protected: "2026-03-04T09:50:00Z" },
    }));
    await deps.ports.store.releaseLease(lease);
    await tick(clock, "2026-03-04T10:01:00Z");
    const whileProtected = await readHost(live.ec2, host);

    const { status } = await ops({
      command: "resume-pool",
      pool: "rp",
      by: ALICE,
      why: "image fixed",
    });

    expect(whileProtected.state).toBe("stopped");
    expect(status).toBe(200);
    const control = await deps.ports.store.readPool("rp");
    expect(control.protection).toBe(null);
    expect(control.counters.consecutiveFailures).toBe(0);
    expect(control.alertsSent).toEqual({});
    const after = await readHost(live.ec2, host);
    expect(["pending", "running"]).toContain(after.state);
    expect(after.tags["vor:lifecycle"]).toBe("starting");
  });

  it("reset brings a failed host back to off; a tick after restartCooldown starts it", async () => {
    const [host = ""] = await launchHosts(live.ec2, "rs", [
      {
        state: "stopped",
        tags: {
          "vor:lifecycle": "failed",
          "vor:since": "2026-03-04T08:00:00Z",
          "vor:failure": "ssh:key-refused",
          "vor:stop-cause": "quarantine",
          "vor:attempts": "3",
        },
      },
    ]);
    const { clock } = await install("rs", WEDNESDAY, BUSINESS_HOURS);
    live.midtier.answer({ kind: "json", body: [] });
    await tick(clock, WEDNESDAY);
    const whileFailed = await readHost(live.ec2, host);

    const { status } = await ops({
      command: "reset",
      pool: "rs",
      host,
      by: ALICE,
      why: "key rotated",
    });
    const afterReset = await readHost(live.ec2, host);
    await tick(clock, "2026-03-04T10:05:00Z");

    expect(whileFailed).toMatchObject({ state: "stopped", tags: { "vor:lifecycle": "failed" } });
    expect(status).toBe(200);
    expect(afterReset).toMatchObject({
      state: "stopped",
      tags: { "vor:lifecycle": "off", "vor:since": "2026-03-04T10:00:00Z" },
    });
    for (const stale of ["vor:failure", "vor:stop-cause", "vor:attempts"])
      expect(afterReset.tags[stale], stale).toBeUndefined();
    const after = await readHost(live.ec2, host);
    expect(["pending", "running"]).toContain(after.state);
    expect(after.tags["vor:lifecycle"]).toBe("starting");
    expect(audits()).toEqual([
      { who: ALICE, what: `reset ${host} in rs`, why: "key rotated", at: "2026-03-04T10:00:00Z" },
    ]);
  });
});
