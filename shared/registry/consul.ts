import type { Registry } from "../act/ports.ts";
import type { ComputeProvider } from "../cloud/compute-provider.ts";
import type { Config } from "../config/index.ts";

// The Registry port on Consul's agent HTTP API (DESIGN.md, "The midtier's side"): a host that
// passed every check is registered as an instance of the configured service; draining puts that
// instance into maintenance (a critical check, so it leaves the passing list the midtier reads);
// a stop deregisters it. Every failure is an outside fault (`consul:*`, DESIGN.md "Outside
// faults"): its message says what failed and where, and never holds the token. Registrations go
// to the agent at `consul.address`, in that agent's datacenter: the agent API takes no `dc`, so
// `consul.datacenter` does not apply to them.

/** The parsed `consul` section. */
export type ConsulConfig = NonNullable<Config["consul"]>;

/** What Consul needs to know of a host besides its id: where the midtier reaches it. */
export interface RegisteredHost {
  address?: string;
  pool?: string;
}

export interface ConsulRegistryOptions {
  config: ConsulConfig;
  /** the ACL token, already resolved from `consul.token`; sent as X-Consul-Token only */
  token: string;
  /** each call's deadline (default 5 s) */
  timeoutMs?: number;
  /** the host's address and pool for its registration (the wiring looks them up) */
  hostInfo?: (host: string) => Promise<RegisteredHost | undefined>;
}

/**
 * A Consul call that failed. `code`: `consul:denied` (403: the token is unknown or lacks
 * service:write), `consul:bad-request` (400), `consul:unavailable` (5xx, 429), `consul:timeout`,
 * `consul:unreachable` (no connection), `consul:error` (any other answer).
 */
export class ConsulError extends Error {
  override name = "ConsulError";
  readonly code: string;
  /** whether trying again later may succeed (5xx, timeouts, connections) */
  readonly transient: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; transient: boolean }) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.transient = options.transient;
  }
}

/** The service instance id of a host: one per host, stable across registrations. */
export const serviceIdOf = (service: string, host: string): string => `${service}-${host}`;

// A 404 on deregister or maintenance means "no such service on this agent" only with Consul's
// own words; anything else (a proxy's 404, a wrong address) must not pass as a confirmed drain.
const UNKNOWN_SERVICE = /unknown service|no service registered/i;

export class ConsulRegistry implements Registry {
  readonly #options: ConsulRegistryOptions;
  readonly #base: URL;

  constructor(options: ConsulRegistryOptions) {
    this.#options = options;
    this.#base = new URL(options.config.address);
  }

