import nodeVault from "node-vault";

// The one place vor-power touches node-vault: a typed call with a deadline, whose failures are
// sanitized summaries. node-vault rejects with axios errors that carry the request's config,
// i.e. the X-Vault-Token header and the login body with the secret id; none of that leaves here.

/** What went wrong with one call to Vault, with nothing secret in it. */
export type VaultFailure =
  /** Vault answered with a status other than 200/204; `errors` is its `errors` array */
  | { kind: "status"; status: number; errors: string[] }
  /** the connection failed: ECONNREFUSED, ECONNRESET, ENOTFOUND, EHOSTUNREACH, a TLS code... */
  | { kind: "network"; code: string }
  /** no answer within the deadline */
  | { kind: "timeout"; afterMs: number }
  /** an answer vor-power cannot read (no token in a login answer, no signed key) */
  | { kind: "unexpected"; why: string };

/** A failed call to Vault. Carries only the sanitized `failure`, never the request. */
export class VaultRequestError extends Error {
  override name = "VaultRequestError";
  readonly failure: VaultFailure;

  constructor(failure: VaultFailure) {
    super(describeFailure(failure));
    this.failure = failure;
  }
}

export interface VaultCall {
  method: "GET" | "POST";
  /** below /v1, without a leading slash: "auth/approle/login" */
  path: string;
  body?: Readonly<Record<string, unknown>>;
  /** sent as X-Vault-Token; unauthenticated calls (a CA's public_key) leave it out */
  token?: string;
}

/** Sends one call to Vault. The seam the unit tests replace. */
export interface VaultHttp {
  /**
   * Vault's answer: the parsed JSON body, or the text of a plain-text answer (`public_key`).
   * @throws VaultRequestError, and nothing else
   */
  call(request: VaultCall): Promise<unknown>;
}

export interface NodeVaultHttpOptions {
  address: string;
  /** sent as X-Vault-Namespace on every call (Vault Enterprise, HCP Vault, OpenBao 2.3+) */
  namespace?: string;
  timeoutMs: number;
}

/** A VaultHttp over node-vault; reads no environment variable (VAULT_TOKEN, VAULT_SKIP_VERIFY...). */
export function createNodeVaultHttp(options: NodeVaultHttpOptions): VaultHttp {
  const client = nodeVault({
    endpoint: options.address,
    // node-vault falls back to VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE and VAULT_PREFIX: the
    // overrides below pin them to the config. Its debug logger prints request bodies (the
    // login's secret id) when DEBUG=node-vault: silenced. strictSSL beats VAULT_SKIP_VERIFY.
    debug: () => undefined,
    requestOptions: { strictSSL: true },
  });
  Object.assign(client, { token: "", namespace: options.namespace ?? "", pathPrefix: "" });

  const send = async (request: VaultCall): Promise<unknown> => {
    const requestOptions = {
      timeout: options.timeoutMs,
      headers: request.token === undefined ? {} : { "X-Vault-Token": request.token },
    };
    try {
      const answer: unknown =
        request.method === "GET"
          ? await client.read(request.path, requestOptions)
          : await client.write(request.path, request.body ?? {}, requestOptions);
      return answer;
    } catch (error) {
      throw new VaultRequestError(summarizeError(error, options.timeoutMs));
    }
  };

  return {
    // axios's timeout is a socket idle timeout that starts once connected: a SYN that is never
    // answered would wait for the kernel (minutes). The deadline covers the whole call.
    async call(request) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new VaultRequestError({ kind: "timeout", afterMs: options.timeoutMs }));
        }, options.timeoutMs);
      });
      try {
        return await Promise.race([send(request), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const TIMEOUT_CODES = new Set(["ECONNABORTED", "ETIMEDOUT", "ESOCKETTIMEDOUT"]);
const MAX_ERRORS = 5;
const MAX_ERROR_CHARS = 200;

/** The sanitized summary of whatever node-vault (or axios under it) rejected with. */
export function summarizeError(error: unknown, timeoutMs: number): VaultFailure {
  if (error instanceof VaultRequestError) return error.failure;
  // node-vault's ApiResponseError: { response: { statusCode, body } }
  const response = field(error, "response");
  const status = field(response, "statusCode");
  if (typeof status === "number") {
    return { kind: "status", status, errors: vaultErrors(field(response, "body")) };
  }
  const code = networkCode(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) return { kind: "timeout", afterMs: timeoutMs };
  if (code !== undefined) return { kind: "network", code };
  const name = error instanceof Error ? error.name : typeof error;
  return { kind: "unexpected", why: `the Vault client failed (${name})` };
}

/** Vault's `errors` array, cut short: it names the problem, never echoes a credential. */
function vaultErrors(body: unknown): string[] {
  const errors = field(body, "errors");
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((item): item is string => typeof item === "string")
    .slice(0, MAX_ERRORS)
    .map((item) => oneLine(item).slice(0, MAX_ERROR_CHARS));
}

/** Vault's multi-errors ("1 error occurred:\n\t* permission denied\n\n") as one plain line. */
function oneLine(text: string): string {
  return text
    .replace(/^\s*\d+ errors? occurred:/, "")
    .replace(/\s*\n\s*\*\s*/g, "; ")
    .replace(/\s+/g, " ")
    .replace(/^[;\s]+|[;\s]+$/g, "");
}

/**
 * The system error code of a failed connection. Node reports a host name with several addresses
 * ("localhost": ::1 and 127.0.0.1) as an AggregateError whose own code is unset, so the
 * codes of its `errors` (and of a `cause`) are searched too.
 */
function networkCode(error: unknown, depth = 0): string | undefined {
  if (depth > 3) return undefined;
  const code = field(error, "code");
  if (typeof code === "string" && code !== "" && code !== "ERR_NETWORK") return code;
  const errors = field(error, "errors");
  if (Array.isArray(errors)) {
    for (const inner of errors as unknown[]) {
      const found = networkCode(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  const cause = field(error, "cause");
  return cause === undefined ? undefined : networkCode(cause, depth + 1);
}

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === "object" && key in value
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** One line for a failure, without the operation (the signer adds it). */
export function describeFailure(failure: VaultFailure): string {
  switch (failure.kind) {
    case "status":
      return failure.errors.length > 0
        ? `status ${failure.status}: ${failure.errors.join("; ")}`
        : `status ${failure.status}`;
    case "network":
      return `connection failed (${failure.code})`;
    case "timeout":
      return `no answer within ${failure.afterMs} ms`;
    case "unexpected":
      return failure.why;
  }
}
