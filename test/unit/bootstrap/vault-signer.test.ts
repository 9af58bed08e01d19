import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import type { TraceEntry } from "../../../shared/bootstrap/bootstrap-trace.ts";
import {
  VaultRequestError,
  type VaultCall,
  type VaultFailure,
  type VaultHttp,
} from "../../../shared/bootstrap/vault-http.ts";
import { VaultSigner, type VaultConfig } from "../../../shared/bootstrap/vault-signer.ts";
import { faultOf } from "../../support/access-fault.ts";

const LOGIN = "auth/approle/login";
const RENEW = "auth/token/renew-self";
const SIGN = "ssh-client-signer/sign/vor-bootstrap";
const SECRET_ID = "5b0e3c2a-secret-id-value";
const KEY = { publicKey: "ssh-ed25519 AAAAC3NzaEPHEMERAL", keyId: "vor-power/i-0abc/attempt-1" };

const config: VaultConfig = {
  address: "https://vault.internal:8200",
  namespace: "vor",
  approle: { roleId: "role-id-1", secretId: { fromSsm: "/vor-power/approle-secret-id" } },
  sign: {
    mount: "ssh-client-signer",
    role: "vor-bootstrap",
    principals: ["vor-bootstrap", "vor-ops"],
    ttl: 5 * 60_000,
  },
};

type Route = "login" | "renew" | "sign" | "publicKey";
type Handler = (request: VaultCall) => unknown;

const fail = (failure: VaultFailure): never => {
  throw new VaultRequestError(failure);
};
const status = (code: number, ...errors: string[]): VaultFailure => ({
  kind: "status",
  status: code,
  errors,
});
const auth = (token: string, leaseSeconds: number, renewable: boolean) => ({
  auth: { client_token: token, lease_duration: leaseSeconds, renewable },
});

/** A scripted Vault: each route answers like Vault does unless a test replaces it. */
function fakeVault(overrides: Partial<Record<Route, Handler>> = {}) {
  const calls: VaultCall[] = [];
  let issued = 0;
  const handlers: Record<Route, Handler> = {
    login: () => auth(`s.token-${++issued}`, 1200, true),
    renew: (request) => auth(request.token ?? "", 1200, true),
    sign: () => ({ data: { signed_key: "ssh-ed25519-cert-v01@openssh.com AAAAcert\n" } }),
    publicKey: () => "ssh-ed25519 AAAAhost-ca\n",
    ...overrides,
  };
  const routeOf = (path: string): Route =>
    path === LOGIN
      ? "login"
      : path === RENEW
        ? "renew"
        : path.endsWith("/public_key")
          ? "publicKey"
          : "sign";
  const http: VaultHttp = {
    call: (request) => {
      calls.push(request);
      // a handler that throws rejects the promise, as a failed call does
      return new Promise((resolve) => resolve(handlers[routeOf(request.path)](request)));
    },
  };
  return { http, calls, count: (path: string) => calls.filter((c) => c.path === path).length };
}

function signerOn(
  vault: ReturnType<typeof fakeVault>,
  options: { nowMs?: () => number; secretId?: () => Promise<string>; debug?: string[] } = {},
): VaultSigner {
  const lines = options.debug;
  return new VaultSigner({
    config,
    hostCaMount: "ssh-host-signer",
    secretId: options.secretId ?? (() => Promise.resolve(SECRET_ID)),
    http: vault.http,
    nowMs: options.nowMs ?? (() => 0),
    ...(lines === undefined ? {} : { logger: { debug: (line: string) => void lines.push(line) } }),
  });
}

function drivenClock() {
  let nowMs = 0;
  return {
    nowMs: () => nowMs,
    advanceSeconds: (seconds: number) => {
      nowMs += seconds * 1000;
    },
  };
}

