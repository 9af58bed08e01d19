import { randomUUID } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import amqp, { type ChannelModel } from "amqplib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { rabbitmqSchema } from "../../shared/config/schema.ts";
import {
  RabbitMqSignal,
  type HostRef,
  type RabbitMqReading,
} from "../../shared/signals/rabbitmq.ts";
import { freePort, missing, waitFor } from "../support/services.ts";

// The RabbitMQ signal against the real broker on 127.0.0.1:5672 and its management API on 15672
// (scripts/setup-test-env.sh enables it). This file works in a vhost of its own, deleted at the
// end. The management statistics refresh about every 5 s, so assertions poll with waitFor.

const MANAGEMENT = "http://127.0.0.1:15672";
const GUEST = `Basic ${Buffer.from("guest:guest").toString("base64")}`;
const VHOST = `vor-power-test-${randomUUID().slice(0, 8)}`;
const STATS_WAIT_MS = 20_000;

async function managementUp(): Promise<boolean> {
  try {
    const response = await fetch(`${MANAGEMENT}/api/overview`, {
      headers: { authorization: GUEST },
      signal: AbortSignal.timeout(3_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

const available =
  (await managementUp()) ||
  !missing(
    "RabbitMQ management API on 127.0.0.1:15672",
    "start rabbitmq-server and enable rabbitmq_management (scripts/setup-test-env.sh does)",
  );

async function management(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(`${MANAGEMENT}/api/${path}`, {
    ...init,
    headers: { authorization: GUEST, "content-type": "application/json" },
  });
  if (!response.ok && response.status !== 404)
    throw new Error(`management ${init.method ?? "GET"} ${path}: HTTP ${response.status}`);
  return response;
}

const vhostPath = encodeURIComponent(VHOST);

/** Client connections to the test vhost, closed when the test that opened them finishes. */
function clients(onTestFinished: (fn: () => Promise<void>) => void) {
  const opened: ChannelModel[] = [];
  onTestFinished(async () => {
    await Promise.all(opened.map((c) => c.close().catch(() => undefined)));
  });
  /** A connection that names itself `name` (clientProperties.connection_name). */
  const connectAs = async (name: string): Promise<ChannelModel> => {
    const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:5672/${vhostPath}`, {
      clientProperties: { connection_name: name },
    });
    opened.push(connection);
    return connection;
  };
  /** Consumes `queue` (declared if needed) from a connection named `name`. */
  const consumeAs = async (name: string, queue: string): Promise<void> => {
    const channel = await (await connectAs(name)).createChannel();
    await channel.assertQueue(queue, { autoDelete: true });
    await channel.consume(queue, () => undefined);
  };
  return { connectAs, consumeAs };
}

/** Resolves once the management API lists a consumer on `queue` (its lists lag the broker). */
async function consumerListed(queue: string): Promise<void> {
  await waitFor(
    async () => {
      const consumers = (await (await management(`consumers/${vhostPath}`)).json()) as {
        queue: { name: string };
      }[];
      return consumers.some((c) => c.queue.name === queue);
    },
    STATS_WAIT_MS,
    `a consumer on ${queue} in the management API`,
  );
}

const HOSTS: Record<string, HostRef[]> = {
  compute: [{ id: "i-1" }, { id: "i-2", name: "compute-2" }, { id: "i-3" }],
  gpu: [{ id: "i-12" }],
};

function rabbitSignal(overrides: Record<string, unknown> = {}, password = "guest"): RabbitMqSignal {
  const config = rabbitmqSchema.parse({
    managementUrl: MANAGEMENT,
    username: "guest",
    password: { fromEnv: "VOR_RABBITMQ_PASSWORD" },
    timeout: "5s",
    requestQueues: [
      { vhost: VHOST, queue: "vor.requests", pool: "compute" },
      { vhost: VHOST, queue: "vor.requests.gpu", pool: "gpu" },
    ],
    runQueues: { vhost: VHOST, pattern: "^vor\\.run\\.(?<runId>[^.]+)\\." },
    ignoreConsumers: ["^vor-midtier"],
    ...overrides,
  });
  return new RabbitMqSignal({ config, password, pools: ["compute", "gpu"] });
}

function dataOf(reading: RabbitMqReading | undefined) {
  if (reading?.status !== "ok")
    throw new Error(`expected an ok reading, got ${JSON.stringify(reading)}`);
  return reading.data;
}

function whyOf(reading: RabbitMqReading | undefined): string {
  if (reading?.status !== "failed")
    throw new Error(`expected a failed reading, got ${JSON.stringify(reading)}`);
  return reading.why;
}

/** Reads until `check` holds for the readings (the statistics refresh every few seconds). */
async function readUntil(
  signal: RabbitMqSignal,
  check: (readings: Record<string, RabbitMqReading>) => boolean,
  what: string,
  runPools?: Map<string, string>,
): Promise<Record<string, RabbitMqReading>> {
  let last: Record<string, RabbitMqReading> = {};
  await waitFor(
    async () => {
      last = await signal.readAll(HOSTS, runPools);
      return check(last);
    },
    STATS_WAIT_MS,
    what,
  );
  return last;
}

/** The busy entries of `host`, and the unknown consumers named `connection`, in a reading. */
const busyOf = (reading: RabbitMqReading | undefined, host: string) =>
  dataOf(reading).busy.filter((b) => b.host === host);
const unknownNamed = (reading: RabbitMqReading | undefined, connection: string) =>
  dataOf(reading).unknownConsumers.filter((u) => u.connection === connection);

// The tests run at once (each waits for a statistics refresh), so each uses its own connection
// names, run ids and queues, and asserts only about those.
describe.skipIf(!available)("RabbitMqSignal", { concurrent: true }, () => {
  beforeAll(async () => {
    await management(`vhosts/${vhostPath}`, { method: "PUT" });
    await management(`permissions/${vhostPath}/guest`, {
      method: "PUT",
      body: JSON.stringify({ configure: ".*", write: ".*", read: ".*" }),
    });
  });

  afterAll(async () => {
    await management(`vhosts/${vhostPath}`, { method: "DELETE" });
  });

  it("counts the ready messages of each pool's request queues", async ({
    expect,
    onTestFinished,
  }) => {
    const { connectAs } = clients(onTestFinished);
    const channel = await (await connectAs("vor-midtier-publisher")).createChannel();
    await channel.assertQueue("vor.requests");
    await channel.assertQueue("vor.requests.gpu");
    for (let i = 0; i < 3; i++) channel.sendToQueue("vor.requests", Buffer.from(`run ${i}`));
    channel.sendToQueue("vor.requests.gpu", Buffer.from("gpu run"));

    const readings = await readUntil(
      rabbitSignal(),
      (r) =>
        r["compute"]?.status === "ok" &&
        r["compute"].data.readyMessages === 3 &&
        r["gpu"]?.status === "ok" &&
        r["gpu"].data.readyMessages === 1,
      "3 ready messages in vor.requests and 1 in vor.requests.gpu",
    );

    expect(dataOf(readings["compute"]).readyMessages).toBe(3);
    expect(dataOf(readings["gpu"]).readyMessages).toBe(1);
    expect(readings["compute"]).toMatchObject({ ageMs: expect.any(Number) as number });
  });

  it("marks a host busy when a connection named after it consumes from a run queue", async ({
    expect,
    onTestFinished,
  }) => {
    await clients(onTestFinished).consumeAs("host-i-1", "vor.run.r1.q");

    const readings = await readUntil(
      rabbitSignal(),
      (r) => busyOf(r["compute"], "i-1").length > 0,
      "i-1 busy",
    );

    expect(busyOf(readings["compute"], "i-1")).toEqual([
      { host: "i-1", why: "consumer on run queue vor.run.r1.q from host-i-1" },
    ]);
    expect(unknownNamed(readings["compute"], "host-i-1")).toEqual([]);
    expect(busyOf(readings["gpu"], "i-1")).toEqual([]);
  });

  it("maps a connection by the host's name, as a whole token, to the host's own pool", async ({
    expect,
    onTestFinished,
  }) => {
    const { consumeAs } = clients(onTestFinished);
    await consumeAs("vor-compute-2-worker", "vor.run.r2.q");
    await consumeAs("host-i-12", "vor.run.r3.q");

    const readings = await readUntil(
      rabbitSignal(),
      (r) => busyOf(r["compute"], "i-2").length > 0 && busyOf(r["gpu"], "i-12").length > 0,
      "i-2 and i-12 busy",
    );

    expect(busyOf(readings["compute"], "i-2")[0]?.why).toContain("vor-compute-2-worker");
    expect(busyOf(readings["gpu"], "i-12")[0]?.why).toContain("host-i-12");
    // "host-i-12" names i-12, not i-1
    const fromI12 = dataOf(readings["compute"]).busy.filter((b) => b.why.includes("host-i-12"));
    expect(fromI12).toEqual([]);
  });

  it("maps a consumer by its peer address with hostOf peerAddress", async ({
    expect,
    onTestFinished,
  }) => {
    await clients(onTestFinished).consumeAs("any-name", "vor.peer.r4.q");
    const signal = rabbitSignal({
      hostOf: "peerAddress",
      runQueues: { vhost: VHOST, pattern: "^vor\\.peer\\.(?<runId>[^.]+)\\." },
    });
    const hosts = { compute: [{ id: "i-local", privateIp: "127.0.0.1" }], gpu: [] };
    const fromOwnQueue = (r: Record<string, RabbitMqReading>) =>
      busyOf(r["compute"], "i-local").some((b) => b.why.includes("vor.peer.r4.q"));

    let readings: Record<string, RabbitMqReading> = {};
    await waitFor(
      async () => {
        readings = await signal.readAll(hosts);
        return fromOwnQueue(readings);
      },
      STATS_WAIT_MS,
      "i-local busy",
    );

    expect(fromOwnQueue(readings)).toBe(true);
  });

  it("reports a run-queue consumer that maps to no host to every pool when its run is unknown", async ({
    expect,
    onTestFinished,
  }) => {
    await clients(onTestFinished).consumeAs("stranger-7", "vor.run.r7.q");

    const readings = await readUntil(
      rabbitSignal(),
      (r) => unknownNamed(r["compute"], "stranger-7").length > 0,
      "an unknown consumer",
    );

    const expected = [{ connection: "stranger-7", runId: "r7" }];
    expect(unknownNamed(readings["compute"], "stranger-7")).toEqual(expected);
    expect(unknownNamed(readings["gpu"], "stranger-7")).toEqual(expected);
  });

  it("reports an unknown consumer only to its run's pool when the midtier names it", async ({
    expect,
    onTestFinished,
  }) => {
    await clients(onTestFinished).consumeAs("stranger-8", "vor.run.r8.q");
    const runPools = new Map([["r8", "gpu"]]);

    const readings = await readUntil(
      rabbitSignal(),
      (r) => unknownNamed(r["gpu"], "stranger-8").length > 0,
      "an unknown consumer in gpu",
      runPools,
    );

    expect(unknownNamed(readings["gpu"], "stranger-8")).toEqual([
      { connection: "stranger-8", runId: "r8" },
    ]);
    expect(unknownNamed(readings["compute"], "stranger-8")).toEqual([]);
  });

  it("ignores a consumer whose connection matches ignoreConsumers", async ({
    expect,
    onTestFinished,
  }) => {
    await clients(onTestFinished).consumeAs("vor-midtier-1", "vor.run.r9.q");
    await consumerListed("vor.run.r9.q");

    const readings = await rabbitSignal().readAll(HOSTS);
    const unignored = await rabbitSignal({ ignoreConsumers: [] }).readAll(HOSTS);

    expect(unknownNamed(readings["compute"], "vor-midtier-1")).toEqual([]);
    expect(unknownNamed(readings["gpu"], "vor-midtier-1")).toEqual([]);
    expect(unknownNamed(unignored["compute"], "vor-midtier-1")).toHaveLength(1);
  });

  it("ignores a consumer on a queue that is not a run queue", async ({
    expect,
    onTestFinished,
  }) => {
    await clients(onTestFinished).consumeAs("stranger-5", "vor.other");
    await consumerListed("vor.other");

    const readings = await rabbitSignal().readAll(HOSTS);

    expect(unknownNamed(readings["compute"], "stranger-5")).toEqual([]);
  });

  it("marks a host busy when its channel holds unacknowledged messages", async ({
    expect,
    onTestFinished,
  }) => {
    const { connectAs } = clients(onTestFinished);
    const publisher = await (await connectAs("vor-midtier-publisher")).createChannel();
    await publisher.assertQueue("vor.work", { autoDelete: true });
    const channel = await (await connectAs("host-i-3")).createChannel();
    await channel.prefetch(1);
    await channel.consume("vor.work", () => undefined, { noAck: false });
    publisher.sendToQueue("vor.work", Buffer.from("step"));

    const readings = await readUntil(
      rabbitSignal(),
      (r) => busyOf(r["compute"], "i-3").length > 0,
      "i-3 busy with an unacknowledged message",
    );

    expect(busyOf(readings["compute"], "i-3")[0]?.why).toMatch(
      /^1 unacknowledged message\(s\) on channel /,
    );
  });

  it("fails with HTTP 401 on a wrong password, without showing the password", async ({
    expect,
  }) => {
    const password = "not-the-password-8142";

    const readings = await rabbitSignal({}, password).readAll(HOSTS);

    const why = whyOf(readings["compute"]);
    expect(why).toContain("HTTP 401 from the management API");
    expect(why).not.toContain(password);
    expect(readings["gpu"]?.status).toBe("failed");
  });

  it("fails only the pool whose request queue does not exist", async ({ expect }) => {
    const signal = rabbitSignal({
      requestQueues: [{ vhost: VHOST, queue: "vor.absent", pool: "gpu" }],
    });

    const readings = await signal.readAll(HOSTS);

    expect(whyOf(readings["gpu"])).toContain("request queue vor.absent");
    expect(whyOf(readings["gpu"])).toContain("HTTP 404");
    expect(dataOf(readings["compute"]).readyMessages).toBe(0);
  });
});

describe("RabbitMqSignal without a management API", () => {
  let silent: Server | undefined;

  afterEach(async () => {
    const server = silent;
    silent = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  it("fails when nothing listens on the management port", async () => {
    const port = await freePort();

    const readings = await rabbitSignal({ managementUrl: `http://127.0.0.1:${port}` }).readAll(
      HOSTS,
    );

    expect(whyOf(readings["compute"])).toContain("ECONNREFUSED");
    expect(whyOf(readings["gpu"])).toContain("could not reach the management API");
  });

  it("fails when the management API does not answer within the timeout", async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    silent = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");

    const readings = await rabbitSignal({
      managementUrl: `http://127.0.0.1:${address.port}`,
      timeout: "300ms",
    }).readAll(HOSTS);

    for (const socket of sockets) socket.destroy();
    expect(whyOf(readings["compute"])).toContain("did not answer within 300ms");
  });
});
