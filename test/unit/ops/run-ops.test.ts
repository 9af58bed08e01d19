import { describe, expect, it } from "vitest";
import type { Ports } from "../../../shared/act/ports.ts";
import { reconcilePool } from "../../../shared/act/reconcile.ts";
import { SkipBootstrap } from "../../../shared/bootstrap/skip-bootstrap.ts";
import type { CallOutcome, ComputeProvider } from "../../../shared/cloud/compute-provider.ts";
import type { OpsCommand, OpsResult } from "../../../shared/ops/commands.ts";
import { runOps, type StatusReport, type WriteAnswer } from "../../../shared/ops/run-ops.ts";
import type { HostSnapshot, PoolControl, Signals } from "../../../shared/plan/index.ts";
import type { SignalSource } from "../../../shared/signals/signal-source.ts";
import { MemoryStateStore } from "../../../shared/state/memory-state-store.ts";
import type { ControlUpdate, Lease } from "../../../shared/state/state-store.ts";
import { host, okSignals, plannerConfig } from "../../support/snapshot-builder.ts";

// runOps over in-memory ports: a recording compute, signals the test sets, the memory store.
// 2026-03-04T10:00Z is a Wednesday inside the business-hours window (floor 1).

const NOW = new Date("2026-03-04T10:00:00Z");
const LATER = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);
const AUDIT = { by: "alice", why: "kernel patch" };

const config = plannerConfig(
  ["pools.compute.channel", "ssm"],
  ["bootstrap.vault", undefined],
  ["bootstrap.ssh", undefined],
);

/** Hosts in memory; every call logged; start and stop move the cloud state as EC2 would. */
class FakeCompute implements ComputeProvider {
  readonly calls: string[] = [];
  readonly hosts: HostSnapshot[];
  failing: string | undefined;

  constructor(hosts: HostSnapshot[]) {
    this.hosts = hosts;
  }

  listHosts(): Promise<HostSnapshot[]> {
    if (this.failing) return Promise.reject(new Error(this.failing));
    return Promise.resolve(structuredClone(this.hosts));
  }

  writeTags(
    id: string,
    set: Readonly<Record<string, string>>,
    remove: readonly string[],
  ): Promise<void> {
    this.calls.push(`tags ${id}`);
    const target = this.hosts.find((h) => h.id === id);
    if (target) {
      for (const key of remove) Reflect.deleteProperty(target.tags, key);
      Object.assign(target.tags, set);
    }
    return Promise.resolve();
  }

  start(ids: readonly string[]): Promise<Map<string, CallOutcome>> {
    this.calls.push(`start ${ids.join(",")}`);
    for (const id of ids) this.move(id, "pending");
    return Promise.resolve(new Map(ids.map((id) => [id, { ok: true }])));
  }

  stop(ids: readonly string[]): Promise<Map<string, CallOutcome>> {
    this.calls.push(`stop ${ids.join(",")}`);
    for (const id of ids) this.move(id, "stopping");
    return Promise.resolve(new Map(ids.map((id) => [id, { ok: true }])));
  }

  tagsOf(id: string): Record<string, string> {
    return this.hosts.find((h) => h.id === id)?.tags ?? {};
  }

  private move(id: string, state: HostSnapshot["cloudState"]): void {
    const target = this.hosts.find((h) => h.id === id);
    if (target) target.cloudState = state;
  }
}

class FakeSignals implements SignalSource {
  signals: Signals = okSignals();

  read(): Promise<Signals> {
    return Promise.resolve(this.signals);
  }

  isBusy(_pool: string, id: string): Promise<boolean> {
    const runs = this.signals.midtier?.status === "ok" ? this.signals.midtier.data.runs : [];
    return Promise.resolve(runs.some((r) => r.hostIds.includes(id)));
  }
}

/** The memory store, with every write logged (a dry run must log none). */
class RecordingStore extends MemoryStateStore {
  readonly writes: string[] = [];