describe("VaultSigner.signUserKey", () => {
  it("logs in with the role id and the secret id, then asks the engine for a user certificate", async () => {
    const vault = fakeVault();
    const signer = signerOn(vault);

    const certificate = await signer.signUserKey(KEY);

    expect(certificate).toBe("ssh-ed25519-cert-v01@openssh.com AAAAcert");
    expect(vault.calls).toEqual([
      { method: "POST", path: LOGIN, body: { role_id: "role-id-1", secret_id: SECRET_ID } },
      {
        method: "POST",
        path: SIGN,
        token: "s.token-1",
        body: {
          public_key: KEY.publicKey,
          cert_type: "user",
          valid_principals: "vor-bootstrap,vor-ops",
          ttl: "300s",
          key_id: KEY.keyId,
        },
      },
    ]);
  });

  it("reuses its token while the lease is young", async () => {
    const vault = fakeVault();
    const signer = signerOn(vault);

    await signer.signUserKey(KEY);
    await signer.signUserKey(KEY);
    await signer.signUserKey(KEY);

    expect(vault.count(LOGIN)).toBe(1);
    expect(vault.calls.filter((c) => c.path === SIGN).map((c) => c.token)).toEqual([
      "s.token-1",
      "s.token-1",
      "s.token-1",
    ]);
  });

  it("logs in once for signs that arrive together", async () => {
    const vault = fakeVault();
    const signer = signerOn(vault);

    await Promise.all([1, 2, 3, 4, 5].map(() => signer.signUserKey(KEY)));

    expect(vault.count(LOGIN)).toBe(1);
    expect(vault.count(SIGN)).toBe(5);
  });

  it.each([
    [799, 0],
    [800, 1],
  ])("renews a renewable token %i s into a 1200 s lease %i times", async (seconds, renewals) => {
    const vault = fakeVault();
    const clock = drivenClock();
    const signer = signerOn(vault, { nowMs: clock.nowMs });
    await signer.signUserKey(KEY);
    clock.advanceSeconds(seconds);

    await signer.signUserKey(KEY);

    expect(vault.count(RENEW)).toBe(renewals);
    expect(vault.count(LOGIN)).toBe(1);
  });

  it("counts the renewed lease from the renewal", async () => {
    const vault = fakeVault();
    const clock = drivenClock();
    const signer = signerOn(vault, { nowMs: clock.nowMs });
    await signer.signUserKey(KEY);
    clock.advanceSeconds(800);
    await signer.signUserKey(KEY); // renewed at 800 s: the next refresh is due at 1600 s
    clock.advanceSeconds(799);

    await signer.signUserKey(KEY);

    expect(vault.count(RENEW)).toBe(1);
  });

  it("logs in again when a renewal gains no time (the token is at its max TTL)", async () => {
    const vault = fakeVault({ renew: (request) => auth(request.token ?? "", 400, true) });
    const clock = drivenClock();
    const signer = signerOn(vault, { nowMs: clock.nowMs });
    await signer.signUserKey(KEY);
    clock.advanceSeconds(800);

    await signer.signUserKey(KEY);

    expect(vault.count(RENEW)).toBe(1);
    expect(vault.count(LOGIN)).toBe(2);
    expect(vault.calls.at(-1)?.token).toBe("s.token-2");
  });

  it("logs in again at two thirds of the lease when the token is not renewable", async () => {
    let issued = 0;
    const vault = fakeVault({ login: () => auth(`s.batch-${++issued}`, 1200, false) });
    const clock = drivenClock();
    const signer = signerOn(vault, { nowMs: clock.nowMs });
    await signer.signUserKey(KEY);
    clock.advanceSeconds(800);

    await signer.signUserKey(KEY);

    expect(vault.count(RENEW)).toBe(0);
    expect(vault.count(LOGIN)).toBe(2);
  });

  it("logs in without renewing once the lease has run out by its clock", async () => {
    const vault = fakeVault();
    const clock = drivenClock();
    const signer = signerOn(vault, { nowMs: clock.nowMs });
    await signer.signUserKey(KEY);
    clock.advanceSeconds(1200);

    await signer.signUserKey(KEY);

    expect(vault.count(RENEW)).toBe(0);
    expect(vault.count(LOGIN)).toBe(2);
  });

  it("never refreshes a token without a lease", async () => {
    const vault = fakeVault({ login: () => auth("s.forever", 0, false) });
    const clock = drivenClock();
    const signer = signerOn(vault, { nowMs: clock.nowMs });
    await signer.signUserKey(KEY);
    clock.advanceSeconds(10 * 365 * 86_400);

    await signer.signUserKey(KEY);

    expect(vault.count(LOGIN)).toBe(1);
  });

  it("logs in when Vault refuses to renew the token", async () => {
    const vault = fakeVault({ renew: () => fail(status(403, "permission denied")) });
    const clock = drivenClock();
    const signer = signerOn(vault, { nowMs: clock.nowMs });
    await signer.signUserKey(KEY);
    clock.advanceSeconds(800);

    await signer.signUserKey(KEY);

    expect(vault.count(LOGIN)).toBe(2);
  });

  it("fails with vault:unreachable when the renewal cannot reach Vault", async () => {
    const vault = fakeVault({ renew: () => fail({ kind: "network", code: "ECONNREFUSED" }) });
    const clock = drivenClock();
    const signer = signerOn(vault, { nowMs: clock.nowMs });
    await signer.signUserKey(KEY);
    clock.advanceSeconds(800);

    const fault = await faultOf(() => signer.signUserKey(KEY));

    expect(fault.code).toBe("vault:unreachable");
    expect(fault.message).toMatch(/^renewing the Vault token failed: .*auth\/token\/renew-self/);
  });

  it("logs in again and retries once when a cached token is refused", async () => {
    let signs = 0;
    const vault = fakeVault({
      sign: () =>
        ++signs === 2
          ? fail(status(403, "permission denied"))
          : { data: { signed_key: "ssh-ed25519-cert-v01@openssh.com AAAAcert" } },
    });
    const signer = signerOn(vault);
    await signer.signUserKey(KEY);

    await signer.signUserKey(KEY);

    expect(vault.count(LOGIN)).toBe(2);
    expect(vault.calls.filter((c) => c.path === SIGN).map((c) => c.token)).toEqual([
      "s.token-1",
      "s.token-1",
      "s.token-2",
    ]);
  });

  it("answers vault:denied without a retry when a token just issued is refused", async () => {
    const vault = fakeVault({ sign: () => fail(status(403, "permission denied")) });
    const signer = signerOn(vault);

    const fault = await faultOf(() => signer.signUserKey(KEY));

    expect(fault.code).toBe("vault:denied");
    expect(vault.count(LOGIN)).toBe(1);
    expect(vault.count(SIGN)).toBe(1);
  });

  it("answers vault:denied when the retry with a fresh token is refused too", async () => {
    let signs = 0;
    const vault = fakeVault({
      sign: () =>
        ++signs === 1
          ? { data: { signed_key: "ssh-ed25519-cert-v01@openssh.com AAAAcert" } }
          : fail(status(403, "permission denied")),
    });
    const signer = signerOn(vault);
    await signer.signUserKey(KEY);

    const fault = await faultOf(() => signer.signUserKey(KEY));

    expect(fault.code).toBe("vault:denied");
    expect(vault.count(LOGIN)).toBe(2);
    expect(vault.count(SIGN)).toBe(3);
  });

  it("tries the login again on the next call after a failed one", async () => {
    let logins = 0;
    const vault = fakeVault({
      login: () =>
        ++logins === 1 ? fail({ kind: "timeout", afterMs: 5000 }) : auth("s.late", 1200, true),
    });
    const signer = signerOn(vault);

    const fault = await faultOf(() => signer.signUserKey(KEY));
    const certificate = await signer.signUserKey(KEY);

    expect(fault.code).toBe("vault:timeout");
    expect(certificate).toMatch(/^ssh-ed25519-cert/);
  });

  it("asks for the secret id at each login, so a rotated one is picked up", async () => {
    const asked: string[] = [];
    const vault = fakeVault();
    const clock = drivenClock();
    const signer = signerOn(vault, {
      nowMs: clock.nowMs,
      secretId: () => {
        asked.push("asked");
        return Promise.resolve(`${SECRET_ID}-${asked.length}`);
      },
    });
    await signer.signUserKey(KEY);
    clock.advanceSeconds(1200);

    await signer.signUserKey(KEY);

    expect(vault.calls.filter((c) => c.path === LOGIN).map((c) => c.body?.["secret_id"])).toEqual([
      `${SECRET_ID}-1`,
      `${SECRET_ID}-2`,
    ]);
  });

  it("answers vault:secret-id when the secret id cannot be read", async () => {
    const vault = fakeVault();
    const signer = signerOn(vault, {
      secretId: () =>
        Promise.reject(
          new Error("bootstrap.vault.approle.secretId: SSM parameter /x could not be read"),
        ),
    });

    const fault = await faultOf(() => signer.signUserKey(KEY));

    expect(fault.code).toBe("vault:secret-id");
    expect(fault.message).toContain("SSM parameter /x could not be read");
    expect(vault.calls).toEqual([]);
  });

  it("answers vault:secret-id when Vault refuses the secret id", async () => {
    const vault = fakeVault({ login: () => fail(status(400, "invalid role or secret ID")) });
    const signer = signerOn(vault);

    const fault = await faultOf(() => signer.signUserKey(KEY));

    expect(fault.code).toBe("vault:secret-id");
    expect(fault.message).toMatch(
      /^AppRole login failed: Vault at https:\/\/vault\.internal:8200 \(auth\/approle\/login in namespace vor\): status 400: invalid role or secret ID; fix: /,
    );
  });

  it("answers vault:error when the engine's answer holds no certificate", async () => {
    const vault = fakeVault({ sign: () => ({ data: {} }) });
    const signer = signerOn(vault);

    const fault = await faultOf(() => signer.signUserKey(KEY));

    expect(fault.code).toBe("vault:error");
    expect(fault.message).toContain("no data.signed_key");
  });

  it("answers vault:error when a login answer holds no token", async () => {
    const vault = fakeVault({ login: () => ({ auth: null }) });
    const signer = signerOn(vault);

    const fault = await faultOf(() => signer.signUserKey(KEY));

    expect(fault.code).toBe("vault:error");
    expect(fault.message).toContain("no auth.client_token");
  });
});

