import type { Config } from "../config/index.ts";
import {
  elapsedMs,
  faultCode,
  faultDetail,
  type Trace,
  type TraceEntry,
} from "./bootstrap-trace.ts";
import { AccessFault } from "./host-channel.ts";
import type { KeySigner, SignRequest } from "./key-signer.ts";
import { faultFor, type FaultContext } from "./vault-faults.ts";
import {
  createNodeVaultHttp,
  VaultRequestError,
  type VaultFailure,
  type VaultHttp,
} from "./vault-http.ts";
import {
  expiresAtMs,
  isRecord,
  readSession,
  refreshAtMs,
  renewalExtends,
  type VaultSession,
} from "./vault-session.ts";

// The KeySigner port over Vault's SSH secrets engine (DESIGN.md, "The planner model": Vault
// sealed, denied or unreachable are outside faults). vor-power logs in with AppRole, keeps the
// token in memory with its lease, renews it at two thirds of the lease (or logs in again when it
// cannot be renewed), and asks the engine to sign each bootstrap's ephemeral key.

/** The parsed `bootstrap.vault` section (durations in milliseconds). */
export type VaultConfig = NonNullable<Config["bootstrap"]["vault"]>;

/** What the signer logs: the PT helper shape, debug only. Never handed a token or secret id. */
export interface DebugLogger {
  debug(message: string): void;
}

export interface VaultSignerOptions {
  config: VaultConfig;
  /** the SSH engine that signs host keys (`bootstrap.ssh.hostKey.mount` when mode is `ca`) */
  hostCaMount?: string;
  /**
   * The AppRole secret id, asked for at each login (the wiring passes the SecretResolver). Its
   * value is never logged, kept, or put in an error.
   */
  secretId: () => Promise<string>;
  /** the deadline of each call to Vault, connection included; default 5 seconds */
  timeoutMs?: number;
  /** the clock the token's lease is measured with; tests drive it */
  nowMs?: () => number;
  logger?: DebugLogger;
  /** how calls reach Vault; default node-vault. Unit tests pass a scripted fake. */
  http?: VaultHttp;
}

export const DEFAULT_VAULT_TIMEOUT_MS = 5_000;

const LOGIN_PATH = "auth/approle/login";
const RENEW_PATH = "auth/token/renew-self";

interface CurrentSession {
  session: VaultSession;
  /** logged in for this call: a 403 is final, logging in again would get the same policies */
  fresh: boolean;
}

/**
 * Signs bootstrap keys with Vault's SSH secrets engine and reads the host CA.
 * Every method throws only AccessFault (code `vault:*`), whose `cause` is a sanitized summary:
 * Vault's status and `errors`, or the connection's error code. The token lives in a private
 * field, so neither logging nor inspecting the signer shows it.
 */
export class VaultSigner implements KeySigner {
  readonly #config: VaultConfig;
  readonly #hostCaMount: string | undefined;
  readonly #secretId: () => Promise<string>;
  readonly #nowMs: () => number;
  readonly #logger: DebugLogger | undefined;
  readonly #http: VaultHttp;
  #session: VaultSession | undefined;
  /** the one refresh in flight: concurrent signs share it instead of logging in twice */
  #refreshing: Promise<CurrentSession> | undefined;

  constructor(options: VaultSignerOptions) {
    this.#config = options.config;
    this.#hostCaMount = options.hostCaMount;
    this.#secretId = options.secretId;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#logger = options.logger;
    this.#http =
      options.http ??
      createNodeVaultHttp({
        address: options.config.address,
        ...(options.config.namespace === undefined ? {} : { namespace: options.config.namespace }),
        timeoutMs: options.timeoutMs ?? DEFAULT_VAULT_TIMEOUT_MS,
      });
  }

