import { z } from "zod";
import { formatDuration, type Config } from "../config/index.ts";
import type { RabbitmqData, Signals } from "../plan/snapshot.ts";

// The RabbitMQ half of the SignalSource port, read through the management HTTP API (DESIGN.md,
// "Where each fact comes from"): ready messages in each pool's request queues, consumers on run
// queues (`/api/consumers`), and channels holding unacknowledged messages (`/api/channels`).
//
// Age. The management plugin refreshes queue depths, channel counters and the connection,
// channel and consumer lists on `collect_statistics_interval` (5 s by default), and no answer
// says when its sample was taken: the `Date` header has one-second resolution and is the answer's
// time, not the sample's, and `idle_since` exists only on idle objects. So `ageMs` is the time
// the read took (first request sent to last answer), a lower bound; the sample may be up to that
// interval older. That is well inside `signalMaxAge` (2 ticks), and the busy re-read before a
// stop leans on the midtier, which records a run before dispatching it.

/** The parsed `signals.rabbitmq` section. */
export type RabbitMqConfig = NonNullable<Config["signals"]["rabbitmq"]>;
/** One pool's RabbitMQ reading: ok with data and age, or failed with why. */
export type RabbitMqReading = NonNullable<Signals["rabbitmq"]>;

/** A host as RabbitMQ may see it: its id, and the name and private IP its connections show. */
export interface HostRef {
  id: string;
  privateIp?: string;
  name?: string;
}

export interface RabbitMqSignalOptions {
  config: RabbitMqConfig;
  /** the management user's password, already resolved; never logged or put in a `why` */
  password: string;
  /** every pool a reading is made for */
  pools: readonly string[];
}

// Only the fields vor-power reads; RabbitMQ adds many more (z.object drops them). `channel_details`
// and `connection_details` are `[]` when RabbitMQ no longer knows the channel (it is closing).
const detailsOrNone = <T extends z.ZodType>(details: T) =>
  z.union([details, z.array(z.unknown()).transform(() => undefined)]).optional();

const queueSchema = z.object({
  // absent until the first statistics sample after the queue was declared: nothing counted yet
  messages_ready: z.number().int().min(0).default(0),
});

const consumersSchema = z.array(
  z.object({
    queue: z.object({ name: z.string() }),
    channel_details: detailsOrNone(
      z.object({ connection_name: z.string().optional(), peer_host: z.string().optional() }),
    ),
  }),
);

const channelsSchema = z.array(
  z.object({
    name: z.string(),
    messages_unacknowledged: z.number().int().min(0).default(0),
    connection_details: detailsOrNone(
      z.object({ name: z.string().optional(), peer_host: z.string().optional() }),
    ),
  }),
);

const connectionsSchema = z.array(
  z.object({
    name: z.string(),
    user_provided_name: z.string().optional(),
    peer_host: z.string().optional(),
  }),
);

/** A client connection as the consumer and channel lists show it. */
interface Connection {
  /** RabbitMQ's own name, "10.0.1.7:50412 -> 10.0.0.2:5672" */
  internal?: string;
  /** the client's `connection_name` property, when it set one */
  provided?: string;
  peerHost?: string;
}

type Fetched<T> = { ok: true; value: T } | { ok: false; why: string };

interface Request<T> {
  path: string;
  /** what was read, for a why: "the consumers of vhost /" */
  what: string;
  schema: z.ZodType<T>;
  /** the fix when the API answers 404 */
  notFound: string;
}

/**
 * Reads RabbitMQ's management API for every pool at once. A source that cannot be read yields
 * `failed` readings with a short why (never the password); `readAll` never throws.
 */
export class RabbitMqSignal {
  private readonly config: RabbitMqConfig;
  private readonly password: string;
  private readonly pools: readonly string[];
  private readonly base: URL;
  private readonly runQueue: RegExp | undefined;
  private readonly ignored: RegExp[];

  constructor(options: RabbitMqSignalOptions) {
    this.config = options.config;
    this.password = options.password;
    this.pools = options.pools;
    // fetch refuses URLs with credentials; the password travels in the header only
    const base = new URL(options.config.managementUrl);
    base.username = "";
    base.password = "";
    base.search = "";
    base.hash = "";
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    this.base = base;
    this.runQueue = options.config.runQueues && new RegExp(options.config.runQueues.pattern);
    this.ignored = options.config.ignoreConsumers.map((pattern) => new RegExp(pattern));
  }

