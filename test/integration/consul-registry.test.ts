import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ConsulError,
  ConsulRegistry,
  serviceIdOf,
  type ConsulConfig,
  type RegisteredHost,
} from "../../shared/registry/consul.ts";
import { startConsulServer, type ConsulServer } from "../support/consul-server.ts";
import { freePort } from "../support/services.ts";

// The Consul registry over real HTTP on loopback, against a test agent that answers as Consul's
// agent API does (test/support/consul-server.ts): registration, maintenance for a drain,
// deregistration, the passing list the midtier reads, and every failure as a consul:* fault
// whose message never holds the token.

const TOKEN = "5ecret-t0ken-b9a1";
const READ_ONLY = "read-only-t0ken-77";
const SERVICE = "vor-compute";

let consul: ConsulServer;

beforeAll(async () => {
  consul = await startConsulServer({
    tokens: {
      [TOKEN]: { accessorId: "a1b2c3d4-0000-4000-8000-000000000001", serviceWrite: [SERVICE] },
      [READ_ONLY]: { accessorId: "a1b2c3d4-0000-4000-8000-000000000002", serviceWrite: [] },
    },
  });
});
afterAll(() => consul.close());

const config = (address = consul.address): ConsulConfig => ({
  address,
  token: { fromEnv: "VOR_CONSUL_TOKEN" },
  service: SERVICE,
});

const registry = (
  options: {
    token?: string;
    address?: string;
    timeoutMs?: number;
    hosts?: Record<string, RegisteredHost>;
  } = {},
) =>
  new ConsulRegistry({
    config: config(options.address),
    token: options.token ?? TOKEN,
    timeoutMs: options.timeoutMs ?? 2_000,
    hostInfo: (host) => Promise.resolve(options.hosts?.[host]),
  });

/** The hosts the midtier would see: the service's passing instances, by their vor-host. */
async function passingHosts(): Promise<string[]> {
  const response = await fetch(`${consul.address}/v1/health/service/${SERVICE}?passing`, {
    headers: { "X-Consul-Token": TOKEN },
  });
  const entries = (await response.json()) as { Service: { Meta: Record<string, string> } }[];
  return entries.map((e) => e.Service.Meta["vor-host"] ?? "?").sort();
}

/** The ConsulError `action` fails with. */
async function failure(action: Promise<unknown>): Promise<ConsulError> {
  const error: unknown = await action.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConsulError))
    throw new Error(`expected a ConsulError, got ${String(error)}`);
  expect(error.message).not.toContain(TOKEN);
  expect(error.message).not.toContain(READ_ONLY);
  return error;
}

