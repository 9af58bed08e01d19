import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, missing, waitFor } from "./services.ts";
import { SSH_KEYGEN, sshKeygenInstalled } from "./test-ca.ts";

// A real OpenSSH server on a free loopback port for the SSH channel's tests. It trusts one user CA
// alone (TrustedUserCAKeys; no authorized_keys, no passwords), so only a certificate naming the
// login user gets in, and it presents a host certificate from whichever CA the test hands it (the
// Vault host signer, a wrong CA, or none at all). The login user is a fresh local account per test
// file, removed afterwards, so runs never share or leave behind an account.

const run = promisify(execFile);
export const SSHD = "/usr/sbin/sshd";

export interface SshdOptions {
  /** the user CA sshd trusts: one OpenSSH public key line */
  userCaKey: string;
  /** the account allowed in (AllowUsers) */
  user: string;
  /** signs the host key's public line; without it sshd presents a plain host key only */
  hostCertificate?: (publicKey: string) => Promise<string>;
  /** the loopback port to listen on; a free one by default */
  port?: number;
  /**
   * A shell script run as root, under `set -e`, in a private mount namespace made for this sshd
   * just before it starts (`unshare -m --propagation private`): what it mounts is what the
   * sessions see, as on a host of its own, and it vanishes with sshd. Needs canUnshare().
   */
  mountSetup?: string;
}

export interface Sshd {
  host: "127.0.0.1";
  port: number;
  /** the plain host key's OpenSSH line (what a pinned key would hold) */
  hostKey: string;
  /** the host certificate's OpenSSH line, when one was made */
  hostCertificate: string | undefined;
  /** what sshd wrote to stderr so far (-e), for failing tests to show */
  log(): string;
  /**
   * Runs a shell script as root in sshd's mount namespace (nsenter), to change what its sessions
   * see from now on (with mountSetup); rejects when it exits non-zero.
   */
  inNamespace(script: string): Promise<void>;
  stop(): Promise<void>;
}

/** Whether sshd can run here; says loudly what is missing (a failure under CI=true). */
export function sshdUnavailable(): boolean {
  if (!existsSync(SSHD) || !sshKeygenInstalled())
    return missing("OpenSSH server (/usr/sbin/sshd, ssh-keygen)", "apt-get install openssh-server");
  if (process.getuid?.() !== 0)
    return missing("root (to create a test login user and run sshd)", "run the SSH tests as root");
  return false;
}

export interface TestUser {
  name: string;
  /** deletes the account and its home; idempotent */
  remove(): Promise<void>;
}

/**
 * A new local account, `vor-t-<random>`. useradd leaves the password field "!" (locked), and a
 * locked account is refused even with a valid certificate (UsePAM no), so it becomes "*": no
 * password can match it, and the account is not locked.
 */
export async function createTestUser(): Promise<TestUser> {
  const name = `vor-t-${randomBytes(4).toString("hex")}`;
  await run("useradd", ["-m", "-s", "/bin/sh", name]);
  await run("usermod", ["-p", "*", name]);
  let removed = false;
  return {
    name,
    remove: async () => {
      if (removed) return;
      removed = true;
      await run("userdel", ["-r", name]).catch(() => undefined);
    },
  };
}

async function answersSsh(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("data", (chunk: Buffer) => {
      socket.destroy();
      resolve(chunk.toString("latin1").startsWith("SSH-2.0-"));
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * OpenSSH 9.8 and later penalise a source address for connections that fail to log in, or never
 * try (PerSourcePenalties): the refusal tests, the host-key probe and the benchmark all come from
 * 127.0.0.1 and would soon be shut out, so such a server is told not to. Older ones lack the option
 * and refuse a config naming it.
 */
async function penaltyOptions(): Promise<string[]> {
  const { stderr } = await run(SSHD, ["-V"]).catch((error: unknown) => ({
    stderr: error instanceof Error && "stderr" in error ? String(error.stderr) : "",
  }));
  const version = /OpenSSH_(\d+)\.(\d+)/.exec(stderr);
  const [major, minor] = [Number(version?.[1] ?? 0), Number(version?.[2] ?? 0)];
  return major > 9 || (major === 9 && minor >= 8) ? ["PerSourcePenalties no"] : [];
}

export async function startSshd(options: SshdOptions): Promise<Sshd> {
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 }); // privilege separation
  const dir = await mkdtemp(join(tmpdir(), "vor-power-sshd-"));
  const hostKeyPath = join(dir, "ssh_host_ed25519_key");
  await run(SSH_KEYGEN, ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", hostKeyPath]);
  const hostKey = (await readFile(`${hostKeyPath}.pub`, "utf8")).trim();
  const hostCertificate = await options.hostCertificate?.(hostKey);
  if (hostCertificate !== undefined)
    await writeFile(`${hostKeyPath}-cert.pub`, `${hostCertificate}\n`);
  const userCaFile = join(dir, "trusted-user-ca.pub");
  await writeFile(userCaFile, `${options.userCaKey}\n`);

  const port = options.port ?? (await freePort());
  const config = join(dir, "sshd_config");
  await writeFile(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKeyPath}`,
      ...(hostCertificate === undefined ? [] : [`HostCertificate ${hostKeyPath}-cert.pub`]),
      `TrustedUserCAKeys ${userCaFile}`,
      "AuthorizedKeysFile none",
      "AuthorizedPrincipalsFile none",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      `AllowUsers ${options.user}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "StrictModes no",
      "LogLevel VERBOSE",
      ...(await penaltyOptions()),
      "",
    ].join("\n"),
  );

  let log = "";
  const sshd = [SSHD, "-D", "-e", "-f", config];
  // unshare and sh exec, so the child's pid is sshd's (its signals reach sshd, and nsenter finds
  // the namespace through it).
  const child =
    options.mountSetup === undefined
      ? spawn(SSHD, sshd.slice(1), { stdio: ["ignore", "ignore", "pipe"] })
      : spawn(
          "unshare",
          [
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            `set -e\n${options.mountSetup}\nexec "$@"`,
            "sh",
            ...sshd,
          ],
          { stdio: ["ignore", "ignore", "pipe"] },
        );
  child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => answersSsh(port), 10_000, `sshd on 127.0.0.1:${port}`);
  } catch (error) {
    await stop();
    throw new Error(`sshd did not start: ${log}`, { cause: error });
  }
  const inNamespace = async (script: string) => {
    const pid = child.pid;
    if (pid === undefined) throw new Error("sshd has no pid");
    await run("nsenter", ["-t", String(pid), "-m", "sh", "-c", `set -e\n${script}`]);
  };
  return { host: "127.0.0.1", port, hostKey, hostCertificate, log: () => log, inNamespace, stop };
}
