import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { midtierSchema, rabbitmqSchema } from "../../shared/config/schema.ts";
import { CombinedSignalSource } from "../../shared/signals/combined.ts";
import { MidtierSignal, type MidtierReading } from "../../shared/signals/midtier.ts";
import { RabbitMqSignal } from "../../shared/signals/rabbitmq.ts";
import { startMidtierServer, type MidtierServer } from "../support/midtier-server.ts";
import { freePort } from "../support/services.ts";

// The midtier signal against a real HTTP server on loopback (test/support/midtier-server.ts).

const TOKEN = "midtier-token-s3cret";
const POOLS = ["compute", "gpu"];

let server: MidtierServer;

beforeAll(async () => {
  server = await startMidtierServer({ token: TOKEN });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.answer({ kind: "json", body: [] });
});

function midtierSignal(
  overrides: Record<string, unknown> = {},
  token = TOKEN,
  runsUrl = server.runsUrl,
): MidtierSignal {
  const config = midtierSchema.parse({
    runsUrl,
    token: { fromEnv: "VOR_MIDTIER_TOKEN" },
    timeout: "2s",
    ...overrides,
  });
  return new MidtierSignal({ config, token });
}

function okRuns(reading: MidtierReading | undefined) {
  if (reading?.status !== "ok")
    throw new Error(`expected an ok reading, got ${JSON.stringify(reading)}`);
  return reading.data.runs;
}

function whyOf(reading: MidtierReading | undefined): string {
  if (reading?.status !== "failed")
    throw new Error(`expected a failed reading, got ${JSON.stringify(reading)}`);
  return reading.why;
}