  override updatePool(lease: Lease, now: Date, update: ControlUpdate): Promise<PoolControl> {
    this.writes.push("updatePool");
    return super.updatePool(lease, now, update);
  }
  override acquireLease(pool: string, owner: string, now: Date, ttlMs: number) {
    this.writes.push(`acquireLease ${owner}`);
    return super.acquireLease(pool, owner, now, ttlMs);
  }
  override claimHost(pool: string, id: string, owner: string, now: Date, ttlMs: number) {
    this.writes.push(`claimHost ${id}`);
    return super.claimHost(pool, id, owner, now, ttlMs);
  }
}

function world(hosts: HostSnapshot[], control: Partial<PoolControl> = {}) {
  const compute = new FakeCompute(hosts);
  const signals = new FakeSignals();
  const store = new RecordingStore();
  const alerts: { key: string; message: string }[] = [];
  const ports: Ports = {
    compute,
    signals,
    store,
    bootstrap: new SkipBootstrap(store, "test-bootstrap"),
    alerter: { send: (key, message) => Promise.resolve(void alerts.push({ key, message })) },
  };
  const seeded = (async () => {
    const lease = await store.acquireLease("compute", "seed", NOW, 60_000);
    if (!lease) throw new Error("seed: no lease");
    await store.updatePool(lease, NOW, (c) => ({ ...c, ...control }));
    await store.releaseLease(lease);
    store.writes.length = 0;
  })();
  const run = async (
    command: OpsCommand,
    options: { dryRun?: boolean; now?: Date } = {},
  ): Promise<OpsResult> => {
    await seeded;
    return runOps(command, {
      config,
      ports,
      now: options.now ?? NOW,
      dryRun: options.dryRun ?? false,
      owner: "ops-test",
      leaseRetry: { attempts: 2, waitMs: 1 },
    });
  };
  return {
    compute,
    signals,
    store,
    alerts,
    ports,
    run,
    seeded,
    control: () => store.readPool("compute"),
  };
}

const readyHost = (id: string) =>
  host(id, "running", {
    lifecycle: "ready",
    since: "2026-03-04T08:00:00Z",
    readyAt: "2026-03-04T08:00:00Z",
  });
const offHost = (id: string) =>
  host(id, "stopped", { lifecycle: "off", since: "2026-03-04T08:00:00Z" });
const write = (result: OpsResult) => result.body as WriteAnswer;

