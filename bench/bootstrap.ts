// The whole bootstrap of one host on loopback, through the production code path: ChannelBootstrap
// (as PoolBootstrap builds it) with the SSH channel, a VaultSigner on a real OpenBao, a real
// OpenSSH sshd whose playpen is a tmpfs in its own mount namespace, and the playpen check. Each
// sample is one bootstrap with a new signer (a cold Lambda: AppRole login first), run through
// `diagnose` so every part reports its time: login, signing, host verification, SSH login, the
// access command and the playpen script (each SSH run signs, verifies and logs in anew). Then
// `begin` once, to show the same path records a pass. Goal: under 1 s p95. Loopback hides the
// network: on AWS add the round trips to Vault and to the host. Needs root, unshare and OpenBao.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { TraceEntry } from "../shared/bootstrap/bootstrap-trace.ts";
import { ChannelBootstrap } from "../shared/bootstrap/channel-bootstrap.ts";
import { playpenChecks } from "../shared/bootstrap/playpen-check.ts";
import { SshChannel, type SshConfig } from "../shared/bootstrap/ssh-channel.ts";
import { VaultSigner } from "../shared/bootstrap/vault-signer.ts";
import { parseConfig } from "../shared/config/index.ts";
import type { HostSnapshot } from "../shared/plan/snapshot.ts";
import { MemoryStateStore } from "../shared/state/memory-state-store.ts";
import { rawConfigWith } from "../test/support/config-builder.ts";
import { canUnshare } from "../test/support/mount-namespace.ts";
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
import { percentile } from "./stats.ts";

const SAMPLES = 30;
const WARMUP = 3;
const MARKER = { file: ".vor-playpen", content: "vor-bench" };

/** The parts of one bootstrap, in milliseconds, from its trace and its wall time. */
function partsOf(entries: readonly TraceEntry[], totalMs: number): Record<string, number> {
  const ms = (e: TraceEntry | undefined) => e?.durationMs ?? 0;
  const accessAt = entries.findIndex((e) => e.step === "access");
  const sum = (step: string, from: number, to: number) =>
    entries
      .slice(from, to)
      .filter((e) => e.step === step)
      .reduce((total, e) => total + ms(e), 0);
  const channelParts = (from: number, to: number) =>
    sum("vault-login", from, to) +
    sum("vault-sign", from, to) +
    sum("host-key", from, to) +
    sum("ssh-login", from, to);
  const playpenAt = entries.findIndex((e) => e.step === "playpen");
  const playpen = entries[playpenAt];
  const parts = {
    "AppRole login": sum("vault-login", 0, entries.length),
    "signing (2 keys)": sum("vault-sign", 0, entries.length),
    "host verification (2 probes)": sum("host-key", 0, entries.length),
    "SSH login (2 sessions)": sum("ssh-login", 0, entries.length),
    "`id -un` and its session's end": ms(entries[accessAt]) - channelParts(0, accessAt),
    "playpen script and its session's end": ms(playpen) - channelParts(accessAt + 1, playpenAt),
  };
  const known = Object.values(parts).reduce((a, b) => a + b, 0);
  return { ...parts, "the rest (host listing, bookkeeping)": totalMs - known, whole: totalMs };
}

if (!openBaoInstalled() || !existsSync(SSHD) || !canUnshare()) {
  console.log(
    "bootstrap: skipped (needs OpenBao in .venv, /usr/sbin/sshd, root and unshare; run scripts/setup-test-env.sh as root)",
  );
  process.exit(0);
}