describe("MidtierSignal", () => {
  it("reads each pool's pending, assigned and running runs with the default field names", async () => {
    server.answer({
      kind: "json",
      body: [
        { id: "r1", status: "pending", pool: "compute", hosts: 2 },
        { id: "r2", status: "running", pool: "compute", hosts: 1, hostIds: ["i-1"] },
        { id: "r3", status: "assigned", pool: "gpu", hostIds: ["i-7", "i-8"], hosts: 2 },
        { id: "r4", status: "finished", pool: "compute", hostIds: ["i-2"] },
      ],
    });

    const { readings, runPools } = await midtierSignal().readAll(POOLS);

    expect(okRuns(readings["compute"])).toEqual([
      { id: "r1", state: "pending", hosts: 2, hostIds: [] },
      { id: "r2", state: "running", hosts: 1, hostIds: ["i-1"] },
    ]);
    expect(okRuns(readings["gpu"])).toEqual([
      { id: "r3", state: "assigned", hosts: 2, hostIds: ["i-7", "i-8"] },
    ]);
    expect(runPools).toEqual(
      new Map([
        ["r1", "compute"],
        ["r2", "compute"],
        ["r3", "gpu"],
        ["r4", "compute"],
      ]),
    );
    expect(server.authorizations.at(-1)).toBe(`Bearer ${TOKEN}`);
  });

  it("accepts the runs wrapped in an object and gives a pool without runs an empty ok reading", async () => {
    server.answer({
      kind: "json",
      body: { runs: [{ id: 17, status: "running", pool: "compute", hostIds: ["i-1"] }] },
    });

    const { readings } = await midtierSignal().readAll(POOLS);

    expect(okRuns(readings["compute"])).toEqual([
      { id: "17", state: "running", hosts: 1, hostIds: ["i-1"] },
    ]);
    expect(okRuns(readings["gpu"])).toEqual([]);
    expect(readings["gpu"]).toMatchObject({ status: "ok", ageMs: expect.any(Number) as number });
  });

  it("maps custom field names from signals.midtier.fields", async () => {
    server.answer({
      kind: "json",
      body: [
        { runId: "a", phase: "RUNNING", queue: "gpu", nodes: 3, assigned: ["i-1", "i-2", "i-3"] },
        { runId: "b", phase: "Queued", queue: "gpu", nodes: 1 },
      ],
    });
    const signal = midtierSignal({
      fields: {
        id: "runId",
        state: "phase",
        pool: "queue",
        hostsNeeded: "nodes",
        hostIds: "assigned",
      },
    });

    const { readings } = await signal.readAll(POOLS);

    expect(okRuns(readings["gpu"])).toEqual([
      { id: "a", state: "running", hosts: 3, hostIds: ["i-1", "i-2", "i-3"] },
      { id: "b", state: "pending", hosts: 1, hostIds: [] },
    ]);
  });

  it.each([
    ["pending", "pending"],
    ["QUEUED", "pending"],
    ["assigned", "assigned"],
    ["dispatched", "assigned"],
    ["running", "running"],
    ["In_Progress", "running"],
  ])("normalises state %s to %s", async (raw, state) => {
    server.answer({ kind: "json", body: [{ id: "r1", status: raw, pool: "compute" }] });

    const { readings } = await midtierSignal().readAll(POOLS);

    expect(okRuns(readings["compute"]).map((r) => r.state)).toEqual([state]);
  });

  it.each(["finished", "failed", "cancelled", "Completed"])(
    "leaves out a run in ended state %s",
    async (raw) => {
      server.answer({ kind: "json", body: [{ id: "r1", status: raw, pool: "compute" }] });

      const { readings } = await midtierSignal().readAll(POOLS);

      expect(okRuns(readings["compute"])).toEqual([]);
    },
  );

  it("fails only the run's pool when its state is unknown", async () => {
    server.answer({
      kind: "json",
      body: [
        { id: "r1", status: "paused", pool: "compute", hostIds: ["i-1"] },
        { id: "r2", status: "running", pool: "gpu", hostIds: ["i-9"] },
      ],
    });

    const { readings } = await midtierSignal().readAll(POOLS);

    expect(whyOf(readings["compute"])).toContain('state "paused"');
    expect(okRuns(readings["gpu"])).toHaveLength(1);
  });

  it("fails every pool with HTTP 401 when the token is refused, without showing the token", async () => {
    const wrong = "wrong-token-0451";

    const { readings } = await midtierSignal({}, wrong).readAll(POOLS);

    const why = whyOf(readings["compute"]);
    expect(why).toContain("HTTP 401");
    expect(why).toContain("signals.midtier.token");
    expect(why).not.toContain(wrong);
    expect(why).not.toContain(TOKEN);
    expect(readings["gpu"]?.status).toBe("failed");
  });

  it("fails with the status when the midtier answers 500", async () => {
    server.answer({ kind: "status", status: 500 });

    const { readings } = await midtierSignal().readAll(POOLS);

    expect(whyOf(readings["compute"])).toContain("HTTP 500");
  });

  it("fails when the midtier does not answer within the timeout", async () => {
    server.answer({ kind: "slow", delayMs: 3_000, body: [] });

    const { readings } = await midtierSignal({ timeout: "200ms" }).readAll(POOLS);

    expect(whyOf(readings["compute"])).toContain("did not answer within 200ms");
  });

  it("fails when nothing listens at the runs URL", async () => {
    const port = await freePort();

    const { readings } = await midtierSignal(
      {},
      TOKEN,
      `http://127.0.0.1:${port}/api/runs`,
    ).readAll(POOLS);

    expect(whyOf(readings["compute"])).toContain("ECONNREFUSED");
  });

  it.each([
    ["a body that is not JSON", { kind: "text", text: "<html>oops" }, "not JSON"],
    ["an object without runs", { kind: "json", body: { items: [] } }, "neither a JSON array"],
    ["a run that is not an object", { kind: "json", body: ["r1"] }, "runs[0]"],
    [
      "a run without an id",
      { kind: "json", body: [{ status: "running", pool: "compute" }] },
      'field "id" missing',
    ],
    [
      "a run without a pool",
      { kind: "json", body: [{ id: "r1", status: "running" }] },
      'field "pool" missing',
    ],
  ] as const)("fails every pool on %s", async (_case, answer, expected) => {
    server.answer(answer);

    const { readings } = await midtierSignal().readAll(POOLS);

    expect(whyOf(readings["compute"])).toContain(expected);
    expect(whyOf(readings["gpu"])).toContain(expected);
  });

  it.each([
    ["hostIds", { hostIds: "i-1" }, 'field "hostIds" = "i-1"'],
    ["hostIds", { hostIds: [1, 2] }, 'field "hostIds" = a list'],
    ["hosts", { hosts: 0 }, 'field "hosts" = 0'],
    ["hosts", { hosts: "2" }, 'field "hosts" = "2"'],
    ["status", { status: 3 }, 'field "status" = 3'],
  ])("fails the run's pool naming field %s when it is wrong", async (_field, wrong, expected) => {
    server.answer({
      kind: "json",
      body: [{ id: "r1", status: "running", pool: "compute", ...wrong }],
    });

    const { readings } = await midtierSignal().readAll(POOLS);

    expect(whyOf(readings["compute"])).toContain(expected);
    expect(readings["gpu"]?.status).toBe("ok");
  });
});