describe("runOps status and plan", () => {
  it("reports each host, the holds, stop requests, pause, protection and the planner's numbers", async () => {
    const { run, signals } = world(
      [
        readyHost("i-1"),
        offHost("i-2"),
        host("i-3", "stopped", { lifecycle: "failed", failure: "ssh:key-refused" }),
        host("i-4", "running", { lifecycle: "ready", exclude: "true" }),
      ],
      {
        holds: [{ hosts: 3, until: "2026-03-04T12:00:00Z", by: "bob", why: "month end" }],
        stopRequests: {
          "i-1": { by: "bob", why: "patch", force: false, at: "2026-03-04T09:59:00Z" },
        },
        paused: { by: "carol", why: "incident", at: "2026-03-04T09:00:00Z" },
        protection: { since: "2026-03-04T09:30:00Z", reason: "3 hosts failed", cause: "failures" },
      },
    );
    signals.signals = okSignals({ runs: [{ id: "r-1", state: "running", hostIds: ["i-1"] }] });

    const result = await run({ command: "status" });

    expect(result.status).toBe(200);
    const pool = (result.body as StatusReport).pools.compute;
    expect(pool).toMatchObject({
      numbers: { desired: 3, floor: 3, capacity: 1 },
      blind: false,
      paused: { by: "carol", why: "incident" },
      protection: { reason: "3 hosts failed", since: "2026-03-04T09:30:00Z" },
      holds: [{ hosts: 3, by: "bob", active: true }],
      stopRequests: { "i-1": { by: "bob", force: false } },
    });
    expect(pool?.hosts).toEqual([
      expect.objectContaining({ id: "i-1", cloudState: "running", lifecycle: "ready", busy: true }),
      expect.objectContaining({ id: "i-2", cloudState: "stopped", lifecycle: "off", busy: false }),
      expect.objectContaining({ id: "i-3", lifecycle: "failed", failure: "ssh:key-refused" }),
      expect.objectContaining({ id: "i-4", excluded: true, busy: null }),
    ]);
  });

  it("reports the pool blind while a busy source is down", async () => {
    const { run, signals } = world([readyHost("i-1")]);
    signals.signals = { ...okSignals(), midtier: { status: "failed", why: "HTTP 503" } };

    const result = await run({ command: "status", pool: "compute" });

    const pool = (result.body as StatusReport).pools.compute;
    expect(pool?.blind).toBe(true);
    expect(pool?.signals.midtier).toBe("failed: HTTP 503");
    expect(pool?.hosts[0]?.busy).toBe("unknown");
  });

  it("answers 404 naming a pool the config does not have", async () => {
    const { run } = world([]);

    const result = await run({ command: "status", pool: "gpu" });

    expect(result).toEqual({
      status: 404,
      body: { error: expect.stringContaining("pool gpu is not in the config") as string },
    });
  });

  it("plans without acting: decisions with rule and reason, nothing written", async () => {
    const { run, compute, store } = world([readyHost("i-1"), offHost("i-2")], {
      holds: [{ hosts: 2, until: "2026-03-04T12:00:00Z", by: "bob", why: "month end" }],
    });

    const result = await run({ command: "plan", pool: "compute" });

    expect(result.status).toBe(200);
    expect(result.body.decisions).toContainEqual(
      expect.objectContaining({ host: "i-2", kind: "start", rule: "scale-out.floor" }),
    );
    expect(compute.calls).toEqual([]);
    expect(store.writes).toEqual([]);
  });

  it("answers 500 with the adapter's message, not a stack, when an adapter fails", async () => {
    const { run, compute } = world([readyHost("i-1")]);
    compute.failing = "UnauthorizedOperation: ec2:DescribeInstances";

    const result = await run({ command: "status" });

    expect(result.status).toBe(500);
    expect(result.body.error).toContain("UnauthorizedOperation: ec2:DescribeInstances");
    expect(result.body.error).not.toContain("    at ");
  });
});

