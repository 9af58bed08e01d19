import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Ports } from "../../shared/act/ports.ts";
import { reconcilePool } from "../../shared/act/reconcile.ts";
import { ChannelBootstrap } from "../../shared/bootstrap/channel-bootstrap.ts";
import { playpenChecks } from "../../shared/bootstrap/playpen-check.ts";
import { shellQuote } from "../../shared/bootstrap/playpen-script.ts";
import type { CallOutcome, ComputeProvider } from "../../shared/cloud/compute-provider.ts";
import type { Config } from "../../shared/config/index.ts";
import type { HostSnapshot, Signals } from "../../shared/plan/index.ts";
import { ConsulRegistry, hostInfoFrom, serviceIdOf } from "../../shared/registry/consul.ts";
import type { SignalSource } from "../../shared/signals/signal-source.ts";
import { MemoryStateStore } from "../../shared/state/memory-state-store.ts";
import { startConsulServer, type ConsulServer } from "../support/consul-server.ts";
import { canUnshare, NamespaceChannel } from "../support/mount-namespace.ts";
import { missing } from "../support/services.ts";
import { okSignals, plannerConfig } from "../support/snapshot-builder.ts";

// Readiness end to end: the production reconcile (observe, plan, act) with the real bootstrap step
// running the real playpen script on "a host" that is a private mount namespace, and the Consul
// registry over loopback HTTP. A host that passes every check is tagged ready and registered;
// draining puts it into maintenance (and the drain is confirmed only once Consul took it); the
// stop deregisters it. A host whose playpen is another file system is neither.

const skip = !canUnshare() && missing("unshare -m as root", "run the tests as root on Linux");