describe("VaultSigner secrecy", () => {
  it("keeps the token and the secret id out of the fault, however it is serialized, and out of the log", async () => {
    const vault = fakeVault({
      sign: (request) => fail(status(403, `permission denied for ${request.token ?? ""}`)),
    });
    const debug: string[] = [];
    const signer = signerOn(vault, { debug });

    const fault = await faultOf(() => signer.signUserKey(KEY));

    const forms = [
      JSON.stringify({ message: fault.message, code: fault.code, cause: fault.cause, fault }),
      inspect(fault, { depth: Infinity, showHidden: true }),
      inspect(signer, { depth: Infinity, showHidden: true }),
      JSON.stringify(signer),
      String(fault.stack),
      ...debug,
    ].join("\n");
    expect(debug.length).toBeGreaterThan(0);
    expect(forms).not.toContain("s.token-1");
    expect(forms).not.toContain(SECRET_ID);
    expect(forms).not.toContain("AAAAC3NzaEPHEMERAL");
  });
});

describe("VaultSigner.hostCaKeys", () => {
  it("reads the host CA's public key without a token", async () => {
    const vault = fakeVault({ publicKey: () => "ssh-ed25519 AAAAhost-ca\nssh-ed25519 AAAAnext\n" });
    const signer = signerOn(vault);

    const keys = await signer.hostCaKeys();

    expect(keys).toEqual(["ssh-ed25519 AAAAhost-ca", "ssh-ed25519 AAAAnext"]);
    expect(vault.calls).toEqual([{ method: "GET", path: "ssh-host-signer/public_key" }]);
  });

  it("answers vault:denied naming the mount when the mount is not there", async () => {
    const vault = fakeVault({ publicKey: () => fail(status(403, "permission denied")) });
    const signer = signerOn(vault);

    const fault = await faultOf(() => signer.hostCaKeys());

    expect(fault.code).toBe("vault:denied");
    expect(fault.message).toMatch(/check bootstrap\.ssh\.hostKey\.mount \(ssh-host-signer\)/);
  });

  it("answers vault:error when the answer is not a key", async () => {
    const vault = fakeVault({ publicKey: () => ({ data: {} }) });
    const signer = signerOn(vault);

    const fault = await faultOf(() => signer.hostCaKeys());

    expect(fault.code).toBe("vault:error");
  });

  it("answers vault:error when no host CA mount is configured", async () => {
    const vault = fakeVault();
    const signer = new VaultSigner({
      config,
      secretId: () => Promise.resolve(SECRET_ID),
      http: vault.http,
    });

    const fault = await faultOf(() => signer.hostCaKeys());

    expect(fault.code).toBe("vault:error");
    expect(fault.message).toContain("bootstrap.ssh.hostKey");
    expect(vault.calls).toEqual([]);
  });
});

