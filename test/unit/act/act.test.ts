import { describe, expect, it } from "vitest";
import { act } from "../../../shared/act/act.ts";
import type { Ports } from "../../../shared/act/ports.ts";
import { reconcilePool } from "../../../shared/act/reconcile.ts";
import type { CallOutcome, ComputeProvider } from "../../../shared/cloud/compute-provider.ts";
import type { Decision, HostSnapshot, Plan, Signals } from "../../../shared/plan/index.ts";
import type { SignalSource } from "../../../shared/signals/signal-source.ts";
import { MemoryStateStore } from "../../../shared/state/memory-state-store.ts";
import type { Lease } from "../../../shared/state/state-store.ts";
import { host, okSignals, plannerConfig } from "../../support/snapshot-builder.ts";

const NOW = new Date("2026-03-04T10:00:00Z");

/** A recording ComputeProvider: hosts in memory, every call logged, chosen calls refused. */
class FakeCompute implements ComputeProvider {
  readonly calls: string[] = [];
  readonly hosts: HostSnapshot[];
  refuse = new Set<string>();

  constructor(hosts: HostSnapshot[]) {
    this.hosts = hosts;
  }

  listHosts(): Promise<HostSnapshot[]> {
    return Promise.resolve(structuredClone(this.hosts));
  }

  writeTags(
    id: string,
    set: Readonly<Record<string, string>>,
    remove: readonly string[],
  ): Promise<void> {
    this.calls.push(`tags ${id}`);
    if (this.refuse.has(`tags ${id}`))
      return Promise.reject(new Error("AccessDenied: ec2:CreateTags"));
    const target = this.hosts.find((h) => h.id === id);
    if (target) {
      for (const key of remove) Reflect.deleteProperty(target.tags, key);
      Object.assign(target.tags, set);
    }
    return Promise.resolve();
  }

  start(ids: readonly string[]): Promise<Map<string, CallOutcome>> {
    this.calls.push(`start ${ids.join(",")}`);
    return Promise.resolve(
      new Map(
        ids.map((id) => [
          id,
          this.refuse.has(`start ${id}`)
            ? { ok: false, code: "capacity", why: "InsufficientInstanceCapacity" }
            : { ok: true },
        ]),
      ),
    );
  }

  stop(ids: readonly string[]): Promise<Map<string, CallOutcome>> {
    this.calls.push(`stop ${ids.join(",")}`);
    return Promise.resolve(new Map(ids.map((id) => [id, { ok: true }])));
  }
}

class FakeSignals implements SignalSource {
  busy = new Map<string, boolean | "unknown">();
  signals: Signals = okSignals();

  read(): Promise<Signals> {
    return Promise.resolve(this.signals);
  }

  isBusy(_pool: string, id: string): Promise<boolean | "unknown"> {
    return Promise.resolve(this.busy.get(id) ?? false);
  }
}

function portsWith(hosts: HostSnapshot[]) {
  const compute = new FakeCompute(hosts);
  const signals = new FakeSignals();
  const store = new MemoryStateStore();
  const sent: string[] = [];
  const begun: string[] = [];
  const ports: Ports = {
    compute,
    signals,
    store,
    alerter: { send: (key) => Promise.resolve(void sent.push(key)) },
    bootstrap: { begin: (_pool, id) => Promise.resolve(void begun.push(id)) },
  };
  return { ports, compute, signals, store, sent, begun };
}

const decision = (hostId: string, effects: Decision["effects"]): Decision => ({
  pool: "compute",
  host: hostId,
  kind: "stop",
  rule: "test",
  reason: "test",
  effects,
});

async function leaseOf(store: MemoryStateStore): Promise<Map<string, Lease>> {
  const lease = await store.acquireLease("compute", "test", NOW, 120_000);
  if (!lease) throw new Error("no lease");
  return new Map([["compute", lease]]);
}

const planOf = (...decisions: Decision[]): Plan => ({ at: NOW.toISOString(), decisions });
const stopping = (id: string): Decision =>
  decision(id, [
    { type: "tags", host: id, set: { "vor:lifecycle": "stopping" }, remove: [] },
    { type: "stop", host: id, hibernate: false, recheckBusy: true },
  ]);