  /**
   * One reading per configured pool. `hostsByPool` holds every pool's hosts (a consumer from a
   * host of another pool is that pool's, not unknown); `runPools` (run id to pool, from the
   * midtier) sends an unknown consumer to its run's pool only, else to every pool.
   */
  async readAll(
    hostsByPool: Readonly<Record<string, readonly HostRef[]>>,
    runPools: ReadonlyMap<string, string> = new Map(),
  ): Promise<Record<string, RabbitMqReading>> {
    const startedMs = performance.now();
    const signal = AbortSignal.timeout(this.config.timeout);
    const runVhost = this.config.runQueues?.vhost;

    const [consumers, channels, connections, queues] = await Promise.all([
      runVhost === undefined
        ? Promise.resolve<Fetched<z.output<typeof consumersSchema>>>({ ok: true, value: [] })
        : this.get(signal, {
            path: `api/consumers/${encodeURIComponent(runVhost)}?columns=queue.name,channel_details.connection_name,channel_details.peer_host`,
            what: `the consumers of vhost ${runVhost}`,
            schema: consumersSchema,
            notFound: "check signals.rabbitmq.runQueues.vhost",
          }),
      this.get(signal, {
        path: "api/channels?columns=name,messages_unacknowledged,connection_details.name,connection_details.peer_host",
        what: "the channels",
        schema: channelsSchema,
        notFound: "check signals.rabbitmq.managementUrl",
      }),
      this.get(signal, {
        path: "api/connections?columns=name,user_provided_name,peer_host",
        what: "the connections",
        schema: connectionsSchema,
        notFound: "check signals.rabbitmq.managementUrl",
      }),
      Promise.all(
        this.config.requestQueues
          .filter((q) => this.pools.includes(q.pool))
          .map(async (q) => ({
            pool: q.pool,
            result: await this.get(signal, {
              path: `api/queues/${encodeURIComponent(q.vhost)}/${encodeURIComponent(q.queue)}`,
              what: `request queue ${q.queue} in vhost ${q.vhost}`,
              schema: queueSchema,
              notFound:
                "check signals.rabbitmq.requestQueues (the midtier declares it when it starts)",
            }),
          })),
      ),
    ]);
    const ageMs = Math.round(performance.now() - startedMs);

    // the lists serve every pool: one that cannot be read fails them all
    const failAll = (why: string): Record<string, RabbitMqReading> =>
      Object.fromEntries(this.pools.map((pool) => [pool, { status: "failed", why }]));
    if (!consumers.ok) return failAll(consumers.why);
    if (!channels.ok) return failAll(channels.why);
    if (!connections.ok) return failAll(connections.why);

    const byName = new Map(connections.value.map((c) => [c.name, c]));
    const connectionOf = (internal?: string, peerHost?: string): Connection => {
      const known = internal === undefined ? undefined : byName.get(internal);
      return {
        internal,
        provided: known?.user_provided_name,
        peerHost: peerHost ?? known?.peer_host,
      };
    };
    const hosts = Object.entries(hostsByPool).flatMap(([pool, refs]) =>
      refs.map((ref) => ({ pool, ref })),
    );

    const data = new Map<string, RabbitmqData>(
      this.pools.map((pool) => [pool, { readyMessages: 0, busy: [], unknownConsumers: [] }]),
    );
    const markBusy = (hostId: string, why: string): void => {
      for (const { pool, ref } of hosts) {
        if (ref.id !== hostId) continue;
        const busy = data.get(pool)?.busy;
        const entry = busy?.find((b) => b.host === hostId);
        if (entry) entry.why = `${entry.why}; ${why}`;
        else busy?.push({ host: hostId, why });
      }
    };

    for (const consumer of consumers.value) {
      const match = this.runQueue?.exec(consumer.queue.name);
      if (!match) continue;
      const runId = match.groups?.["runId"];
      const details = consumer.channel_details;
      const connection = connectionOf(details?.connection_name, details?.peer_host);
      if (this.isIgnored(connection)) continue;
      const host = this.hostOf(
        connection,
        hosts.map((h) => h.ref),
      );
      if (host) {
        markBusy(
          host.id,
          `consumer on run queue ${consumer.queue.name} from ${labelOf(connection)}`,
        );
        continue;
      }
      const runPool = runId === undefined ? undefined : runPools.get(runId);
      const targets = runPool !== undefined && data.has(runPool) ? [runPool] : this.pools;
      const entry = { connection: labelOf(connection), ...(runId === undefined ? {} : { runId }) };
      for (const pool of targets) {
        const unknown = data.get(pool)?.unknownConsumers;
        if (
          unknown &&
          !unknown.some((u) => u.connection === entry.connection && u.runId === entry.runId)
        )
          unknown.push(entry);
      }
    }

    for (const channel of channels.value) {
      if (channel.messages_unacknowledged === 0) continue;
      const details = channel.connection_details;
      const connection = connectionOf(details?.name, details?.peer_host);
      if (this.isIgnored(connection)) continue;
      const host = this.hostOf(
        connection,
        hosts.map((h) => h.ref),
      );
      if (host) {
        markBusy(
          host.id,
          `${channel.messages_unacknowledged} unacknowledged message(s) on channel ${channel.name}`,
        );
      }
    }

    const readings: Record<string, RabbitMqReading> = {};
    for (const pool of this.pools) {
      const poolData = data.get(pool) ?? { readyMessages: 0, busy: [], unknownConsumers: [] };
      const failure = queues.find((q) => q.pool === pool && !q.result.ok)?.result;
      if (failure && !failure.ok) {
        readings[pool] = { status: "failed", why: failure.why };
        continue;
      }
      for (const q of queues) {
        if (q.pool === pool && q.result.ok) poolData.readyMessages += q.result.value.messages_ready;
      }
      readings[pool] = { status: "ok", ageMs, data: poolData };
    }
    return readings;
  }

