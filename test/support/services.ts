import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";

// Real services for integration tests: each test file starts what it needs, or finds it running.
// When a service is missing the tests skip with a loud line, except under CI=true, where a missing
// service is a failure (CI must prove every service-backed test ran).

export const CI = process.env.CI === "true";

/** Says loudly what is missing; returns true when the tests should skip (never under CI). */
export function missing(what: string, fix: string): boolean {
  const line = `!!! ${what} is missing: ${fix}`;
  if (CI) throw new Error(`${line} (CI=true: nothing may skip)`);
  console.warn(`${line}. SKIPPING the tests that need it.`);
  return true;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** Polls `check` until it resolves true or `timeoutMs` passes (never a blind sleep). */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface Moto {
  endpoint: string;
  stop(): Promise<void>;
}

const MOTO_PYTHON = ".venv/bin/python";
const MOTO_SERVER = "test/support/moto_server.py";

/** Whether the moto server is installed (scripts/setup-test-env.sh puts it in .venv). */
export const motoInstalled = (): boolean => existsSync(".venv/bin/moto_server");

/** Starts a moto server on a free loopback port; resolves once it answers. */
export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  // One request at a time (see moto_server.py): DynamoDB's conditional writes are atomic, and
  // moto's threaded server's are not.
  const child: ChildProcess = spawn(MOTO_PYTHON, [MOTO_SERVER, "127.0.0.1", String(port)], {
    stdio: "ignore",
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => (await fetch(`${endpoint}/moto-api/`)).ok,
    30_000,
    `moto on ${endpoint}`,
  );
  return {
    endpoint,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Credentials and region for SDK clients pointed at moto (it accepts any). */
export const MOTO_CLIENT = {
  region: "eu-west-2",
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
} as const;