describe("act", () => {
  it.each([
    [true, "got work since the plan"],
    ["unknown" as const, "could not be re-read"],
  ])("skips a stop whose last-moment busy re-read says %s, writing nothing", async (busy, why) => {
    const { ports, compute, signals, store } = portsWith([
      host("i-1", "running", { lifecycle: "draining" }),
    ]);
    signals.busy.set("i-1", busy);

    const result = await act(planOf(stopping("i-1")), ports, await leaseOf(store), NOW);

    expect(result.outcomes[0]).toMatchObject({ status: "skipped" });
    expect(result.outcomes[0]?.why).toContain(why);
    expect(compute.calls).toEqual([]);
  });

  it("writes the lifecycle tag before the stop call when the host is idle", async () => {
    const { ports, compute, store } = portsWith([
      host("i-1", "running", { lifecycle: "draining" }),
    ]);

    const result = await act(planOf(stopping("i-1")), ports, await leaseOf(store), NOW);

    expect(result.outcomes[0]?.status).toBe("done");
    expect(compute.calls).toEqual(["tags i-1", "stop i-1"]);
  });

  it("ends a decision at its failed effect and still carries out the next decision", async () => {
    const { ports, compute, store } = portsWith([host("i-1", "running"), host("i-2", "running")]);
    compute.refuse.add("tags i-1");

    const result = await act(
      planOf(stopping("i-1"), stopping("i-2")),
      ports,
      await leaseOf(store),
      NOW,
    );

    expect(result.outcomes.map((o) => o.status)).toEqual(["failed", "done"]);
    expect(result.outcomes[0]?.why).toContain("ec2:CreateTags");
    expect(compute.calls).toEqual(["tags i-1", "tags i-2", "stop i-2"]);
  });

  it("records each start and its immediate result in the state store", async () => {
    const { ports, compute, store } = portsWith([host("i-1", "stopped"), host("i-2", "stopped")]);
    compute.refuse.add("start i-2");
    const start = (id: string) => decision(id, [{ type: "start", host: id }]);

    await act(planOf(start("i-1"), start("i-2")), ports, await leaseOf(store), NOW);

    const control = await store.readPool("compute");
    expect(control.startRecords).toEqual({
      "i-1": { at: NOW.toISOString(), result: "ok" },
      "i-2": { at: NOW.toISOString(), result: "failed", code: "capacity" },
    });
  });

  it("writes every decision's lifecycle tag first, then starts all hosts in one call", async () => {
    const { ports, compute, store } = portsWith([host("i-1", "stopped"), host("i-2", "stopped")]);
    const start = (id: string) =>
      decision(id, [
        { type: "tags", host: id, set: { "vor:lifecycle": "starting" }, remove: [] },
        { type: "start", host: id },
      ]);

    const result = await act(planOf(start("i-1"), start("i-2")), ports, await leaseOf(store), NOW);

    expect(result.outcomes.map((o) => o.status)).toEqual(["done", "done"]);
    expect(compute.calls).toEqual(["tags i-1", "tags i-2", "start i-1,i-2"]);
  });

  it("sends an alert and records it, so it is sent once per episode", async () => {
    const { ports, store, sent } = portsWith([]);

    await act(
      planOf({
        pool: "compute",
        kind: "alert",
        rule: "test",
        reason: "test",
        effects: [{ type: "alert", key: "signal:midtier", message: "down" }],
      }),
      ports,
      await leaseOf(store),
      NOW,
    );

    expect(sent).toEqual(["signal:midtier"]);
    expect((await store.readPool("compute")).alertsSent).toEqual({
      "signal:midtier": NOW.toISOString(),
    });
  });

  it("acts on nothing without the pool's lease", async () => {
    const { ports, compute } = portsWith([host("i-1", "running")]);

    const result = await act(planOf(stopping("i-1")), ports, new Map(), NOW);

    expect(result.outcomes[0]).toMatchObject({ status: "skipped" });
    expect(compute.calls).toEqual([]);
  });
});

describe("reconcilePool", () => {
  it("observes, plans and acts under the lease, then begins the bootstraps it asked for", async () => {
    const config = plannerConfig(
      ["pools.compute.channel", "ssm"],
      ["bootstrap.vault", undefined],
      ["bootstrap.ssh", undefined],
    );
    const { ports, compute, signals, begun } = portsWith([
      host("i-1", "running", { lifecycle: "starting", since: "2026-03-04T09:57:00Z" }),
      host("i-2", "stopped"),
    ]);
    signals.signals = okSignals({ runs: [{ id: "r-1", state: "pending" }] });

    const result = await reconcilePool(config, "compute", ports, NOW, "tick");

    expect(result.acted).toBe(true);
    expect(result.decisions.map((d) => d.rule)).toContain("start.running");
    expect(compute.hosts[0]?.tags["vor:lifecycle"]).toBe("bootstrapping");
    expect(begun).toEqual(["i-1"]);
  });

  it("leaves a reconcile request and acts on nothing while another invocation holds the lease", async () => {
    const config = plannerConfig();
    const { ports, compute, store } = portsWith([host("i-1", "stopped")]);
    const holder = await store.acquireLease("compute", "other", NOW, 120_000);

    const result = await reconcilePool(config, "compute", ports, NOW, "tick");

    expect(result.acted).toBe(false);
    expect(compute.calls).toEqual([]);
    expect(holder && (await store.releaseLease(holder))).toBe("again");
  });
});