describe("CombinedSignalSource", () => {
  const pools = {
    compute: { busy: ["midtier", "rabbitmq"] as const },
    gpu: { busy: ["midtier"] as const },
  };
  const hostRefs = (pool: string) =>
    Promise.resolve(pool === "compute" ? [{ id: "i-1" }, { id: "i-2" }] : [{ id: "i-9" }]);

  // RabbitMQ with nothing listening: every read of it fails.
  async function deadRabbitMq(): Promise<RabbitMqSignal> {
    const port = await freePort();
    const config = rabbitmqSchema.parse({
      managementUrl: `http://127.0.0.1:${port}`,
      username: "vor-power",
      password: { fromEnv: "VOR_RABBITMQ_PASSWORD" },
    });
    return new RabbitMqSignal({ config, password: "rabbit-pass", pools: Object.keys(pools) });
  }

  const runningOnI1 = [
    { id: "r1", status: "running", pool: "compute", hostIds: ["i-1"] },
    { id: "r2", status: "pending", pool: "compute", hosts: 1 },
  ];

  it("reads the pool's midtier and RabbitMQ readings", async () => {
    server.answer({ kind: "json", body: runningOnI1 });
    const source = new CombinedSignalSource({
      pools,
      midtier: midtierSignal(),
      rabbitmq: await deadRabbitMq(),
      hostRefs,
    });

    const signals = await source.read("compute", ["i-1", "i-2"]);

    expect(okRuns(signals.midtier).map((r) => r.id)).toEqual(["r1", "r2"]);
    expect(signals.rabbitmq?.status).toBe("failed");
  });

  it("leaves out a source that is not configured", async () => {
    const source = new CombinedSignalSource({ pools, midtier: midtierSignal(), hostRefs });

    const signals = await source.read("gpu", ["i-9"]);

    expect(Object.keys(signals)).toEqual(["midtier"]);
  });

  it("finds a host busy when a running run lists it, even with RabbitMQ down", async () => {
    server.answer({ kind: "json", body: runningOnI1 });
    const source = new CombinedSignalSource({
      pools,
      midtier: midtierSignal(),
      rabbitmq: await deadRabbitMq(),
      hostRefs,
    });

    const busy = await source.isBusy("compute", "i-1");

    expect(busy).toBe(true);
  });

  it("answers unknown for an idle host when a busy source of its pool fails", async () => {
    server.answer({ kind: "json", body: runningOnI1 });
    const source = new CombinedSignalSource({
      pools,
      midtier: midtierSignal(),
      rabbitmq: await deadRabbitMq(),
      hostRefs,
    });

    const busy = await source.isBusy("compute", "i-2");

    expect(busy).toBe("unknown");
  });

  it("answers idle when only a source outside the pool's busy list fails", async () => {
    server.answer({ kind: "json", body: runningOnI1 });
    const source = new CombinedSignalSource({
      pools,
      midtier: midtierSignal(),
      rabbitmq: await deadRabbitMq(),
      hostRefs,
    });

    const busy = await source.isBusy("gpu", "i-9");

    expect(busy).toBe(false);
  });

  it("answers unknown when the midtier fails", async () => {
    server.answer({ kind: "status", status: 503 });
    const source = new CombinedSignalSource({ pools, midtier: midtierSignal(), hostRefs });

    const busy = await source.isBusy("gpu", "i-9");

    expect(busy).toBe("unknown");
  });

  it("does not count a pending run as holding a host", async () => {
    server.answer({
      kind: "json",
      body: [{ id: "r1", status: "pending", pool: "gpu", hostIds: ["i-9"] }],
    });
    const source = new CombinedSignalSource({ pools, midtier: midtierSignal(), hostRefs });

    const busy = await source.isBusy("gpu", "i-9");

    expect(busy).toBe(false);
  });
});
