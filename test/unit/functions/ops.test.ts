import { readFileSync } from "node:fs";
import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context } from "aws-lambda";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { handler, ops } from "../../../functions/aws/ops.ts";
import { setDependenciesForTests, type RunOps } from "../../../functions/aws/runtime.ts";
import type { Ports } from "../../../shared/act/ports.ts";
import { SkipBootstrap } from "../../../shared/bootstrap/skip-bootstrap.ts";
import { loggerFor } from "../../../shared/observability.ts";
import type { OpsResult } from "../../../shared/ops/commands.ts";
import { runOps as realRunOps } from "../../../shared/ops/run-ops.ts";
import { NO_FAULTS } from "../../../shared/sim/faults.ts";
import { seededRandom } from "../../../shared/sim/random.ts";
import { SimAlerter, SimCompute, SimSignals } from "../../../shared/sim/sim-ports.ts";
import { World } from "../../../shared/sim/world.ts";
import { MemoryStateStore } from "../../../shared/state/memory-state-store.ts";
import { worldSettings } from "../../support/sim-builders.ts";
import { plannerConfig } from "../../support/snapshot-builder.ts";

const NOW = new Date("2026-03-04T10:00:00Z");
const context = {
  functionName: "vor-power-ops",
  awsRequestId: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
  getRemainingTimeInMillis: () => 60_000,
} as Context;

type UrlRequest = APIGatewayProxyEventV2WithIAMAuthorizer;
const RECORDED = JSON.parse(
  readFileSync(new URL("../../support/events/function-url-ops.json", import.meta.url), "utf8"),
) as UrlRequest;
const ALICE = "arn:aws:sts::123456789012:assumed-role/vor-operators/alice";

/** The recorded request with another body (and query string). */
const request = (body: unknown, query?: Record<string, string>): UrlRequest => ({
  ...RECORDED,
  body: typeof body === "string" ? body : JSON.stringify(body),
  ...(query ? { queryStringParameters: query } : {}),
});

/**
 * The handler's dependencies around a fake `runOps` that answers `result` (or throws it) and
 * records each call; `dryRun` is the environment's switch.
 */
function installation(
  options: { result?: OpsResult | Error; dryRun?: boolean; real?: boolean } = {},
) {
  const world = new World(worldSettings({ start: NOW.getTime() }), [], {
    compute: { hosts: 1, runsPerHost: 1 },
  });
  const store = new MemoryStateStore();
  const ports: Ports = {
    compute: new SimCompute(world, NO_FAULTS, seededRandom(1)),
    signals: new SimSignals(world),
    store,
    bootstrap: new SkipBootstrap(store, "test"),
    alerter: new SimAlerter(),
  };
  const calls: Parameters<RunOps>[] = [];
  const result = options.result ?? { status: 200, body: { ok: true } };
  const runOps: RunOps = (command, given) => {
    calls.push([command, given]);
    if (options.real) return realRunOps(command, given);
    return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
  };
  setDependenciesForTests({
    config: plannerConfig(),
    ports,
    clock: () => NOW,
    dryRun: options.dryRun ?? false,
    runOps,
  });
  return { calls, ports, store };
}

const bodyOf = (response: { body: string }): Record<string, unknown> =>
  JSON.parse(response.body) as Record<string, unknown>;

afterEach(() => {
  setDependenciesForTests(undefined);
  vi.restoreAllMocks();
});

