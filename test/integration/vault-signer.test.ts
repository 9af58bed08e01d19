import { performance } from "node:perf_hooks";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessFault } from "../../shared/bootstrap/host-channel.ts";
import { createNodeVaultHttp, type VaultHttp } from "../../shared/bootstrap/vault-http.ts";
import { VaultSigner, type VaultConfig } from "../../shared/bootstrap/vault-signer.ts";
import {
  BAO_FIX,
  HOST_CA_MOUNT,
  NAMESPACE,
  PRINCIPAL,
  SIGN_ROLE,
  USER_CA_MOUNT,
  ephemeralKey,
  fingerprintOf,
  openBaoInstalled,
  readCertificate,
  startBlackHole,
  startCountingProxy,
  startOpenBao,
  type AppRoleName,
  type OpenBao,
} from "../support/openbao.ts";
import { missing } from "../support/services.ts";
import { faultOf } from "../support/access-fault.ts";

const skip = !openBaoInstalled() && missing("OpenBao (.venv/bin/bao)", BAO_FIX);

const LOGIN = "/v1/auth/approle/login";
const RENEW = "/v1/auth/token/renew-self";
const SIGN = `/v1/${USER_CA_MOUNT}/sign/${SIGN_ROLE}`;

/** A driven clock: the signer measures its token's lease with it. */
function drivenClock(): { nowMs: () => number; advanceSeconds(seconds: number): void } {
  let nowMs = 0;
  return {
    nowMs: () => nowMs,
    advanceSeconds: (seconds) => {
      nowMs += seconds * 1000;
    },
  };
}

/** Every form a log line or an error report could take of the fault. */
function serialized(fault: AccessFault): string {
  return [
    JSON.stringify({ message: fault.message, code: fault.code, cause: fault.cause, fault }),
    inspect(fault, { depth: Infinity, showHidden: true }),
    String(fault.stack),
  ].join("\n");
}

/** The real node-vault transport, with the tokens it sent recorded (to look for them later). */
function recordingHttp(config: VaultConfig, tokens: Set<string>, timeoutMs = 5_000): VaultHttp {
  const http = createNodeVaultHttp({
    address: config.address,
    ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
    timeoutMs,
  });
  return {
    call: (request) => {
      if (request.token !== undefined) tokens.add(request.token);
      return http.call(request);
    },
  };
}

