import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, missing, waitFor } from "./services.ts";
import { sshKeygenInstalled, type TestCa } from "./test-ca.ts";

// A real OpenSSH server on a free loopback port for the SSH channel's tests: its host key carries
// a certificate from the test host CA, and it trusts the test user CA alone (no authorized_keys,
// no passwords), so only a certificate naming the user gets in.

const run = promisify(execFile);
export const SSHD = "/usr/sbin/sshd";
export const SSH_USER = "vor-bootstrap";

export interface Sshd {
  host: "127.0.0.1";
  port: number;
  /** the plain host key's OpenSSH line (what a pinned key would hold) */
  hostKey: string;
  /** the host certificate's OpenSSH line */
  hostCertificate: string;
  /** what sshd wrote to stderr so far (-e), for failing tests to show */
  log(): string;
  stop(): Promise<void>;
}

/** Whether sshd can run here; says loudly what is missing (a failure under CI=true). */
export function sshdUnavailable(): boolean {
  if (!existsSync(SSHD) || !sshKeygenInstalled())
    return missing("OpenSSH server (/usr/sbin/sshd, ssh-keygen)", "apt-get install openssh-server");
  if (process.getuid?.() !== 0)
    return missing(
      "root (to create the vor-bootstrap user and run sshd)",
      "run the SSH tests as root",
    );
  return false;
}

/**
 * The login user. A locked password ("!") makes sshd refuse even certificates (UsePAM no), so
 * the password field is "*": no password can match, and the account is not locked.
 */
async function ensureUser(user: string): Promise<void> {
  const exists = await run("id", ["-u", user]).then(
    () => true,
    () => false,
  );
  if (!exists) await run("useradd", ["-m", "-s", "/bin/sh", user]);
  await run("usermod", ["-p", "*", user]);
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

export async function startSshd(
  ca: TestCa,
  options: { hostPrincipals?: readonly string[] } = {},
): Promise<Sshd> {
  await ensureUser(SSH_USER);
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 }); // privilege separation
  const hostKeyFile = await ca.newKeyFile("ssh_host_ed25519_key");
  const hostCertificate = await ca.signHostKey(hostKeyFile.publicKey, {
    principals: options.hostPrincipals ?? ["127.0.0.1", "localhost"],
  });
  await writeFile(`${hostKeyFile.path}-cert.pub`, `${hostCertificate}\n`);
  const userCaFile = join(ca.dir, "trusted-user-ca.pub");
  await writeFile(userCaFile, `${ca.userCaKey}\n`);

  const port = await freePort();
  const config = join(ca.dir, "sshd_config");
  await writeFile(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKeyFile.path}`,
      `HostCertificate ${hostKeyFile.path}-cert.pub`,
      `TrustedUserCAKeys ${userCaFile}`,
      "AuthorizedKeysFile none",
      "AuthorizedPrincipalsFile none",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      `AllowUsers ${SSH_USER}`,
      `PidFile ${join(ca.dir, "sshd.pid")}`,
      "StrictModes no",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );

  let log = "";
  const child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await waitFor(() => answersSsh(port), 10_000, `sshd on 127.0.0.1:${port}`);
  } catch (error) {
    child.kill("SIGTERM");
    throw new Error(`sshd did not start: ${log}`, { cause: error });
  }
  return {
    host: "127.0.0.1",
    port,
    hostKey: hostKeyFile.publicKey,
    hostCertificate,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
