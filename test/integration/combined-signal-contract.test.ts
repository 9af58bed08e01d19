import { describe, expect, it, onTestFinished } from "vitest";
import type { BusySource } from "../../shared/config/index.ts";
import { CombinedSignalSource } from "../../shared/signals/combined.ts";
import { MidtierSignal, type MidtierConfig } from "../../shared/signals/midtier.ts";
import { startMidtierServer, type MidtierServer } from "../support/midtier-server.ts";
import {
  describeSignalSourceContract,
  poolsOf,
  type SignalSourceFixture,
  type WorldDescription,
} from "../support/signal-source-contract.ts";

// The real SignalSource keeps the contract the simulator's keeps (test/unit/sim), reading the
// midtier's runs API on a loopback server (test/support/midtier-server.ts). RabbitMQ is left
// out: its own reading is proved in rabbitmq-signal.test.ts, and the contract claims only the
// midtier's.

const TOKEN = "midtier-token-c0ntract";

/** The described world as the midtier's runs API answers it, in the default field names. */
function runsJson(description: WorldDescription): unknown[] {
  return poolsOf(description).flatMap(({ pool, pending, running }) => [
    ...running.map((run) => ({
      id: run.id,
      status: "running",
      pool,
      hosts: run.hostIds.length,
      hostIds: run.hostIds,
    })),
    ...pending.map((run) => ({ id: run.id, status: "pending", pool, hosts: run.hosts })),
  ]);
}

/** A CombinedSignalSource reading only the midtier, and the server that plays the midtier. */
async function combinedFixture(
  description: WorldDescription,
): Promise<SignalSourceFixture & { server: MidtierServer }> {
  const pools = poolsOf(description);
  const server = await startMidtierServer({ token: TOKEN });
  server.answer({ kind: "json", body: runsJson(description) });
  const config: MidtierConfig = {
    runsUrl: server.runsUrl,
    token: { fromEnv: "VOR_MIDTIER_TOKEN" },
    timeout: 5_000,
    listMaxAge: 30_000,
    fields: { id: "id", state: "status", pool: "pool", hostsNeeded: "hosts", hostIds: "hostIds" },
  };
  const busy: readonly BusySource[] = ["midtier"];
  const source = new CombinedSignalSource({
    pools: Object.fromEntries(pools.map((p) => [p.pool, { busy }])),
    midtier: new MidtierSignal({ config, token: TOKEN }),
    hostRefs: (pool) =>
      Promise.resolve((pools.find((p) => p.pool === pool)?.hosts ?? []).map((id) => ({ id }))),
  });
  return { source, server, close: () => server.close() };
}

describeSignalSourceContract("CombinedSignalSource (midtier)", combinedFixture);

describe("CombinedSignalSource (midtier) when the midtier answers 500", () => {
  const world: WorldDescription = {
    pool: "compute",
    hosts: ["h-1", "h-2"],
    pending: [],
    running: [{ id: "r-run-1", hostIds: ["h-1"] }],
  };

  async function failingMidtier(): Promise<SignalSourceFixture> {
    const fixture = await combinedFixture(world);
    onTestFinished(() => fixture.close());
    fixture.server.answer({ kind: "status", status: 500 });
    return fixture;
  }

  it("reads a failed midtier reading naming the status", async () => {
    const { source } = await failingMidtier();

    const signals = await source.read("compute", world.hosts);

    expect(signals.midtier).toEqual({
      status: "failed",
      why: expect.stringContaining("HTTP 500") as string,
    });
  });

  it.each(["h-1", "h-2"])("answers unknown for %s, running or idle", async (host) => {
    const { source } = await failingMidtier();

    const busy = await source.isBusy("compute", host);

    expect(busy).toBe("unknown");
  });
});