describe("runOps hold, start and release", () => {
  it("stores a hold and starts hosts to reach it at once, with the audit", async () => {
    const { run, compute, control } = world([readyHost("i-1"), offHost("i-2")]);

    const result = await run({
      command: "hold",
      pool: "compute",
      hosts: 2,
      until: "2026-03-04T13:00:00+01:00",
      ...AUDIT,
    });

    expect(result.status).toBe(200);
    expect((await control()).holds).toEqual([
      { hosts: 2, until: "2026-03-04T12:00:00Z", by: "alice", why: "kernel patch" },
    ]);
    expect(compute.calls).toContain("start i-2");
    expect(write(result).audit).toEqual({
      who: "alice",
      what: "hold compute at 2 hosts until 2026-03-04T12:00:00Z",
      why: "kernel patch",
      at: "2026-03-04T10:00:00Z",
    });
  });

  it("answers 400 for a hold that ends in the past", async () => {
    const { run, store } = world([readyHost("i-1")]);

    const result = await run({
      command: "hold",
      pool: "compute",
      hosts: 2,
      until: "2026-03-04T09:00:00Z",
      ...AUDIT,
    });

    expect(result.status).toBe(400);
    expect(result.body.error).toContain("not in the future");
    expect(store.writes).not.toContain("updatePool");
  });

  it("starts hosts as a 30-minute hold at the current desired plus the hosts asked for", async () => {
    const { run, compute, control } = world([readyHost("i-1"), offHost("i-2"), offHost("i-3")]);

    const result = await run({ command: "start", pool: "compute", hosts: 2, ...AUDIT });

    expect(result.status).toBe(200);
    expect((await control()).holds).toEqual([
      { hosts: 3, until: "2026-03-04T10:30:00Z", by: "alice", why: "kernel patch" },
    ]);
    expect(write(result).message).toContain("start is an ops hold");
    expect(compute.calls).toContain("start i-2,i-3");
  });

  it("refuses to start hosts in a paused pool with 409", async () => {
    const { run } = world([readyHost("i-1"), offHost("i-2")], {
      paused: { by: "carol", why: "incident", at: "2026-03-04T09:00:00Z" },
    });

    const result = await run({ command: "start", pool: "compute", hosts: 1, ...AUDIT });

    expect(result.status).toBe(409);
    expect(result.body.error).toContain("paused");
  });

  it("releases every hold of the pool, and answers 409 when there is none", async () => {
    const { run, control } = world([readyHost("i-1")], {
      holds: [{ hosts: 3, until: "2026-03-04T12:00:00Z", by: "bob", why: "month end" }],
    });

    const released = await run({ command: "release", pool: "compute", ...AUDIT });
    const again = await run({ command: "release", pool: "compute", ...AUDIT });

    expect(released.status).toBe(200);
    expect((await control()).holds).toEqual([]);
    expect(again.status).toBe(409);
  });
});

