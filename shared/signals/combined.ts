import type { BusySource } from "../config/index.ts";
import type { Signals } from "../plan/snapshot.ts";
import type { MidtierSignal } from "./midtier.ts";
import type { HostRef, RabbitMqReading, RabbitMqSignal } from "./rabbitmq.ts";
import type { SignalSource } from "./signal-source.ts";

export interface CombinedSignalSourceOptions {
  /** every configured pool with its busy sources (`Config["pools"]` fits) */
  pools: Readonly<Record<string, { readonly busy: readonly BusySource[] }>>;
  /** absent when `signals.midtier` is not configured */
  midtier?: MidtierSignal;
  /** absent when `signals.rabbitmq` is not configured */
  rabbitmq?: RabbitMqSignal;
  /**
   * The hosts of a pool as RabbitMQ may see them (id, name, private IP). Asked for every pool on
   * each RabbitMQ read: a consumer from another pool's host is that pool's, and only a consumer
   * that matches no host of any pool is unknown (and blinds a pool).
   */
  hostRefs: (pool: string) => Promise<HostRef[]>;
}

/**
 * The SignalSource of a real installation: the midtier's runs API and RabbitMQ's management
 * API. Every call reads both sources afresh (the midtier first, so an unknown RabbitMQ consumer
 * goes to the pool of its run); nothing is cached between calls.
 */
export class CombinedSignalSource implements SignalSource {
  private readonly pools: CombinedSignalSourceOptions["pools"];
  private readonly poolNames: string[];
  private readonly midtier: MidtierSignal | undefined;
  private readonly rabbitmq: RabbitMqSignal | undefined;
  private readonly hostRefs: (pool: string) => Promise<HostRef[]>;

  constructor(options: CombinedSignalSourceOptions) {
    this.pools = options.pools;
    this.poolNames = Object.keys(options.pools);
    this.midtier = options.midtier;
    this.rabbitmq = options.rabbitmq;
    this.hostRefs = options.hostRefs;
  }

  /** Each configured source's reading for `pool`; a source that cannot be read is `failed`. */
  async read(pool: string, hosts: readonly string[]): Promise<Signals> {
    const signals: Signals = {};
    let runPools: ReadonlyMap<string, string> | undefined;
    if (this.midtier) {
      const { readings, runPools: pools } = await this.midtier.readAll(this.poolNames);
      signals.midtier = readings[pool] ?? notConfigured(pool);
      runPools = pools;
    }
    if (this.rabbitmq) {
      signals.rabbitmq = await this.readRabbitMq(this.rabbitmq, pool, hosts, runPools);
    }
    return signals;
  }

  /**
   * Busy when a source of the pool's `busy` list proves it (the midtier: an assigned or running
   * run lists the host; RabbitMQ: a run-queue consumer or unacknowledged messages from it);
   * otherwise "unknown" when one of those sources failed, is not set up, or sees a run-queue
   * consumer it cannot place (it might be this host); otherwise idle.
   */
  async isBusy(pool: string, host: string): Promise<boolean | "unknown"> {
    const sources = this.pools[pool]?.busy;
    if (sources === undefined) return "unknown";
    let unknown = false;
    let runPools: ReadonlyMap<string, string> | undefined;

    if (sources.includes("midtier")) {
      if (!this.midtier) unknown = true;
      else {
        const { readings, runPools: pools } = await this.midtier.readAll(this.poolNames);
        runPools = pools;
        const reading = readings[pool];
        if (reading?.status !== "ok") unknown = true;
        else if (reading.data.runs.some((r) => r.state !== "pending" && r.hostIds.includes(host)))
          return true;
      }
    }
    if (sources.includes("rabbitmq")) {
      if (!this.rabbitmq) unknown = true;
      else {
        const reading = await this.readRabbitMq(this.rabbitmq, pool, [host], runPools);
        if (reading.status !== "ok") unknown = true;
        else if (reading.data.busy.some((b) => b.host === host)) return true;
        else if (reading.data.unknownConsumers.length > 0) unknown = true;
      }
    }
    return unknown ? "unknown" : false;
  }

  private async readRabbitMq(
    rabbitmq: RabbitMqSignal,
    pool: string,
    hosts: readonly string[],
    runPools: ReadonlyMap<string, string> | undefined,
  ): Promise<RabbitMqReading> {
    const hostsByPool: Record<string, HostRef[]> = {};
    try {
      const lists = await Promise.all(this.poolNames.map((name) => this.hostRefs(name)));
      this.poolNames.forEach((name, i) => (hostsByPool[name] = lists[i] ?? []));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        status: "failed",
        why: `could not list the hosts to match RabbitMQ consumers with (${message.slice(0, 120)})`,
      };
    }
    // the ids the caller listed count even if hostRefs missed them
    const own = (hostsByPool[pool] ??= []);
    for (const id of hosts) if (!own.some((h) => h.id === id)) own.push({ id });

    const readings = await rabbitmq.readAll(hostsByPool, runPools);
    return readings[pool] ?? notConfigured(pool);
  }
}

const notConfigured = (pool: string): { status: "failed"; why: string } => ({
  status: "failed",
  why: `pool ${pool} is not in the config's pools`,
});