  async signUserKey(request: SignRequest): Promise<string> {
    const { mount, role, principals, ttl } = this.#config.sign;
    const path = `${mount}/sign/${role}`;
    const context = this.#context({
      operation: `signing the bootstrap key ${request.keyId}`,
      path,
      deniedFix: `the AppRole's token policy must grant "update" on ${path}: check the role's token_policies (bao read auth/approle/role/<role>), the policy, bootstrap.vault.sign and bootstrap.vault.namespace`,
    });
    // The login's time is its own step: signing's time is what is left.
    let loginMs = 0;
    let loginFailed = false;
    const outer = request.trace;
    const trace: Trace | undefined =
      outer &&
      ((entry: TraceEntry) => {
        if (entry.step === "vault-login") {
          loginMs = entry.durationMs ?? 0;
          loginFailed = entry.outcome === "failed";
        }
        outer(entry);
      });
    const startedAt = performance.now();
    const facts = { keyId: request.keyId, principals, ttlS: Math.round(ttl / 1000), path };
    const signed = await this.#sign(context, request, trace).then(
      (value) => {
        trace?.({
          step: "vault-sign",
          outcome: "passed",
          code: "ok",
          durationMs: Math.max(0, elapsedMs(startedAt) - loginMs),
          detail: `signed key id ${request.keyId} for ${principals.join(",")}, valid ${facts.ttlS} s (${path})`,
          facts,
        });
        return value;
      },
      (error: unknown) => {
        if (!loginFailed)
          trace?.({
            step: "vault-sign",
            outcome: "failed",
            code: faultCode(error),
            durationMs: Math.max(0, elapsedMs(startedAt) - loginMs),
            detail: faultDetail(error),
            facts,
          });
        throw error;
      },
    );
    return signed;
  }

  async #sign(context: FaultContext, request: SignRequest, trace?: Trace): Promise<string> {
    const { mount, role, principals, ttl } = this.#config.sign;
    const path = `${mount}/sign/${role}`;
    const answer = await this.#withToken(
      context,
      (token) =>
        this.#http.call({
          method: "POST",
          path,
          token,
          body: {
            public_key: request.publicKey,
            cert_type: "user",
            valid_principals: principals.join(","),
            // Vault reads a bare number as seconds; the config holds milliseconds.
            ttl: `${Math.max(1, Math.round(ttl / 1000))}s`,
            key_id: request.keyId,
          },
        }),
      trace,
    );
    const data = isRecord(answer) ? answer["data"] : undefined;
    const signed = isRecord(data) ? data["signed_key"] : undefined;
    if (typeof signed !== "string" || signed.trim() === "") {
      throw faultFor({ kind: "unexpected", why: "the answer holds no data.signed_key" }, context);
    }
    return signed.trim();
  }

  async hostCaKeys(): Promise<string[]> {
    const mount = this.#hostCaMount;
    if (mount === undefined) {
      throw new AccessFault(
        "vault:error",
        "reading the host CA failed: no host CA mount is configured; fix: set bootstrap.ssh.hostKey to { mode: ca, mount: <the SSH engine that signs host keys> }",
      );
    }
    // `<mount>/public_key` is readable without a token (it is what every SSH client is meant to
    // trust), so the AppRole's policy needs no grant for it; `config/ca` would need "read".
    const path = `${mount}/public_key`;
    const context = this.#context({
      operation: "reading the host CA",
      path,
      deniedFix: `Vault answers 403 to an unauthenticated read of a path that does not exist: check bootstrap.ssh.hostKey.mount (${mount}) and bootstrap.vault.namespace`,
    });
    let answer: unknown;
    try {
      answer = await this.#http.call({ method: "GET", path });
    } catch (error) {
      throw faultFor(failureOf(error), context);
    }
    const keys =
      typeof answer === "string"
        ? answer
            .split("\n")
            .map((line) => line.trim())
            .filter((line) => line !== "")
        : [];
    if (keys.length === 0) {
      throw faultFor(
        {
          kind: "unexpected",
          why: "the answer is not an OpenSSH public key (is the CA configured?)",
        },
        context,
      );
    }
    return keys;
  }

  /** Runs `call` with a valid token; on a 403 with a token that worked before, logs in once more. */
  async #withToken(
    context: FaultContext,
    call: (token: string) => Promise<unknown>,
    trace?: Trace,
  ): Promise<unknown> {
    const first = await this.#currentSession(trace);
    try {
      return await call(first.session.token);
    } catch (error) {
      const failure = failureOf(error);
      if (first.fresh || failure.kind !== "status" || failure.status !== 403) {
        throw faultFor(failure, { ...context, secrets: [first.session.token] });
      }
      // The token was revoked, or the role's policies changed since it was issued (a token's
      // policies are fixed at login): a fresh login may be allowed where it was not.
      this.#logger?.debug(`Vault answered 403 to ${context.path}: logging in again to retry once`);
      if (this.#session === first.session) this.#session = undefined;
    }
    const second = await this.#currentSession(trace);
    try {
      return await call(second.session.token);
    } catch (error) {
      throw faultFor(failureOf(error), { ...context, secrets: [second.session.token] });
    }
  }

  async #currentSession(trace?: Trace): Promise<CurrentSession> {
    const session = this.#session;
    if (session !== undefined && this.#nowMs() < refreshAtMs(session)) {
      return { session, fresh: false };
    }
    this.#refreshing ??= this.#refresh(session, trace).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(old: VaultSession | undefined, trace?: Trace): Promise<CurrentSession> {
    if (old?.renewable && this.#nowMs() < expiresAtMs(old)) {
      const renewed = await this.#renew(old);
      if (renewed !== undefined) {
        this.#session = renewed;
        return { session: renewed, fresh: false };
      }
    }
    const session = await this.#tracedLogin(trace);
    this.#session = session;
    return { session, fresh: true };
  }

  /** The renewed session, or undefined when logging in again is the way forward. */
  async #renew(old: VaultSession): Promise<VaultSession | undefined> {
    const startedMs = this.#nowMs();
    let answer: unknown;
    try {
      answer = await this.#http.call({ method: "POST", path: RENEW_PATH, token: old.token });
    } catch (error) {
      const failure = failureOf(error);
      // A token Vault no longer honours (revoked, or expired by Vault's clock) answers 4xx:
      // a login replaces it. Sealed, unreachable or slow would fail the login the same way.
      if (failure.kind === "status" && failure.status >= 400 && failure.status < 500) {
        this.#logger?.debug(`Vault refused to renew the token (${failure.status}): logging in`);
        return undefined;
      }
      throw faultFor(
        failure,
        this.#context({
          operation: "renewing the Vault token",
          path: RENEW_PATH,
          deniedFix: "log in again",
          secrets: [old.token],
        }),
      );
    }
    const renewed = readSession(answer, startedMs);
    if (renewed === undefined || renewed.token !== old.token || !renewalExtends(old, renewed)) {
      this.#logger?.debug("the Vault token renews no further (max TTL): logging in");
      return undefined;
    }
    this.#logger?.debug(`renewed the Vault token for ${renewed.leaseMs / 1000} s`);
    return renewed;
  }

  /** The login, reported as step `vault-login`: the token's lease, never the token. */
  async #tracedLogin(trace?: Trace): Promise<VaultSession> {
    const startedAt = performance.now();
    const { address, namespace } = this.#config;
    const facts = { address, ...(namespace === undefined ? {} : { namespace }) };
    const where = `AppRole login at ${address}${namespace === undefined ? "" : ` (namespace ${namespace})`}`;
    try {
      const session = await this.#login();
      trace?.({
        step: "vault-login",
        outcome: "passed",
        code: "ok",
        durationMs: elapsedMs(startedAt),
        detail: `${where}: a token for ${session.leaseMs / 1000} s${session.renewable ? ", renewable" : ""}`,
        facts: { ...facts, tokenTtlS: session.leaseMs / 1000, renewable: session.renewable },
      });
      return session;
    } catch (error) {
      trace?.({
        step: "vault-login",
        outcome: "failed",
        code: faultCode(error),
        durationMs: elapsedMs(startedAt),
        detail: faultDetail(error),
        facts,
      });
      throw error;
    }
  }

  async #login(): Promise<VaultSession> {
    const context = this.#context({
      operation: "AppRole login",
      path: LOGIN_PATH,
      login: true,
      deniedFix:
        "the AppRole auth method is not enabled at auth/approle in this namespace: check bootstrap.vault.namespace (bao auth list -ns=<namespace>)",
    });
    let secretId: string;
    try {
      secretId = await this.#secretId();
    } catch (error) {
      // The resolver's errors name the reference, never a value (config/secrets.ts).
      const why = error instanceof Error ? error.message : "the secret id supplier failed";
      throw new AccessFault(
        "vault:secret-id",
        `AppRole login to Vault at ${this.#config.address} failed: the secret id could not be read: ${why}; fix: check bootstrap.vault.approle.secretId`,
        { cause: { kind: "secret-id-unreadable" } },
      );
    }
    const startedMs = this.#nowMs();
    let answer: unknown;
    try {
      answer = await this.#http.call({
        method: "POST",
        path: LOGIN_PATH,
        body: { role_id: this.#config.approle.roleId, secret_id: secretId },
      });
    } catch (error) {
      throw faultFor(failureOf(error), { ...context, secrets: [secretId] });
    }
    const session = readSession(answer, startedMs);
    if (session === undefined) {
      throw faultFor({ kind: "unexpected", why: "the answer holds no auth.client_token" }, context);
    }
    this.#logger?.debug(
      `logged in to Vault at ${this.#config.address} with AppRole: a token for ${session.leaseMs / 1000} s, ${session.renewable ? "renewable" : "not renewable"}`,
    );
    return session;
  }

  #context(parts: Omit<FaultContext, "address" | "namespace">): FaultContext {
    const namespace = this.#config.namespace;
    return {
      ...parts,
      address: this.#config.address,
      ...(namespace === undefined ? {} : { namespace }),
    };
  }
}

/** The sanitized failure of a VaultHttp call (anything else is a bug in a fake, summarized). */
function failureOf(error: unknown): VaultFailure {
  if (error instanceof VaultRequestError) return error.failure;
  const name = error instanceof Error ? error.name : typeof error;
  return { kind: "unexpected", why: `the Vault client failed (${name})` };
}