describe("runOps stop", () => {
  it("drains a busy host at once and stops it only once it is idle", async () => {
    const { run, compute, signals, ports } = world([readyHost("i-1"), readyHost("i-2")]);
    signals.signals = okSignals({ runs: [{ id: "r-1", state: "running", hostIds: ["i-1"] }] });

    const result = await run({
      command: "stop",
      pool: "compute",
      host: "i-1",
      force: false,
      ...AUDIT,
    });
    await reconcilePool(config, "compute", ports, LATER(10), "tick");
    const whileBusy = [...compute.calls];
    signals.signals = okSignals();
    await reconcilePool(config, "compute", ports, LATER(12), "tick");

    expect(result.status).toBe(200);
    expect(write(result).reconcile?.decisions).toContainEqual(
      expect.objectContaining({ host: "i-1", kind: "drain", rule: "ops.drain", status: "done" }),
    );
    expect(whileBusy.filter((c) => c.startsWith("stop"))).toEqual([]);
    expect(compute.calls).toContain("stop i-1");
    expect(compute.tagsOf("i-1")["vor:stop-cause"]).toBe("ops");
  });

  it("stores the stop request with who, why, force and when", async () => {
    const { run, signals, control } = world([readyHost("i-1"), readyHost("i-2")]);
    signals.signals = okSignals({ runs: [{ id: "r-1", state: "running", hostIds: ["i-1"] }] });

    await run({ command: "stop", pool: "compute", host: "i-1", force: false, ...AUDIT });

    expect((await control()).stopRequests).toEqual({
      "i-1": { by: "alice", why: "kernel patch", force: false, at: "2026-03-04T10:00:00Z" },
    });
  });

  it("stops a busy host at once when forced, and sends the AUDIT alert", async () => {
    const { run, compute, signals, alerts } = world([readyHost("i-1"), readyHost("i-2")]);
    signals.signals = okSignals({ runs: [{ id: "r-1", state: "running", hostIds: ["i-1"] }] });

    const result = await run({
      command: "stop",
      pool: "compute",
      host: "i-1",
      force: true,
      ...AUDIT,
    });

    expect(result.status).toBe(200);
    expect(compute.calls).toContain("stop i-1");
    expect(compute.tagsOf("i-1")).toMatchObject({
      "vor:lifecycle": "stopping",
      "vor:stop-cause": "ops-force",
    });
    expect(alerts).toContainEqual({
      key: expect.stringContaining("ops-force:i-1") as string,
      message: expect.stringContaining("AUDIT i-1 force-stopped by alice: kernel patch") as string,
    });
    expect(write(result).audit.what).toBe("force-stop i-1 in compute");
  });

  it.each([
    [
      "an excluded host",
      host("i-1", "running", { lifecycle: "ready", exclude: "true" }),
      "excluded",
    ],
    ["a failed host", host("i-1", "stopped", { lifecycle: "failed" }), "failed"],
    ["a stopped host", offHost("i-1"), "already stopped"],
  ])("refuses to stop %s with 409", async (_what, target, words) => {
    const { run, store } = world([target]);

    const result = await run({
      command: "stop",
      pool: "compute",
      host: "i-1",
      force: true,
      ...AUDIT,
    });

    expect(result.status).toBe(409);
    expect(result.body.error).toContain(words);
    expect(store.writes).not.toContain("updatePool");
  });

  it("upgrades a stop request to a forced one, and refuses the same request twice", async () => {
    const { run, signals, control } = world([readyHost("i-1"), readyHost("i-2")]);
    signals.signals = okSignals({ runs: [{ id: "r-1", state: "running", hostIds: ["i-1"] }] });
    const stop = { command: "stop", pool: "compute", host: "i-1", ...AUDIT } as const;

    const first = await run({ ...stop, force: false });
    const again = await run({ ...stop, force: false });
    const forced = await run({ ...stop, force: true, by: "bob" });

    expect(first.status).toBe(200);
    expect(again.status).toBe(409);
    expect(again.body.error).toContain("already requested by alice");
    expect(forced.status).toBe(200);
    expect((await control()).stopRequests["i-1"]).toMatchObject({ by: "bob", force: true });
  });

  it("drops the host's stop request when ops exclude it", async () => {
    const { run, signals, control } = world([readyHost("i-1"), readyHost("i-2")]);
    signals.signals = okSignals({ runs: [{ id: "r-1", state: "running", hostIds: ["i-1"] }] });
    await run({ command: "stop", pool: "compute", host: "i-1", force: false, ...AUDIT });

    const result = await run({ command: "exclude", pool: "compute", host: "i-1", ...AUDIT });

    expect(result.status).toBe(200);
    expect((await control()).stopRequests).toEqual({});
  });

  it("answers 404 for a host that is not in the pool", async () => {
    const { run } = world([readyHost("i-1")]);

    const result = await run({
      command: "stop",
      pool: "compute",
      host: "i-9",
      force: false,
      ...AUDIT,
    });

    expect(result.status).toBe(404);
    expect(result.body.error).toContain("host i-9 is not in pool compute");
  });

  it("answers 409 when another reconcile keeps the lease, writing nothing", async () => {
    const { run, store, compute, seeded } = world([readyHost("i-1")]);
    await seeded;
    await store.acquireLease("compute", "tick-elsewhere", NOW, 120_000);

    const result = await run({
      command: "stop",
      pool: "compute",
      host: "i-1",
      force: true,
      ...AUDIT,
    });

    expect(result.status).toBe(409);
    expect(result.body.error).toContain("another reconcile holds the lease");
    expect(store.writes.filter((w) => w === "acquireLease ops-test")).toHaveLength(3);
    expect(store.writes).not.toContain("updatePool");
    expect(compute.calls).toEqual([]);
  });
});