  /**
   * register: the instance is (re)registered and any maintenance left from a drain is lifted;
   * maintenance: out of the passing list (an instance Consul does not know is already out);
   * deregister: gone (already gone is fine).
   * @throws ConsulError
   */
  async set(host: string, action: "register" | "maintenance" | "deregister"): Promise<void> {
    const { service } = this.#options.config;
    const id = serviceIdOf(service, host);
    const path = encodeURIComponent(id);
    switch (action) {
      case "register": {
        const info = (await this.#options.hostInfo?.(host)) ?? {};
        await this.#put(action, host, "/v1/agent/service/register", {
          body: {
            ID: id,
            Name: service,
            Tags: info.pool === undefined ? [] : [`pool=${info.pool}`],
            ...(info.address === undefined ? {} : { Address: info.address }),
            Meta: {
              "vor-host": host,
              ...(info.pool === undefined ? {} : { "vor-pool": info.pool }),
            },
          },
        });
        // Re-registering keeps a maintenance check (Consul replaces checks only on request), and
        // an undrained host comes back through here.
        await this.#put(action, host, `/v1/agent/service/maintenance/${path}?enable=false`, {});
        return;
      }
      case "maintenance": {
        // Drains and ops exclusions both come here: the midtier must send the host no new runs.
        const reason = encodeURIComponent(
          `vor-power: no new runs for ${host} (draining or excluded)`,
        );
        await this.#put(
          action,
          host,
          `/v1/agent/service/maintenance/${path}?enable=true&reason=${reason}`,
          { absentIsDone: true },
        );
        return;
      }
      case "deregister":
        await this.#put(action, host, `/v1/agent/service/deregister/${path}`, {
          absentIsDone: true,
        });
        return;
    }
  }

  /** One PUT; `absentIsDone`: Consul's own 404 for an unknown instance is the wanted end state. */
  async #put(
    action: string,
    host: string,
    path: string,
    { body, absentIsDone = false }: { body?: unknown; absentIsDone?: boolean },
  ): Promise<void> {
    const url = new URL(path, this.#base);
    const where = `Consul ${action} of ${host} (${url.origin}${url.pathname})`;
    const timeoutMs = this.#options.timeoutMs ?? 5_000;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "PUT",
        headers: {
          "X-Consul-Token": this.#options.token,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw this.#networkError(where, timeoutMs, error);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw this.#networkError(where, timeoutMs, error);
    }
    if (response.ok) return;
    const said = this.#clean(text);
    const status = response.status;
    if (status === 404 && absentIsDone && UNKNOWN_SERVICE.test(text)) return;
    if (status === 403)
      throw new ConsulError(
        "consul:denied",
        `${where}: denied (403 ${said}); fix: give the token service:write on "${this.#options.config.service}"`,
        { transient: false },
      );
    if (status === 400)
      throw new ConsulError("consul:bad-request", `${where}: refused (400 ${said})`, {
        transient: false,
      });
    if (status >= 500 || status === 429)
      throw new ConsulError("consul:unavailable", `${where}: ${status} ${said}`, {
        transient: true,
      });
    throw new ConsulError("consul:error", `${where}: unexpected ${status} ${said}`, {
      transient: false,
    });
  }

  #networkError(where: string, timeoutMs: number, error: unknown): ConsulError {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
      return new ConsulError("consul:timeout", `${where}: no answer within ${timeoutMs} ms`, {
        transient: true,
      });
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const code =
      cause instanceof Error && "code" in cause && typeof cause.code === "string"
        ? cause.code
        : error instanceof Error
          ? error.message
          : "unknown";
    // The original error is left out on purpose: undici's may carry the request's headers.
    return new ConsulError("consul:unreachable", `${where}: unreachable (${this.#clean(code)})`, {
      transient: true,
    });
  }

  /** Consul's answer for a message: one line, bounded, and never the token. */
  #clean(text: string): string {
    const line = text.replace(/\s+/g, " ").trim().slice(0, 200) || "(no body)";
    const token = this.#options.token;
    return token === "" ? line : line.replaceAll(token, "<token>");
  }
}

/**
 * A host's address and pool from the cloud, for its registration: the first pool that lists it.
 * The private address is the one the midtier dispatches to.
 */
export function hostInfoFrom(
  compute: Pick<ComputeProvider, "listHosts">,
  pools: readonly string[],
): (host: string) => Promise<RegisteredHost | undefined> {
  return async (host) => {
    for (const pool of pools) {
      const found = (await compute.listHosts(pool)).find((h) => h.id === host);
      if (found)
        return { pool, ...(found.address === undefined ? {} : { address: found.address }) };
    }
    return undefined;
  };
}

/**
 * The registry for a config with a `consul` section (none without one): its token resolved once
 * through the wiring's resolver, hosts described from the cloud's view of the pools.
 */
export async function consulRegistryFor(
  config: Config,
  secrets: { resolve(ref: ConsulConfig["token"], field: string): Promise<string> },
  compute: Pick<ComputeProvider, "listHosts">,
): Promise<ConsulRegistry | undefined> {
  const consul = config.consul;
  if (!consul) return undefined;
  return new ConsulRegistry({
    config: consul,
    token: await secrets.resolve(consul.token, "consul.token"),
    hostInfo: hostInfoFrom(compute, Object.keys(config.pools)),
  });
}