describe.skipIf(skip)("VaultSigner against OpenBao", () => {
  let bao: OpenBao;
  let key: { publicKey: string };

  /** A signer on the role's config, with a new secret id (unless one is given). */
  async function signerFor(
    role: AppRoleName,
    options: {
      overrides?: Partial<VaultConfig>;
      secretId?: string;
      nowMs?: () => number;
      http?: VaultHttp;
    } = {},
  ): Promise<VaultSigner> {
    const secretId = options.secretId ?? (await bao.newSecretId({ role }));
    return new VaultSigner({
      config: bao.vaultConfig(role, options.overrides),
      hostCaMount: HOST_CA_MOUNT,
      secretId: () => Promise.resolve(secretId),
      ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
      ...(options.http === undefined ? {} : { http: options.http }),
    });
  }

  beforeAll(async () => {
    bao = await startOpenBao();
    key = ephemeralKey();
  });

  afterAll(async () => {
    await bao.stop();
  });

  it("signs a user key that ssh-keygen reads as a user certificate with the principals, key id and ttl", async () => {
    const ttlMs = 2 * 60_000;
    const signer = await signerFor("signer", {
      overrides: {
        sign: { mount: USER_CA_MOUNT, role: SIGN_ROLE, principals: [PRINCIPAL], ttl: ttlMs },
      },
    });

    const certificate = await signer.signUserKey({
      publicKey: key.publicKey,
      keyId: "vor-power/i-0abc/2026-11-25T10:00:00Z",
    });

    expect(certificate).toMatch(/^ssh-ed25519-cert-v01@openssh\.com \S+$/);
    const facts = readCertificate(certificate);
    expect(facts.type).toBe("user");
    expect(facts.principals).toEqual([PRINCIPAL]);
    expect(facts.keyId).toBe("vor-power/i-0abc/2026-11-25T10:00:00Z");
    expect(facts.signingCaFingerprint).toBe(fingerprintOf(bao.userCaPublicKey));
    // Vault backdates the start by the role's not_before_duration (30s by default) for clock skew.
    const validMs = facts.validToMs - facts.validFromMs - 30_000;
    expect(Math.abs(validMs - ttlMs)).toBeLessThanOrEqual(2_000);
  });

  it("works inside the configured namespace, where the engine and the AppRole live", async () => {
    const proxy = await startCountingProxy(bao.address);
    try {
      const signer = await signerFor("signer", { overrides: { address: proxy.address } });

      await signer.signUserKey({ publicKey: key.publicKey, keyId: "namespaced" });

      expect(proxy.calls.map((call) => call.namespace)).toEqual([NAMESPACE, NAMESPACE]);
    } finally {
      await proxy.close();
    }
    // The same path at the root: no engine there (404), and no AppRole to log in with.
    const atRoot = await bao.root.request("POST", `${USER_CA_MOUNT}/sign/${SIGN_ROLE}`, {
      namespace: null,
      body: { public_key: key.publicKey },
    });
    expect(atRoot.status).toBe(404);
    const withoutNamespace = await signerFor("signer", { overrides: { namespace: undefined } });
    const fault = await faultOf(() =>
      withoutNamespace.signUserKey({ publicKey: key.publicKey, keyId: "root" }),
    );
    expect(fault.code).toBe("vault:denied");
    expect(fault.message).toMatch(/AppRole login failed: .*auth\/approle\/login.*namespace/);
  });

  it("logs in once and reuses the token for the next signs", async () => {
    const proxy = await startCountingProxy(bao.address);
    try {
      const signer = await signerFor("signer", { overrides: { address: proxy.address } });

      for (let i = 0; i < 3; i++) {
        await signer.signUserKey({ publicKey: key.publicKey, keyId: `reuse-${i}` });
      }

      expect(proxy.count("POST", LOGIN)).toBe(1);
      expect(proxy.count("POST", SIGN)).toBe(3);
    } finally {
      await proxy.close();
    }
  });

  it("renews a renewable token at two thirds of its lease, and not before", async () => {
    const proxy = await startCountingProxy(bao.address);
    const clock = drivenClock();
    try {
      const signer = await signerFor("signer", {
        overrides: { address: proxy.address },
        nowMs: clock.nowMs,
      });
      const sign = () => signer.signUserKey({ publicKey: key.publicKey, keyId: "renew" });

      await sign(); // the role's token_ttl: 20 minutes, renewable
      clock.advanceSeconds(790);
      await sign();
      const beforeTwoThirds = {
        logins: proxy.count("POST", LOGIN),
        renewals: proxy.count("POST", RENEW),
      };
      clock.advanceSeconds(20);
      await sign();

      expect(beforeTwoThirds).toEqual({ logins: 1, renewals: 0 });
      expect(proxy.count("POST", LOGIN)).toBe(1);
      expect(proxy.count("POST", RENEW)).toBe(1);
      expect(proxy.count("POST", SIGN)).toBe(3);
    } finally {
      await proxy.close();
    }
  });

  it("logs in again at two thirds of the lease when its token cannot be renewed", async () => {
    const proxy = await startCountingProxy(bao.address);
    const clock = drivenClock();
    try {
      const signer = await signerFor("batch", {
        overrides: { address: proxy.address },
        nowMs: clock.nowMs,
      });
      const sign = () => signer.signUserKey({ publicKey: key.publicKey, keyId: "batch" });

      await sign(); // a batch token: 20 minutes, never renewable
      clock.advanceSeconds(801);
      await sign();

      expect(proxy.count("POST", LOGIN)).toBe(2);
      expect(proxy.count("POST", RENEW)).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it("logs in again and retries once when Vault has revoked its cached token", async () => {
    const proxy = await startCountingProxy(bao.address);
    try {
      const signer = await signerFor("signer", { overrides: { address: proxy.address } });
      await signer.signUserKey({ publicKey: key.publicKey, keyId: "before-revoke" });
      const accessors = (await bao.root.json("LIST", "auth/token/accessors")) as {
        data: { keys: string[] };
      };
      for (const accessor of accessors.data.keys) {
        await bao.root.json("POST", "auth/token/revoke-accessor", { accessor });
      }

      const certificate = await signer.signUserKey({
        publicKey: key.publicKey,
        keyId: "after-revoke",
      });

      expect(readCertificate(certificate).keyId).toBe("after-revoke");
      expect(proxy.count("POST", LOGIN)).toBe(2);
      expect(proxy.count("POST", SIGN)).toBe(3); // the 403, then the retry
    } finally {
      await proxy.close();
    }
  });

  it("reads the host CA the operator configured, without sending a token", async () => {
    const proxy = await startCountingProxy(bao.address);
    try {
      const signer = await signerFor("denied", { overrides: { address: proxy.address } });

      const keys = await signer.hostCaKeys();

      expect(keys).toEqual([bao.hostCaPublicKey]);
      expect(proxy.calls).toEqual([
        {
          method: "GET",
          path: `/v1/${HOST_CA_MOUNT}/public_key`,
          namespace: NAMESPACE,
          authenticated: false,
        },
      ]);
    } finally {
      await proxy.close();
    }
  });

  describe("faults", () => {
    it("answers vault:denied when the token's policy lacks the signing path, after one fresh login", async () => {
      const proxy = await startCountingProxy(bao.address);
      try {
        const signer = await signerFor("denied", { overrides: { address: proxy.address } });
        const sign = () => signer.signUserKey({ publicKey: key.publicKey, keyId: "denied" });

        const fresh = await faultOf(sign);
        const loginsAfterFresh = proxy.count("POST", LOGIN);
        const cached = await faultOf(sign);

        expect(fresh.code).toBe("vault:denied");
        expect(fresh.message).toContain(`${USER_CA_MOUNT}/sign/${SIGN_ROLE} in namespace vor`);
        expect(fresh.message).toMatch(/fix: .*"update" on ssh-client-signer\/sign\/vor-bootstrap/);
        expect(fresh.cause).toEqual({ kind: "status", status: 403, errors: ["permission denied"] });
        expect(loginsAfterFresh).toBe(1); // a token just issued is not retried
        expect(cached.code).toBe("vault:denied");
        expect(proxy.count("POST", LOGIN)).toBe(2); // a cached one is, once
      } finally {
        await proxy.close();
      }
    });

    it("answers vault:secret-id when a single-use secret id is used by a second signer", async () => {
      const secretId = await bao.newSecretId({ numUses: 1 });
      const first = await signerFor("signer", { secretId });
      const second = await signerFor("signer", { secretId });

      await first.signUserKey({ publicKey: key.publicKey, keyId: "first" });
      const fault = await faultOf(() =>
        second.signUserKey({ publicKey: key.publicKey, keyId: "second" }),
      );

      expect(fault.code).toBe("vault:secret-id");
      expect(fault.message).toMatch(/^AppRole login failed: Vault at http:\/\/127\.0\.0\.1:\d+ /);
      expect(fault.message).toContain("bootstrap.vault.approle.secretId");
    });

    it("answers vault:timeout when Vault accepts the connection and never answers", async () => {
      const blackHole = await startBlackHole();
      try {
        const signer = new VaultSigner({
          config: bao.vaultConfig("signer", { address: blackHole.address }),
          secretId: () => Promise.resolve("never-sent-anywhere-useful"),
          timeoutMs: 300,
        });
        const startedMs = performance.now();

        const fault = await faultOf(() =>
          signer.signUserKey({ publicKey: key.publicKey, keyId: "hole" }),
        );

        expect(fault.code).toBe("vault:timeout");
        expect(fault.message).toContain("no answer within 300 ms");
        expect(performance.now() - startedMs).toBeLessThan(3_000);
      } finally {
        await blackHole.close();
      }
    });

    it("answers vault:sealed while Vault is sealed, for signing and for the host CA", async () => {
      const signer = await signerFor("signer");
      await signer.signUserKey({ publicKey: key.publicKey, keyId: "before-seal" });
      await bao.seal();
      try {
        const signing = await faultOf(() =>
          signer.signUserKey({ publicKey: key.publicKey, keyId: "sealed" }),
        );
        const login = await faultOf(async () =>
          (await signerFor("signer", { secretId: "any" })).signUserKey({
            publicKey: key.publicKey,
            keyId: "sealed-login",
          }),
        );
        const hostCa = await faultOf(() => signer.hostCaKeys());

        expect([signing.code, login.code, hostCa.code]).toEqual([
          "vault:sealed",
          "vault:sealed",
          "vault:sealed",
        ]);
        expect(signing.message).toMatch(/Vault is sealed; fix: unseal Vault/);
      } finally {
        await bao.unseal();
      }
    });

    it("keeps the token and the secret id out of every serialization of a fault", async () => {
      const tokens = new Set<string>();
      const secretId = await bao.newSecretId({ role: "denied" });
      const config = bao.vaultConfig("denied");
      const signer = await signerFor("denied", { secretId, http: recordingHttp(config, tokens) });

      const fault = await faultOf(() =>
        signer.signUserKey({ publicKey: key.publicKey, keyId: "x" }),
      );

      expect(tokens.size).toBe(1);
      const text = serialized(fault);
      for (const secret of [...tokens, secretId]) expect(text).not.toContain(secret);
      expect(text).not.toContain(key.publicKey.split(" ")[1]);
      expect(text).not.toMatch(/x-vault-token/i);
    });
  });

  describe("a stopped Vault", () => {
    it("answers vault:unreachable, and the fault holds none of the request that failed", async () => {
      const other = await startOpenBao();
      const tokens = new Set<string>();
      const secretId = await other.newSecretId();
      const config = other.vaultConfig("signer");
      const signer = new VaultSigner({
        config,
        hostCaMount: HOST_CA_MOUNT,
        secretId: () => Promise.resolve(secretId),
        http: recordingHttp(config, tokens),
      });
      await signer.signUserKey({ publicKey: key.publicKey, keyId: "before-stop" });
      await other.stop();

      const fault = await faultOf(() =>
        signer.signUserKey({ publicKey: key.publicKey, keyId: "after-stop" }),
      );

      expect(fault.code).toBe("vault:unreachable");
      expect(fault.message).toContain(`Vault at ${other.address}`);
      expect(fault.message).toMatch(/ECONNREFUSED.*fix: check bootstrap\.vault\.address/);
      expect(fault.cause).toEqual({ kind: "network", code: "ECONNREFUSED" });
      expect(tokens.size).toBe(1);
      const text = serialized(fault);
      for (const secret of [...tokens, secretId]) expect(text).not.toContain(secret);
    });
  });
});
