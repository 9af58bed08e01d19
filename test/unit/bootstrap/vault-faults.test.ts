import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { faultCode, faultFor, type FaultContext } from "../../../shared/bootstrap/vault-faults.ts";
import { summarizeError, type VaultFailure } from "../../../shared/bootstrap/vault-http.ts";

const status = (code: number, ...errors: string[]): VaultFailure => ({
  kind: "status",
  status: code,
  errors,
});

const context: FaultContext = {
  operation: "signing the bootstrap key k",
  address: "https://vault.internal:8200",
  namespace: "vor",
  path: "ssh-client-signer/sign/vor-bootstrap",
  deniedFix: "grant update on ssh-client-signer/sign/vor-bootstrap",
};

describe("faultCode", () => {
  it.each<[string, VaultFailure, boolean, string]>([
    ["a 503", status(503, "Vault is sealed"), false, "vault:sealed"],
    ["a sealed message on another status", status(500, "Vault is sealed"), false, "vault:sealed"],
    ["a sealed login", status(503, "Vault is sealed"), true, "vault:sealed"],
    ["a refused connection", { kind: "network", code: "ECONNREFUSED" }, false, "vault:unreachable"],
    ["a reset connection", { kind: "network", code: "ECONNRESET" }, false, "vault:unreachable"],
    ["an unknown host name", { kind: "network", code: "ENOTFOUND" }, false, "vault:unreachable"],
    ["no route to the host", { kind: "network", code: "EHOSTUNREACH" }, false, "vault:unreachable"],
    [
      "an untrusted certificate",
      { kind: "network", code: "SELF_SIGNED_CERT_IN_CHAIN" },
      false,
      "vault:error",
    ],
    ["no answer in time", { kind: "timeout", afterMs: 5000 }, false, "vault:timeout"],
    ["a 403 on a path", status(403, "permission denied"), false, "vault:denied"],
    ["a 403 on the login", status(403, "permission denied"), true, "vault:denied"],
    ["a refused secret id", status(400, "invalid role or secret ID"), true, "vault:secret-id"],
    [
      "an older Vault's refused secret id",
      status(400, "invalid secret id"),
      true,
      "vault:secret-id",
    ],
    ["a 400 elsewhere", status(400, "invalid role or secret ID"), false, "vault:error"],
    ["a 404", status(404, "no handler for route"), false, "vault:error"],
    ["a 500", status(500, "internal error"), false, "vault:error"],
    ["an unreadable answer", { kind: "unexpected", why: "no signed_key" }, false, "vault:error"],
  ])("maps %s to its code", (_, failure, login, code) => {
    expect(faultCode(failure, { login })).toBe(code);
  });
});

describe("faultFor", () => {
  it("names the operation, Vault's address, the path, the namespace and the fix", () => {
    const fault = faultFor(status(403, "permission denied"), context);

    expect(fault.message).toBe(
      "signing the bootstrap key k failed: Vault at https://vault.internal:8200 (ssh-client-signer/sign/vor-bootstrap in namespace vor): status 403: permission denied; fix: grant update on ssh-client-signer/sign/vor-bootstrap",
    );
    expect(fault.cause).toEqual(status(403, "permission denied"));
  });

  it("points a 404 at the namespace and the mount", () => {
    const fault = faultFor(status(404), context);

    expect(fault.code).toBe("vault:error");
    expect(fault.message).toMatch(/fix: nothing at that path: check bootstrap\.vault\.namespace/);
  });

  it("cuts the given secrets out of Vault's errors", () => {
    const fault = faultFor(status(400, "bad secret id 1234-abcd given"), {
      ...context,
      login: true,
      secrets: ["1234-abcd"],
    });

    expect(fault.code).toBe("vault:secret-id");
    expect(fault.message).not.toContain("1234-abcd");
    expect(JSON.stringify(fault.cause)).toContain("[redacted]");
  });
});

describe("summarizeError", () => {
  const token = "s.ROOT-LIKE-TOKEN";
  const secretId = "0f5e3a1c-secret-id";
  /** what axios rejects with: the request's config and headers ride along */
  const axiosLike = (code: string | undefined, cause?: unknown) =>
    Object.assign(new Error("connect failed"), {
      code,
      cause,
      config: {
        headers: { "X-Vault-Token": token },
        data: JSON.stringify({ secret_id: secretId }),
      },
      request: { _header: `POST /v1/auth/approle/login\r\nX-Vault-Token: ${token}` },
    });

  it("keeps the status and Vault's errors of an answer, in one line each", () => {
    const apiError = Object.assign(new Error("permission denied"), {
      response: {
        statusCode: 403,
        body: { errors: ["1 error occurred:\n\t* permission denied\n\n"] },
      },
    });

    expect(summarizeError(apiError, 5000)).toEqual(status(403, "permission denied"));
  });

  it.each<[string, unknown, VaultFailure]>([
    ["a refused connection", axiosLike("ECONNREFUSED"), { kind: "network", code: "ECONNREFUSED" }],
    [
      "a host name with several addresses, all refused",
      axiosLike(
        undefined,
        new AggregateError([Object.assign(new Error("x"), { code: "ECONNREFUSED" })]),
      ),
      { kind: "network", code: "ECONNREFUSED" },
    ],
    ["axios's own timeout", axiosLike("ECONNABORTED"), { kind: "timeout", afterMs: 5000 }],
    [
      "something else",
      new TypeError("boom"),
      { kind: "unexpected", why: "the Vault client failed (TypeError)" },
    ],
  ])("keeps only the code of %s", (_, error, failure) => {
    const summary = summarizeError(error, 5000);

    expect(summary).toEqual(failure);
    expect(inspect(summary, { depth: Infinity })).not.toContain(token);
    expect(JSON.stringify(summary)).not.toContain(secretId);
  });
});