const user = await createTestUser();
const bao = await startOpenBao({ allowedUsers: [PRINCIPAL, user.name] });
const playpen = await mkdtemp(join(tmpdir(), "vor-bench-playpen-"));
const sshd = await startSshd({
  userCaKey: bao.userCaPublicKey,
  user: user.name,
  hostCertificate: (publicKey) => bao.signHostKey(publicKey, HOST_PRINCIPALS),
  mountSetup: [
    `mount -t tmpfs -o size=1m,mode=1777 vor-playpen '${playpen}'`,
    `printf '%s\\n' '${MARKER.content}' > '${playpen}/${MARKER.file}'`,
    `chmod 644 '${playpen}/${MARKER.file}'`,
  ].join("\n"),
});
try {
  const secretId = await bao.newSecretId();
  const parsed = parseConfig(
    rawConfigWith(
      ["pools", { compute: { min: 0, max: 2, channel: "ssh" } }],
      [
        "bootstrap.playpens",
        [
          {
            path: playpen,
            fsTypes: ["tmpfs"],
            source: "vor-playpen",
            runAs: user.name,
            marker: MARKER,
          },
        ],
      ],
    ),
  );
  if (!parsed.ok) throw new Error(`bad bench config: ${JSON.stringify(parsed.errors)}`);
  const config = parsed.config;
  const vault = bao.vaultConfig("signer", {
    sign: { mount: USER_CA_MOUNT, role: SIGN_ROLE, principals: [user.name], ttl: 5 * 60_000 },
  });
  const ssh: SshConfig = {
    user: user.name,
    port: 22,
    address: "tag:vor:ssh",
    hostKey: { mode: "ca", mount: HOST_CA_MOUNT },
  };
  const host: HostSnapshot = {
    id: "i-0bench",
    cloudState: "running",
    tags: { "vor:pool": "compute", "vor:ssh": `${sshd.host}:${sshd.port}` },
  };
  const store = new MemoryStateStore();
  /** A bootstrap step as PoolBootstrap builds it, with a new signer: a cold start. */
  const coldBootstrap = () =>
    new ChannelBootstrap({
      config,
      store,
      compute: { listHosts: () => Promise.resolve([host]) },
      channelFor: () =>
        new SshChannel({
          ssh,
          signer: new VaultSigner({
            config: vault,
            hostCaMount: HOST_CA_MOUNT,
            secretId: () => Promise.resolve(secretId),
          }),
        }),
      checks: playpenChecks(config.bootstrap.playpens, (line) => console.log(`  ${line}`)),
      owner: "bench",
      log: () => undefined,
    });

  let runs = 0;
  const once = async (): Promise<Record<string, number>> => {
    const entries: TraceEntry[] = [];
    const t0 = performance.now();
    const { results } = await coldBootstrap().diagnose(
      "compute",
      host.id,
      { reference: false, trace: (entry) => entries.push(entry) },
      new Date(Date.UTC(2026, 2, 4, 10, 0, ++runs)),
    );
    const total = performance.now() - t0;
    const verdict = results.at(-1);
    if (verdict?.code !== "ok") throw new Error(`the bootstrap failed: ${JSON.stringify(verdict)}`);
    return partsOf(entries, total);
  };

  console.log(
    `bootstrap: OpenBao ${bao.address} (namespace ${NAMESPACE}), sshd 127.0.0.1:${sshd.port} with a tmpfs playpen in its own mount namespace; ${SAMPLES} samples after ${WARMUP} warm-ups, a new signer each (AppRole login first)`,
  );
  for (let i = 0; i < WARMUP; i++) await once();
  const samples: Record<string, number>[] = [];
  for (let i = 0; i < SAMPLES; i++) samples.push(await once());

  const wholeSum = samples.reduce((total, s) => total + (s.whole ?? 0), 0);
  const ms = (x: number) => `${x.toFixed(1).padStart(8)} ms`;
  console.log(
    `  ${"".padEnd(40)}${"median".padStart(11)}${"p95".padStart(11)}${"max".padStart(11)}${"share".padStart(8)}`,
  );
  for (const part of Object.keys(samples[0] ?? {})) {
    const values = samples.map((s) => s[part] ?? 0).sort((a, b) => a - b);
    const share = values.reduce((a, b) => a + b, 0) / wholeSum;
    console.log(
      `  ${part.padEnd(40)}${ms(percentile(values, 50))}${ms(percentile(values, 95))}${ms(values.at(-1) ?? Number.NaN)}${`${(share * 100).toFixed(0)}%`.padStart(8)}`,
    );
  }

  // The same path as the tick's bootstrap step: claimed, run, recorded.
  await coldBootstrap().begin("compute", host.id, { reference: false }, new Date());
  const recorded = (await store.readPool("compute")).bootstrapResults[host.id]?.at(-1);
  console.log(
    `  begin() recorded: ${recorded?.step ?? "?"} ${recorded?.outcome ?? "?"} (${recorded?.code ?? "?"})`,
  );
} finally {
  await sshd.stop();
  await bao.stop();
  await user.remove();
  await rm(playpen, { recursive: true, force: true });
}