const TOKEN = "c0nsul-write-t0ken";
const READ_ONLY = "c0nsul-read-t0ken";
const MARKER = { file: ".vor-playpen", content: "vor-test-1" };
// A Saturday: no power window, no run schedule; the pool wants 0 hosts once idle.
const T0 = Date.parse("2026-03-07T12:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

let consul: ConsulServer;
let base = "";
let playpen = "";

beforeAll(async () => {
  consul = await startConsulServer({
    tokens: {
      [TOKEN]: {
        accessorId: "b0000000-0000-4000-8000-000000000001",
        serviceWrite: ["vor-compute"],
      },
      [READ_ONLY]: { accessorId: "b0000000-0000-4000-8000-000000000002", serviceWrite: [] },
    },
  });
  base = mkdtempSync(join(tmpdir(), "vor-readiness-"));
  playpen = join(base, "playpen");
  mkdirSync(playpen);
});
afterAll(async () => {
  await consul.close();
  rmSync(base, { recursive: true, force: true });
});

/** The cloud: hosts in memory; a stop stops at once. */
class MemoryCompute implements ComputeProvider {
  readonly hosts: HostSnapshot[];
  constructor(hosts: HostSnapshot[]) {
    this.hosts = hosts;
  }
  listHosts(): Promise<HostSnapshot[]> {
    return Promise.resolve(structuredClone(this.hosts));
  }
  writeTags(id: string, set: Readonly<Record<string, string>>, remove: readonly string[]) {
    const target = this.hosts.find((h) => h.id === id);
    if (target) {
      for (const key of remove) Reflect.deleteProperty(target.tags, key);
      Object.assign(target.tags, set);
    }
    return Promise.resolve();
  }
  start(ids: readonly string[]): Promise<Map<string, CallOutcome>> {
    return Promise.resolve(new Map(ids.map((id) => [id, { ok: false, code: "test", why: "no" }])));
  }
  stop(ids: readonly string[]): Promise<Map<string, CallOutcome>> {
    for (const h of this.hosts) if (ids.includes(h.id)) h.cloudState = "stopped";
    return Promise.resolve(new Map(ids.map((id) => [id, { ok: true }])));
  }
  tags(id: string): Record<string, string> {
    return { ...this.hosts.find((h) => h.id === id)?.tags };
  }
}

/** Both sources ok; nothing pending, nothing busy. */
class IdleSignals implements SignalSource {
  read(): Promise<Signals> {
    const { midtier, rabbitmq } = okSignals();
    return Promise.resolve({ midtier, rabbitmq });
  }
  isBusy(): Promise<boolean> {
    return Promise.resolve(false);
  }
}

function installation(hostSetup: string) {
  const config: Config = plannerConfig(
    [
      "consul",
      { address: consul.address, token: { fromEnv: "VOR_CONSUL_TOKEN" }, service: "vor-compute" },
    ],
    ["bootstrap.playpens", [{ path: playpen, fsTypes: ["tmpfs"], runAs: "root", marker: MARKER }]],
  );
  const consulConfig = config.consul;
  if (!consulConfig) throw new Error("no consul section");
  const compute = new MemoryCompute([
    {
      id: "i-1",
      cloudState: "running",
      address: "10.0.0.5",
      launchedAt: at(-3).toISOString(),
      tags: {
        "vor:pool": "compute",
        "vor:lifecycle": "bootstrapping",
        "vor:since": at(-1).toISOString(),
      },
    },
  ]);
  const store = new MemoryStateStore();
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const registryWith = (token: string) =>
    new ConsulRegistry({
      config: consulConfig,
      token,
      hostInfo: hostInfoFrom(compute, ["compute"]),
    });
  const ports: Ports = {
    compute,
    signals: new IdleSignals(),
    store,
    bootstrap: new ChannelBootstrap({
      config,
      store,
      compute,
      channelFor: () => new NamespaceChannel(hostSetup),
      checks: playpenChecks(config.bootstrap.playpens, log),
      owner: "test",
      log,
    }),
    registry: registryWith(TOKEN),
    alerter: { send: () => Promise.resolve() },
  };
  /** One reconcile; the rules that fired for i-1, with what became of them. */
  const tick = async (minutes: number) => {
    const result = await reconcilePool(config, "compute", ports, at(minutes), "test");
    return result.outcomes
      .filter((o) => o.decision.host === "i-1")
      .map((o) =>
        o.status === "failed" ? `${o.decision.rule} failed: ${o.why ?? ""}` : o.decision.rule,
      );
  };
  return { ports, compute, tick, lines, registryWith };
}

const passingHosts = async (): Promise<string[]> => {
  const response = await fetch(`${consul.address}/v1/health/service/vor-compute?passing`, {
    headers: { "X-Consul-Token": TOKEN },
  });
  const entries = (await response.json()) as { Service: { Address: string } }[];
  return entries.map((e) => e.Service.Address);
};

/** The host as it should be: the shared file system mounted, the midtier's marker in it. */
const mounted = () =>
  [
    `mount -t tmpfs -o mode=1777 vor-share ${shellQuote(playpen)}`,
    `printf '%s\\n' ${shellQuote(MARKER.content)} > ${shellQuote(join(playpen, MARKER.file))}`,
  ].join("\n");

describe.skipIf(skip)("readiness: playpen checks, then Consul", () => {
  beforeEach(async () => {
    for (const id of [...consul.services.keys()])
      await fetch(`${consul.address}/v1/agent/service/deregister/${id}`, {
        method: "PUT",
        headers: { "X-Consul-Token": TOKEN },
      });
  });

  it("registers a host that passed every check, drains it through maintenance, deregisters it on stop", async () => {
    const { ports, compute, tick, registryWith } = installation(mounted());
    const id = serviceIdOf("vor-compute", "i-1");

    // The bootstrap step runs the playpen script on the host; its pass makes the host ready.
    expect(await tick(0)).toEqual(["bootstrap.step"]);
    expect(consul.services.has(id)).toBe(false);
    expect(await tick(1)).toEqual(["bootstrap.passed"]);
    expect(compute.tags("i-1")["vor:lifecycle"]).toBe("ready");
    expect(consul.services.get(id)?.Meta).toEqual({ "vor-host": "i-1", "vor-pool": "compute" });
    expect(await passingHosts()).toEqual(["10.0.0.5"]);

    // Idle past minUptime and idleTimeout: drained. With a token Consul refuses, the drain is
    // not confirmed (drainGrace cannot start) and the host stays in the list.
    await tick(2);
    ports.registry = registryWith(READ_ONLY);
    const [drain] = await tick(40);
    expect(drain).toMatch(
      /^scale-in\.idle failed: ConsulError: Consul maintenance of i-1 .*: denied \(403 Permission denied/,
    );
    expect(drain).not.toContain(READ_ONLY);
    expect(compute.tags("i-1")["vor:lifecycle"]).toBe("draining");
    expect(compute.tags("i-1")["vor:drain-confirmed"]).toBeUndefined();
    expect(await passingHosts()).toEqual(["10.0.0.5"]);

    // The next tick issues the removal again; Consul takes it: maintenance, confirmed.
    ports.registry = registryWith(TOKEN);
    await tick(41);
    expect(consul.inMaintenance(id)).toBe(true);
    expect(consul.maintenanceReason(id)).toBe(
      "vor-power: no new runs for i-1 (draining or excluded)",
    );
    expect(compute.tags("i-1")["vor:drain-confirmed"]).toBe("2026-03-07T12:41:00Z");
    expect(await passingHosts()).toEqual([]);

    // Still idle drainGrace after the confirmation: stopped, then deregistered once stopped.
    await tick(43);
    expect(compute.tags("i-1")["vor:lifecycle"]).toBe("stopping");
    await tick(44);
    expect(compute.tags("i-1")["vor:lifecycle"]).toBe("off");
    expect(consul.services.has(id)).toBe(false);
  });

  it("registers again on the next plan a host whose registration Consul refused when it became ready", async () => {
    const { ports, compute, tick, registryWith } = installation(mounted());
    ports.registry = registryWith(READ_ONLY);

    await tick(0);
    const [ready] = await tick(1);
    expect(ready).toMatch(/^bootstrap\.passed failed: ConsulError: .*: denied \(403 /);
    expect(compute.tags("i-1")["vor:lifecycle"]).toBe("ready");
    expect(await passingHosts()).toEqual([]);

    ports.registry = registryWith(TOKEN);
    expect(await tick(2)).toEqual(["ready.register"]);
    expect(await passingHosts()).toEqual(["10.0.0.5"]);
    // Done once: the results are cleared, the next plan marks the host idle as usual.
    expect(await tick(3)).toEqual(["idle.since"]);
  });

  it("does not register a host whose playpen holds another file system's marker", async () => {
    const other = [
      `mount -t tmpfs -o mode=1777 vor-share ${shellQuote(playpen)}`,
      `printf '%s\\n' vor-prod-9 > ${shellQuote(join(playpen, MARKER.file))}`,
    ].join("\n");
    const { compute, tick, lines } = installation(other);

    await tick(0);
    // No other host to compare with: treated as the shared storage's until a reference passes.
    expect(await tick(1)).toEqual(["bootstrap.blocked"]);
    expect(compute.tags("i-1")["vor:blocked"]).toBe(`playpen:${playpen}:marker`);
    expect(compute.tags("i-1")["vor:lifecycle"]).toBe("bootstrapping");
    expect(consul.services.has(serviceIdOf("vor-compute", "i-1"))).toBe(false);
    expect(lines).toContain(
      `playpen check on i-1: playpen:${playpen}:marker: marker .vor-playpen does not hold the expected content: another file system`,
    );
  });
});
