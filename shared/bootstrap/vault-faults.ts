import { AccessFault } from "./host-channel.ts";
import { describeFailure, type VaultFailure } from "./vault-http.ts";

// Vault failures as the AccessFault codes the planner classifies (host-channel.ts): all are
// outside faults, so a host waiting on them is blocked, never counted as failing. Each message
// names the operation, Vault's address and path, and the fix; the `cause` is the sanitized
// failure (status and Vault's `errors`, or the connection's code), never node-vault's error.

export type VaultFaultCode =
  | "vault:sealed"
  | "vault:unreachable"
  | "vault:timeout"
  | "vault:denied"
  | "vault:secret-id"
  | "vault:error";

/** Where a call went and what it was for, to write the fault's message. */
export interface FaultContext {
  /** what vor-power was doing: "AppRole login", "signing a user key" */
  operation: string;
  address: string;
  namespace?: string;
  /** the path below /v1: "ssh-client-signer/sign/vor-bootstrap" */
  path: string;
  /** what to check when Vault says 403 here */
  deniedFix: string;
  /** the AppRole login, where a refused secret id is its own code */
  login?: boolean;
  /** values to cut out of Vault's errors, however unlikely it is to echo them */
  secrets?: readonly string[];
}

// Connection failures that say "nothing answered there": a down server, a wrong address or
// name, a network path that is missing. TLS failures are not among them (vault:error): the
// server answered, with a certificate vor-power does not trust.
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EADDRNOTAVAIL",
]);

/** The AccessFault code for a failure. */
export function faultCode(failure: VaultFailure, options: { login: boolean }): VaultFaultCode {
  switch (failure.kind) {
    case "timeout":
      return "vault:timeout";
    case "network":
      return UNREACHABLE_CODES.has(failure.code) ? "vault:unreachable" : "vault:error";
    case "unexpected":
      return "vault:error";
    case "status":
      // A sealed Vault answers 503 "Vault is sealed" on every path, the login included.
      if (failure.status === 503 || failure.errors.some((e) => /\bis sealed\b/i.test(e))) {
        return "vault:sealed";
      }
      // Vault and OpenBao answer a wrong, expired or used-up secret id with 400 "invalid role
      // or secret ID" (older Vaults: "invalid secret id"); they do not say which of the two.
      if (
        options.login &&
        (failure.status === 400 || failure.status === 403) &&
        failure.errors.some((e) => /secret.?id|role.?id|invalid role/i.test(e))
      ) {
        return "vault:secret-id";
      }
      return failure.status === 403 ? "vault:denied" : "vault:error";
  }
}

/** The AccessFault for a failure, its message naming the operation, where, and the fix. */
export function faultFor(failure: VaultFailure, context: FaultContext): AccessFault {
  const clean = redact(failure, context.secrets ?? []);
  const code = faultCode(clean, { login: context.login === true });
  const where = `Vault at ${context.address} (${context.path}${
    context.namespace === undefined ? "" : ` in namespace ${context.namespace}`
  })`;
  const what = describeFailure(clean);
  const message = `${context.operation} failed: ${where}: ${what}; fix: ${fixFor(code, clean, context)}`;
  return new AccessFault(code, message, { cause: clean });
}

function fixFor(code: VaultFaultCode, failure: VaultFailure, context: FaultContext): string {
  switch (code) {
    case "vault:sealed":
      return "unseal Vault (bao operator unseal, or its auto-unseal); bootstrap waits until then";
    case "vault:unreachable":
      return "check bootstrap.vault.address, its DNS name, and the network path from vor-power to Vault (security groups, routes, VPC endpoints)";
    case "vault:timeout":
      return "check that Vault is up and that nothing between vor-power and Vault drops the traffic (a firewall that drops instead of refusing)";
    case "vault:denied":
      return context.deniedFix;
    case "vault:secret-id":
      return "the role id or secret id is wrong, expired or used up: issue a new secret id (bao write -f auth/approle/role/<role>/secret-id), store it where bootstrap.vault.approle.secretId points, and check bootstrap.vault.approle.roleId";
    case "vault:error":
      if (failure.kind === "network") {
        return "a TLS or protocol failure: check that bootstrap.vault.address is Vault's https URL and that its certificate is trusted (NODE_EXTRA_CA_CERTS)";
      }
      if (failure.kind === "status" && failure.status === 404) {
        return `nothing at that path: check bootstrap.vault.namespace and the mount and role names (${context.path})`;
      }
      return "read Vault's error above; check the bootstrap.vault section against Vault's configuration";
  }
}

function redact(failure: VaultFailure, secrets: readonly string[]): VaultFailure {
  if (failure.kind !== "status") return failure;
  const scrub = (text: string): string =>
    secrets.reduce(
      (out, secret) => (secret === "" ? out : out.split(secret).join("[redacted]")),
      text,
    );
  return { ...failure, errors: failure.errors.map(scrub) };
}