describe("VaultSigner's trace (vor-power bootstrap --host)", () => {
  it("reports the login once, then each signing, with ids and lease but no token or secret id", async () => {
    const vault = fakeVault();
    const signer = signerOn(vault);
    const entries: TraceEntry[] = [];

    await signer.signUserKey({ ...KEY, trace: (entry) => entries.push(entry) });
    await signer.signUserKey({ ...KEY, trace: (entry) => entries.push(entry) });

    expect(entries.map((e) => `${e.step}:${e.outcome}:${e.code}`)).toEqual([
      "vault-login:passed:ok",
      "vault-sign:passed:ok",
      "vault-sign:passed:ok",
    ]);
    expect(entries[0]?.facts).toEqual({
      address: config.address,
      namespace: "vor",
      tokenTtlS: 1200,
      renewable: true,
    });
    expect(entries[1]?.facts).toEqual({
      keyId: KEY.keyId,
      principals: ["vor-bootstrap", "vor-ops"],
      ttlS: 300,
      path: SIGN,
    });
    const text = JSON.stringify(entries);
    expect(text).not.toContain("s.token-1");
    expect(text).not.toContain(SECRET_ID);
    expect(text).not.toContain("AAAAcert");
  });

  it("reports a failed login as the failing step, and no signing after it", async () => {
    const vault = fakeVault({ login: () => fail(status(400, "invalid secret id")) });
    const entries: TraceEntry[] = [];

    await expect(
      signerOn(vault).signUserKey({ ...KEY, trace: (entry) => entries.push(entry) }),
    ).rejects.toThrow();

    expect(entries.map((e) => `${e.step}:${e.outcome}:${e.code}`)).toEqual([
      "vault-login:failed:vault:secret-id",
    ]);
    expect(JSON.stringify(entries)).not.toContain(SECRET_ID);
  });

  it("reports a refused signing with its code after a login that passed", async () => {
    const vault = fakeVault({ sign: () => fail(status(500, "internal")) });
    const entries: TraceEntry[] = [];

    await expect(
      signerOn(vault).signUserKey({ ...KEY, trace: (entry) => entries.push(entry) }),
    ).rejects.toThrow();

    expect(entries.map((e) => `${e.step}:${e.outcome}:${e.code}`)).toEqual([
      "vault-login:passed:ok",
      "vault-sign:failed:vault:error",
    ]);
  });
});
