import { describe, expect, it } from "vitest";
import type { HostSnapshot } from "../../../shared/plan/snapshot.ts";
import {
  ConsulRegistry,
  consulRegistryFor,
  hostInfoFrom,
  serviceIdOf,
} from "../../../shared/registry/consul.ts";
import { plannerConfig } from "../../support/snapshot-builder.ts";

// What the Consul registry registers a host with, from the cloud's view of the pools.

const host = (id: string, address?: string): HostSnapshot => ({
  id,
  cloudState: "running",
  ...(address === undefined ? {} : { address }),
  tags: {},
});

describe("hostInfoFrom", () => {
  const pools: Record<string, HostSnapshot[]> = {
    compute: [host("i-1", "10.0.0.5")],
    gpu: [host("i-2")],
  };
  const lookup = hostInfoFrom(
    { listHosts: (pool) => Promise.resolve(pools[pool] ?? []) },
    Object.keys(pools),
  );

  it("answers the pool that lists the host and its private address", async () => {
    expect(await lookup("i-1")).toEqual({ pool: "compute", address: "10.0.0.5" });
    expect(await lookup("i-2")).toEqual({ pool: "gpu" });
  });

  it("answers nothing for a host no pool lists", async () => {
    expect(await lookup("i-9")).toBeUndefined();
  });
});

describe("serviceIdOf", () => {
  it("is one instance id per host of the service", () => {
    expect(serviceIdOf("vor-compute", "i-0abc")).toBe("vor-compute-i-0abc");
  });
});

describe("consulRegistryFor", () => {
  const compute = { listHosts: () => Promise.resolve([]) };

  it("builds no registry without a consul section", async () => {
    const resolved: string[] = [];
    const secrets = {
      resolve: (_ref: unknown, field: string) => Promise.resolve(String(resolved.push(field))),
    };
    expect(await consulRegistryFor(plannerConfig(), secrets, compute)).toBeUndefined();
    expect(resolved).toEqual([]);
  });

  it("resolves the token from the config's reference, once", async () => {
    const asked: [unknown, string][] = [];
    const secrets = {
      resolve: (ref: unknown, field: string) => {
        asked.push([ref, field]);
        return Promise.resolve("t0ken");
      },
    };
    const config = plannerConfig([
      "consul",
      { address: "http://127.0.0.1:8500", token: { fromEnv: "VOR_CONSUL_TOKEN" }, service: "vor" },
    ]);
    expect(await consulRegistryFor(config, secrets, compute)).toBeInstanceOf(ConsulRegistry);
    expect(asked).toEqual([[{ fromEnv: "VOR_CONSUL_TOKEN" }, "consul.token"]]);
  });
});