describe("runOps exclude, include and reset", () => {
  it("excludes a host by tag, and the planner then leaves it alone", async () => {
    const { run, compute } = world([readyHost("i-1"), readyHost("i-2")]);

    const result = await run({ command: "exclude", pool: "compute", host: "i-1", ...AUDIT });

    expect(result.status).toBe(200);
    expect(compute.tagsOf("i-1")).toMatchObject({
      "vor:exclude": "true",
      "vor:lifecycle": "ready",
      "vor:reason": "i-1: excluded by alice: kernel patch",
    });
    expect(write(result).reconcile?.decisions).toContainEqual(
      expect.objectContaining({ host: "i-1", kind: "skip", rule: "host.excluded" }),
    );
  });

  it("with Consul, puts the excluded host's service into maintenance before the tag", async () => {
    const { run, compute, ports } = world([readyHost("i-1"), readyHost("i-2")]);
    const calls: string[] = [];
    ports.registry = {
      set: (id, action) => {
        calls.push(`${action} ${id} (tags so far: ${compute.calls.join(", ") || "none"})`);
        return Promise.resolve();
      },
    };

    const result = await run({ command: "exclude", pool: "compute", host: "i-1", ...AUDIT });

    expect(result.status).toBe(200);
    expect(calls).toEqual(["maintenance i-1 (tags so far: none)"]);
    expect(write(result).message).toMatch(/; its Consul service is in maintenance$/);
    expect(compute.tagsOf("i-1")["vor:exclude"]).toBe("true");
  });

  it("with Consul refusing, excludes nothing, so the operator can simply retry", async () => {
    const { run, compute, ports } = world([readyHost("i-1"), readyHost("i-2")]);
    ports.registry = {
      set: () => Promise.reject(new Error("consul:denied: 403 ACL not found")),
    };

    const result = await run({ command: "exclude", pool: "compute", host: "i-1", ...AUDIT });

    expect(result.status).toBe(500);
    expect(JSON.stringify(result.body)).toContain("ACL not found");
    expect(compute.tagsOf("i-1")["vor:exclude"]).toBeUndefined();
  });

  it("includes an excluded running host as adopted, so it goes through bootstrap again", async () => {
    const { run, compute, store } = world([
      host("i-1", "running", {
        lifecycle: "ready",
        exclude: "true",
        idleSince: "2026-03-04T09:00:00Z",
      }),
    ]);

    const result = await run({ command: "include", pool: "compute", host: "i-1", ...AUDIT });

    expect(result.status).toBe(200);
    const tags = compute.tagsOf("i-1");
    expect(tags["vor:exclude"]).toBeUndefined();
    expect(tags["vor:idle-since"]).toBeUndefined();
    expect(tags["vor:lifecycle"]).toBe("adopted");
    expect(store.writes).toContain("claimHost i-1");
  });

  it("includes an excluded stopped host as off", async () => {
    const { run, compute } = world([
      host("i-1", "stopped", { lifecycle: "ready", exclude: "true" }),
    ]);

    await run({ command: "include", pool: "compute", host: "i-1", ...AUDIT });

    expect(compute.tagsOf("i-1")).toMatchObject({
      "vor:lifecycle": "off",
      "vor:since": "2026-03-04T10:00:00Z",
    });
  });

  it.each([
    [
      "exclude",
      host("i-1", "running", { lifecycle: "ready", exclude: "true" }),
      "already excluded",
    ],
    ["include", readyHost("i-1"), "not excluded"],
    ["reset", readyHost("i-1"), "not failed"],
  ] as const)(
    "refuses %s of a host in the wrong state with 409",
    async (command, target, words) => {
      const { run, compute } = world([target]);

      const result = await run({ command, pool: "compute", host: "i-1", ...AUDIT });

      expect(result.status).toBe(409);
      expect(result.body.error).toContain(words);
      expect(compute.calls).toEqual([]);
    },
  );

  it.each([
    ["stopped", "off"],
    ["running", "adopted"],
  ] as const)("resets a failed %s host to %s and clears its failure", async (cloud, lifecycle) => {
    const { run, compute } = world([
      host("i-1", cloud, {
        lifecycle: "failed",
        failure: "ssh:key-refused",
        attempts: "3",
        stopCause: "quarantine",
      }),
    ]);

    const result = await run({ command: "reset", pool: "compute", host: "i-1", ...AUDIT });

    expect(result.status).toBe(200);
    const tags = compute.tagsOf("i-1");
    expect(tags["vor:lifecycle"]).toBe(lifecycle);
    expect(tags["vor:failure"]).toBeUndefined();
    expect(tags["vor:attempts"]).toBeUndefined();
    expect(tags["vor:stop-cause"]).toBeUndefined();
  });
});