describe("ops handler", () => {
  it("exports the middy-wrapped ops", () => {
    expect(typeof handler.use).toBe("function");
    expect(handler).not.toBe(ops);
  });

  it("runs the function URL's command as the caller's IAM principal, whatever the body says", async () => {
    const { calls, ports } = installation({ result: { status: 200, body: { held: 2 } } });

    const response = await handler(RECORDED, context);

    expect(response).toEqual({
      statusCode: 200,
      headers: { "content-type": "application/json" },
      body: '{"held":2}',
    });
    expect(calls).toEqual([
      [
        {
          command: "hold",
          pool: "compute",
          hosts: 2,
          until: "2026-03-04T18:00:00Z",
          by: ALICE,
          why: "quarter-end batch",
        },
        {
          config: expect.anything() as unknown,
          ports,
          now: NOW,
          dryRun: false,
          owner: `vor-power-ops:${context.awsRequestId}`,
        },
      ],
    ]);
  });

  it("stores the recorded hold through the real ops runner, audited as the caller", async () => {
    const { store } = installation({ real: true });
    const info = vi.spyOn(loggerFor("ops"), "info");

    const response = await handler(RECORDED, context);

    expect(response.statusCode).toBe(200);
    expect((await store.readPool("compute")).holds).toEqual([
      { hosts: 2, until: "2026-03-04T18:00:00Z", by: ALICE, why: "quarter-end batch" },
    ]);
    expect(info).toHaveBeenCalledWith("audit", {
      audit: expect.objectContaining({ who: ALICE, why: "quarter-end batch" }) as unknown,
      status: 200,
    });
  });

  it("adds no caller to a command that writes nothing", async () => {
    const { calls } = installation();

    const response = await handler(request({ command: "status" }), context);

    expect(response.statusCode).toBe(200);
    expect(calls[0]?.[0]).toEqual({ command: "status" });
  });

  it("runs a direct invoke's command with the body's own `by`", async () => {
    const { calls } = installation();
    const command = { command: "pause", pool: "compute", by: "ops-cli", why: "maintenance" };

    const response = await handler(command, context);

    expect(response.statusCode).toBe(200);
    expect(calls[0]?.[0]).toEqual(command);
  });

  it("reads a base64-encoded body", async () => {
    const { calls } = installation();
    const body = Buffer.from('{"command":"plan","pool":"compute"}').toString("base64");

    await handler({ ...RECORDED, body, isBase64Encoded: true }, context);

    expect(calls[0]?.[0]).toEqual({ command: "plan", pool: "compute" });
  });

  it.each([
    [{ dryRun: "true" }, false, true],
    [{ dryRun: "false" }, true, true],
    [{}, false, false],
  ])("takes dryRun from the query %j or the environment (%s)", async (query, env, expected) => {
    const { calls } = installation({ dryRun: env });

    await handler(request({ command: "status" }, query), context);

    expect(calls[0]?.[1].dryRun).toBe(expected);
  });

  it("logs the audit line of a write", async () => {
    const audit = {
      who: ALICE,
      what: "hold compute at 2 hosts",
      why: "quarter-end batch",
      at: NOW.toISOString(),
    };
    installation({ result: { status: 200, body: { dryRun: false, audit } } });
    const info = vi.spyOn(loggerFor("ops"), "info");

    await handler(RECORDED, context);

    expect(info.mock.calls.filter(([message]) => message === "audit")).toEqual([
      ["audit", { audit, status: 200 }],
    ]);
  });

  it("logs no audit line for a dry run, which wrote nothing", async () => {
    const audit = {
      who: ALICE,
      what: "hold compute at 2 hosts",
      why: "quarter-end batch",
      at: NOW.toISOString(),
    };
    installation({ result: { status: 200, body: { dryRun: true, audit } } });
    const info = vi.spyOn(loggerFor("ops"), "info");

    await handler(
      request(JSON.parse(RECORDED.body ?? "{}") as unknown, { dryRun: "true" }),
      context,
    );

    expect(info.mock.calls.filter(([message]) => message === "audit")).toEqual([]);
  });

  it.each([
    [
      "hosts",
      { command: "hold", pool: "compute", hosts: "two", until: "2026-03-04T18:00:00Z", why: "x" },
    ],
    ["command", { command: "reboot", pool: "compute" }],
    ["host", { command: "stop", pool: "compute", why: "x" }],
    ["until", { command: "hold", pool: "compute", hosts: 1, until: "tomorrow", why: "x" }],
    ["extra", { command: "status", extra: 1 }],
  ])("answers 400 naming the field %s, without running anything", async (field, body) => {
    const { calls } = installation();

    const response = await handler(request(body), context);

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response)).toMatchObject({
      error: "invalid ops command",
      issues: [expect.objectContaining({ field })],
    });
    expect(calls).toEqual([]);
  });

  it.each([
    ["not JSON", "{command: status}", /the body is not JSON/],
    ["empty", "", /no body/],
  ])("answers 400 for a body that is %s", async (_, body, error) => {
    const { calls } = installation();

    const response = await handler(request(body), context);

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).error).toMatch(error);
    expect(calls).toEqual([]);
  });

  it("answers 500 with the failure, not its stack, when the command throws", async () => {
    installation({ result: new Error("DynamoDB unreachable") });
    const error = vi.spyOn(loggerFor("ops"), "error");

    const response = await handler(RECORDED, context);

    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({
      error: "ops hold failed: Error: DynamoDB unreachable; nothing more was done, try again",
    });
    expect(error).toHaveBeenCalledWith(
      "ops hold failed: Error: DynamoDB unreachable",
      expect.objectContaining({ error: expect.any(Error) as unknown }),
    );
  });

  it("answers 400 to any event that is no command, and runs nothing", async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (event) => {
        const { calls } = installation();

        const response = await handler(event, context);

        expect(response.statusCode).toBe(400);
        expect(response.body).not.toMatch(/\n\s+at /);
        expect(calls).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it("answers 400 to any function URL body that is no command", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.json()), async (body) => {
        const { calls } = installation();

        const response = await handler(request(body), context);

        expect(response.statusCode).toBe(400);
        expect(calls).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
