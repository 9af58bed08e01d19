// Host access on loopback: what one SSH bootstrap costs before its checks run. A real OpenBao
// (AppRole in the namespace `vor`, the SSH signer) and a real OpenSSH sshd trusting OpenBao's
// user CA, as in test/integration/ssh-channel.test.ts. Prints median and p95 over SAMPLES runs of
// each part, then of the whole SshChannel.run with a signer already logged in (a warm Lambda)
// and with a new one (a cold start: login first). Loopback hides the network: on AWS add the
// round trips to Vault and to the host. Needs root (a test login user, sshd) and OpenBao.
import { performance } from "node:perf_hooks";
import { generateEphemeralKey } from "../shared/bootstrap/ephemeral-key.ts";
import { probeHostCertificate } from "../shared/bootstrap/host-key-probe.ts";
import { parsePublicKeyLine } from "../shared/bootstrap/ssh-keys.ts";
import { CertificateAgent } from "../shared/bootstrap/ssh-cert-agent.ts";
import { SshChannel, type SshConfig } from "../shared/bootstrap/ssh-channel.ts";
import { runSession } from "../shared/bootstrap/ssh-session.ts";
import { createNodeVaultHttp } from "../shared/bootstrap/vault-http.ts";
import { VaultSigner } from "../shared/bootstrap/vault-signer.ts";
import {
  HOST_CA_MOUNT,
  HOST_PRINCIPALS,
  NAMESPACE,
  PRINCIPAL,
  SIGN_ROLE,
  USER_CA_MOUNT,
  openBaoInstalled,
  startOpenBao,
} from "../test/support/openbao.ts";
import { SSHD, createTestUser, startSshd } from "../test/support/sshd.ts";
import { existsSync } from "node:fs";
import { percentile } from "./stats.ts";

const SAMPLES = 30;
const WARMUP = 3;
const TIMEOUT_MS = 15_000;

async function measure(label: string, once: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < WARMUP; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = (x: number) => `${x.toFixed(1).padStart(8)} ms`;
  console.log(
    `  ${label.padEnd(58)}${ms(percentile(times, 50))}${ms(percentile(times, 95))}${ms(times[0] ?? Number.NaN)}${ms(times.at(-1) ?? Number.NaN)}`,
  );
}

if (!openBaoInstalled() || !existsSync(SSHD) || process.getuid?.() !== 0) {
  console.log(
    "host-access: skipped (needs OpenBao in .venv, /usr/sbin/sshd and root; run scripts/setup-test-env.sh as root)",
  );
  process.exit(0);
}

const user = await createTestUser();
const bao = await startOpenBao({ allowedUsers: [PRINCIPAL, user.name] });
const sshd = await startSshd({
  userCaKey: bao.userCaPublicKey,
  user: user.name,
  hostCertificate: (publicKey) => bao.signHostKey(publicKey, HOST_PRINCIPALS),
});
try {
  const secretId = await bao.newSecretId();
  const vault = bao.vaultConfig("signer", {
    sign: { mount: USER_CA_MOUNT, role: SIGN_ROLE, principals: [user.name], ttl: 5 * 60_000 },
  });
  const newSigner = () =>
    new VaultSigner({
      config: vault,
      hostCaMount: HOST_CA_MOUNT,
      secretId: () => Promise.resolve(secretId),
    });
  const ssh: SshConfig = {
    user: user.name,
    port: 22,
    address: "tag:vor:ssh",
    hostKey: { mode: "ca", mount: HOST_CA_MOUNT },
  };
  const host = {
    id: "i-0bench",
    pool: "compute",
    tags: { "vor:ssh": `${sshd.host}:${sshd.port}` },
  };
  const endpoint = { host: sshd.host, port: sshd.port };
  const http = createNodeVaultHttp({
    address: bao.address,
    namespace: NAMESPACE,
    timeoutMs: TIMEOUT_MS,
  });
  const warmSigner = newSigner();
  const warmChannel = new SshChannel({ ssh, signer: warmSigner });
  let runs = 0;
  const runId = () => `vor-power/i-0bench/${++runs}`;

  console.log(
    `host-access: OpenBao ${bao.address} (namespace ${NAMESPACE}), sshd 127.0.0.1:${sshd.port}; ${SAMPLES} samples after ${WARMUP} warm-ups`,
  );
  console.log(
    `  ${"".padEnd(58)}${"median".padStart(11)}${"p95".padStart(11)}${"min".padStart(11)}${"max".padStart(11)}`,
  );

  await measure("AppRole login (POST auth/approle/login)", () =>
    http.call({
      method: "POST",
      path: "auth/approle/login",
      body: { role_id: vault.approle.roleId, secret_id: secretId },
    }),
  );
  await measure("ephemeral ed25519 key", () => Promise.resolve(generateEphemeralKey()));
  await measure("sign the key (token cached)", () =>
    warmSigner.signUserKey({ publicKey: generateEphemeralKey().publicKeyLine, keyId: runId() }),
  );
  await measure("read the host CA (GET ssh-host-signer/public_key)", () => warmSigner.hostCaKeys());
  await measure("probe the host certificate (KEX, signature checked)", () =>
    probeHostCertificate(endpoint, { timeoutMs: TIMEOUT_MS }),
  );

  const key = generateEphemeralKey();
  const certificate = await warmSigner.signUserKey({
    publicKey: key.publicKeyLine,
    keyId: runId(),
  });
  const hostKey = parsePublicKeyLine(sshd.hostKey);
  await measure("SSH connect, certificate login, run `true`", () =>
    runSession({
      endpoint,
      user: user.name,
      agent: new CertificateAgent(certificate, key),
      hostKeys: [hostKey.blob],
      hostKeyTypes: [hostKey.type],
      script: "true",
      timeoutMs: TIMEOUT_MS,
    }),
  );

  await measure("SshChannel.run `id -un`, signer logged in (warm)", () =>
    warmChannel.run(host, "id -un", { timeoutMs: TIMEOUT_MS, runId: runId() }),
  );
  await measure("SshChannel.run `id -un`, new signer: login first (cold)", () =>
    new SshChannel({ ssh, signer: newSigner() }).run(host, "id -un", {
      timeoutMs: TIMEOUT_MS,
      runId: runId(),
    }),
  );
} finally {
  await sshd.stop();
  await bao.stop();
  await user.remove();
}