  private isIgnored(connection: Connection): boolean {
    const names = [connection.provided, connection.internal].filter((n) => n !== undefined);
    return this.ignored.some((pattern) => names.some((name) => pattern.test(name)));
  }

  /**
   * The host a connection comes from. connectionName: a host id or name inside the client's
   * connection name, as a whole token ("host-i-1" names i-1, not i-12); the longest wins.
   * peerAddress: the peer address is the host's private IP.
   */
  private hostOf(connection: Connection, hosts: readonly HostRef[]): HostRef | undefined {
    if (this.config.hostOf === "peerAddress") {
      const peer = connection.peerHost?.replace(/^::ffff:/, "");
      return peer === undefined ? undefined : hosts.find((h) => h.privateIp === peer);
    }
    const name = connection.provided;
    if (name === undefined) return undefined;
    let best: { host: HostRef; length: number } | undefined;
    for (const host of hosts) {
      for (const key of [host.id, host.name]) {
        if (key === undefined || key === "" || !containsToken(name, key)) continue;
        if (!best || key.length > best.length) best = { host, length: key.length };
      }
    }
    return best?.host;
  }

  private async get<T>(signal: AbortSignal, request: Request<T>): Promise<Fetched<T>> {
    const url = new URL(request.path, this.base);
    const failed = (why: string): Fetched<T> => ({ ok: false, why: this.redact(why) });
    let text: string;
    try {
      const response = await fetch(url, {
        signal,
        headers: {
          accept: "application/json",
          authorization: `Basic ${Buffer.from(`${this.config.username}:${this.password}`).toString("base64")}`,
        },
      });
      text = await response.text();
      if (!response.ok) return failed(this.describeStatus(response.status, request));
    } catch (error) {
      return failed(this.describeFetchError(error, request.what));
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return failed(
        `the management API answered ${request.what} with something that is not JSON: check signals.rabbitmq.managementUrl`,
      );
    }
    const parsed = request.schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const at = issue ? issue.path.join(".") || "(top)" : "(top)";
      return failed(
        `the management API answered ${request.what} in an unexpected shape (at ${at}): is ${this.base.origin} RabbitMQ's management API?`,
      );
    }
    return { ok: true, value: parsed.data };
  }

  private describeStatus(status: number, request: Request<unknown>): string {
    const user = this.config.username;
    if (status === 401)
      return `HTTP 401 from the management API: check the ${user} user's password and monitoring tag`;
    if (status === 403)
      return `HTTP 403 from the management API reading ${request.what}: give the ${user} user the monitoring tag and access to the vhost`;
    if (status === 404)
      return `${request.what} not found (HTTP 404 from the management API): ${request.notFound}`;
    return `HTTP ${status} from the management API reading ${request.what}: RabbitMQ could not answer; it is read again next tick`;
  }

  private describeFetchError(error: unknown, what: string): string {
    if (error instanceof Error && error.name === "TimeoutError")
      return `the management API at ${this.base.origin} did not answer within ${formatDuration(this.config.timeout)} (reading ${what}): check that RabbitMQ is up, or raise signals.rabbitmq.timeout`;
    return `could not reach the management API at ${this.base.origin} (${networkCode(error)}): check signals.rabbitmq.managementUrl and that rabbitmq_management is enabled`;
  }

  // A last guard: no why may carry the password, whatever a server echoed into it.
  private redact(why: string): string {
    return this.password.length >= 4 ? why.split(this.password).join("***") : why;
  }
}

/** How a connection is named in a why or an alert: the client's name, else RabbitMQ's. */
function labelOf(connection: Connection): string {
  return connection.provided ?? connection.internal ?? "a connection RabbitMQ no longer lists";
}

/** `key` occurs in `text` with no letter or digit right before or after it. */
function containsToken(text: string, key: string): boolean {
  for (let at = text.indexOf(key); at !== -1; at = text.indexOf(key, at + 1)) {
    const before = text[at - 1];
    const after = text[at + key.length];
    if (!isAlphanumeric(before) && !isAlphanumeric(after)) return true;
  }
  return false;
}

const isAlphanumeric = (char: string | undefined): boolean =>
  char !== undefined && /[A-Za-z0-9]/.test(char);

/** The system error code under a failed fetch ("ECONNREFUSED"), or a short description. */
function networkCode(error: unknown): string {
  if (!(error instanceof Error)) return "unknown error";
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    if ("code" in cause && typeof cause.code === "string") return cause.code;
    return cause.message;
  }
  return error.message;
}