describe("ConsulRegistry against a Consul agent API", () => {
  beforeEach(async () => {
    // Start each test from an empty agent.
    for (const id of [...consul.services.keys()])
      await fetch(`${consul.address}/v1/agent/service/deregister/${id}`, {
        method: "PUT",
        headers: { "X-Consul-Token": TOKEN },
      });
  });

  it("registers a ready host as an instance of the service, with its address and pool", async () => {
    const hosts = { "i-1": { address: "10.0.0.5", pool: "compute" } };
    await registry({ hosts }).set("i-1", "register");
    const id = serviceIdOf(SERVICE, "i-1");
    expect(consul.services.get(id)).toEqual({
      ID: "vor-compute-i-1",
      Service: SERVICE,
      Tags: ["pool=compute"],
      Address: "10.0.0.5",
      Port: 0,
      Meta: { "vor-host": "i-1", "vor-pool": "compute" },
    });
    expect(await passingHosts()).toEqual(["i-1"]);
    const register = consul.requests.findLast((r) => r.path === "/v1/agent/service/register");
    expect(register?.token).toBe(TOKEN);
    expect(register?.method).toBe("PUT");
  });

  it("drains: maintenance takes the host out of the passing list; register brings it back", async () => {
    const consulRegistry = registry();
    await consulRegistry.set("i-1", "register");
    await consulRegistry.set("i-2", "register");
    await consulRegistry.set("i-1", "maintenance");
    const id = serviceIdOf(SERVICE, "i-1");
    expect(consul.inMaintenance(id)).toBe(true);
    expect(consul.maintenanceReason(id)).toBe(
      "vor-power: no new runs for i-1 (draining or excluded)",
    );
    expect(await passingHosts()).toEqual(["i-2"]);
    // Draining twice (each tick until confirmed) is harmless.
    await consulRegistry.set("i-1", "maintenance");
    expect(await passingHosts()).toEqual(["i-2"]);
    // Undrain: the planner asks for "register"; the maintenance check must go too.
    await consulRegistry.set("i-1", "register");
    expect(consul.inMaintenance(id)).toBe(false);
    expect(await passingHosts()).toEqual(["i-1", "i-2"]);
  });

  it("deregisters a stopped host; an instance Consul does not know is already out", async () => {
    const consulRegistry = registry();
    await consulRegistry.set("i-1", "register");
    await consulRegistry.set("i-1", "deregister");
    expect(consul.services.has(serviceIdOf(SERVICE, "i-1"))).toBe(false);
    await consulRegistry.set("i-1", "deregister");
    // A drain of a host never registered (Consul configured later) is confirmed: it is not listed.
    await consulRegistry.set("i-9", "maintenance");
    const answers = consul.requests.slice(-2).map((r) => [r.path, r.status]);
    expect(answers).toEqual([
      ["/v1/agent/service/deregister/vor-compute-i-1", 404],
      ["/v1/agent/service/maintenance/vor-compute-i-9", 404],
    ]);
    expect(await passingHosts()).toEqual([]);
  });

  it("fails as consul:denied for an unknown token, naming Consul's answer but not the token", async () => {
    const error = await failure(registry({ token: "no-such-t0ken" }).set("i-1", "register"));
    expect(error.code).toBe("consul:denied");
    expect(error.transient).toBe(false);
    expect(error.message).toContain("403 ACL not found");
    expect(error.message).not.toContain("no-such-t0ken");
  });

  it("fails as consul:denied for a token without service:write, with the fix", async () => {
    await registry().set("i-1", "register");
    for (const action of ["register", "maintenance", "deregister"] as const) {
      const error = await failure(registry({ token: READ_ONLY }).set("i-1", action));
      expect(error.code).toBe("consul:denied");
      expect(error.message).toContain(
        `lacks permission 'service:write' on "${SERVICE}"); fix: give the token service:write on "${SERVICE}"`,
      );
    }
    expect(consul.inMaintenance(serviceIdOf(SERVICE, "i-1"))).toBe(false);
  });

  it("fails as consul:bad-request when Consul refuses the registration", async () => {
    const error = await failure(
      registry({ hosts: { "i-1": { address: "0.0.0.0" } } }).set("i-1", "register"),
    );
    expect(error.code).toBe("consul:bad-request");
    expect(error.message).toBe(
      `Consul register of i-1 (${consul.address}/v1/agent/service/register): refused (400 Invalid service address)`,
    );
  });

  it("fails as consul:unavailable (transient) on a 5xx, and never takes a stray 404 for a drain", async () => {
    consul.fail({ kind: "status", status: 500, body: "rpc error making call: No cluster leader" });
    const error = await failure(registry().set("i-1", "register"));
    expect(error).toMatchObject({ code: "consul:unavailable", transient: true });
    expect(error.message).toContain("500 rpc error making call: No cluster leader");

    consul.fail({ kind: "status", status: 404, body: "404 page not found" });
    const stray = await failure(registry().set("i-1", "maintenance"));
    expect(stray.code).toBe("consul:error");
    expect(stray.message).toContain("unexpected 404 404 page not found");
  });

  it("fails as consul:timeout when the agent does not answer", async () => {
    consul.fail({ kind: "hang" });
    const error = await failure(registry({ timeoutMs: 200 }).set("i-1", "maintenance"));
    expect(error).toMatchObject({ code: "consul:timeout", transient: true });
    expect(error.message).toBe(
      `Consul maintenance of i-1 (${consul.address}/v1/agent/service/maintenance/vor-compute-i-1): no answer within 200 ms`,
    );
  });

  it("fails as consul:unreachable when nothing listens", async () => {
    const port = await freePort();
    const error = await failure(
      registry({ address: `http://127.0.0.1:${port}` }).set("i-1", "deregister"),
    );
    expect(error).toMatchObject({ code: "consul:unreachable", transient: true });
    expect(error.message).toContain("unreachable (ECONNREFUSED)");
  });
});

describe("the test agent answers as Consul does", () => {
  const put = (path: string, init: { body?: string; headers?: Record<string, string> } = {}) =>
    fetch(`${consul.address}${path}`, { method: "PUT", ...init });

  it("takes the token from ?token=, X-Consul-Token or Authorization: Bearer", async () => {
    const body = JSON.stringify({ Name: SERVICE, ID: "x-1" });
    expect((await put("/v1/agent/service/register", { body })).status).toBe(403);
    const bearer = await put("/v1/agent/service/register", {
      body,
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(bearer.status).toBe(200);
    expect(await bearer.text()).toBe("");
    // ?token= wins over the header.
    const query = await put(`/v1/agent/service/deregister/x-1?token=${READ_ONLY}`, {
      headers: { "X-Consul-Token": TOKEN },
    });
    expect(query.status).toBe(403);
    expect(await query.text()).toBe(
      `Permission denied: token with AccessorID 'a1b2c3d4-0000-4000-8000-000000000002' lacks permission 'service:write' on "${SERVICE}"`,
    );
  });

  it("answers 400 for a bad body or a missing enable, 404 for an unknown id, 405 for GET", async () => {
    const headers = { "X-Consul-Token": TOKEN };
    const decode = await put("/v1/agent/service/register", { body: "{not json", headers });
    expect(decode.status).toBe(400);
    expect(await decode.text()).toMatch(/^Request decode failed: /);
    const noName = await put("/v1/agent/service/register", { body: "{}", headers });
    expect([noName.status, await noName.text()]).toEqual([400, "Missing service name"]);
    const noEnable = await put("/v1/agent/service/maintenance/x-2", { headers });
    expect([noEnable.status, await noEnable.text()]).toEqual([400, "Missing value for enable"]);
    const badEnable = await put("/v1/agent/service/maintenance/x-2?enable=maybe", { headers });
    expect([badEnable.status, await badEnable.text()]).toEqual([
      400,
      'Invalid value for enable: "maybe"',
    ]);
    const unknown = await put("/v1/agent/service/maintenance/x-2?enable=true", { headers });
    expect([unknown.status, await unknown.text()]).toEqual([
      404,
      'Unknown service ID "x-2". Ensure that the service ID is passed, not the service name.',
    ]);
    const get = await fetch(`${consul.address}/v1/agent/service/register`, { headers });
    expect(get.status).toBe(405);
  });
});