describe("runOps pause, resume and resume-pool", () => {
  it("pauses the pool so the planner freezes, and resumes it", async () => {
    const { run, control } = world([readyHost("i-1"), offHost("i-2")]);

    const paused = await run({ command: "pause", pool: "compute", ...AUDIT });
    const pausedControl = await control();
    const twice = await run({ command: "pause", pool: "compute", ...AUDIT });
    const resumed = await run({ command: "resume", pool: "compute", ...AUDIT });

    expect(paused.status).toBe(200);
    expect(pausedControl.paused).toEqual({
      by: "alice",
      why: "kernel patch",
      at: "2026-03-04T10:00:00Z",
    });
    expect(write(paused).reconcile?.summary).toContain("paused by alice");
    expect(twice.status).toBe(409);
    expect(resumed.status).toBe(200);
    expect((await control()).paused).toBeNull();
  });

  it("answers 409 to resume a pool that is not paused", async () => {
    const { run } = world([readyHost("i-1")]);

    const result = await run({ command: "resume", pool: "compute", ...AUDIT });

    expect(result.status).toBe(409);
  });

  it("lifts protection and zeroes the consecutive failure count", async () => {
    const { run, control } = world([readyHost("i-1")], {
      protection: { since: "2026-03-04T09:30:00Z", reason: "3 hosts failed", cause: "failures" },
      counters: { consecutiveFailures: 3, startFailures: 0, startBackoffUntil: null },
      alertsSent: { protected: "2026-03-04T09:30:00Z" },
    });

    const result = await run({ command: "resume-pool", pool: "compute", ...AUDIT });

    expect(result.status).toBe(200);
    const after = await control();
    expect(after.protection).toBeNull();
    expect(after.counters.consecutiveFailures).toBe(0);
    expect(after.alertsSent).not.toHaveProperty("protected");
  });

  it("answers 409 to resume-pool a pool that is not protected", async () => {
    const { run } = world([readyHost("i-1")]);

    const result = await run({ command: "resume-pool", pool: "compute", ...AUDIT });

    expect(result.status).toBe(409);
  });
});

describe("runOps dry run", () => {
  it.each<OpsCommand>([
    { command: "hold", pool: "compute", hosts: 2, until: "2026-03-04T12:00:00Z", ...AUDIT },
    { command: "start", pool: "compute", hosts: 1, ...AUDIT },
    { command: "stop", pool: "compute", host: "i-1", force: true, ...AUDIT },
    { command: "exclude", pool: "compute", host: "i-1", ...AUDIT },
    { command: "pause", pool: "compute", ...AUDIT },
  ])("writes nothing for $command and says what would change", async (command) => {
    const { run, compute, store, alerts } = world([readyHost("i-1"), offHost("i-2")]);

    const result = await run(command, { dryRun: true });

    expect(result.status).toBe(200);
    expect(write(result)).toMatchObject({ dryRun: true, audit: { who: "alice" } });
    expect(write(result).message).toMatch(/^dry run, nothing written: would /);
    expect(write(result).changes.length).toBeGreaterThan(0);
    expect(compute.calls).toEqual([]);
    expect(store.writes).toEqual([]);
    expect(alerts).toEqual([]);
  });

  it("still refuses what it would refuse for real", async () => {
    const { run } = world([readyHost("i-1")]);

    const result = await run(
      { command: "include", pool: "compute", host: "i-1", ...AUDIT },
      { dryRun: true },
    );

    expect(result.status).toBe(409);
  });
});
