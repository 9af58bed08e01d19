import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

// The real binary as a newcomer runs it: `npx vor-power`, on the project's Node 22.
async function vorPower(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("npx", ["--no-install", "vor-power", ...args], {
      encoding: "utf8",
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

describe("npx vor-power", () => {
  it("runs on Node 22 and prints help", async () => {
    const result = await vorPower("--help");

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: vor-power");
    expect(result.stdout).toContain("schedule");
  });

  it("checks the example config and exits 0", async () => {
    const result = await vorPower("config", "check", "--config", "examples/vor-power.yaml");

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Pool compute");
  });

  it("exits 2 on a bad flag value", async () => {
    const result = await vorPower(
      "schedule",
      "eval",
      "--config",
      "examples/vor-power.yaml",
      "--at",
      "noon",
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--at");
  });

  it("exits 2 on an unknown command", async () => {
    expect((await vorPower("frobnicate")).code).toBe(2);
  });
});

describe("the project's Node", () => {
  it("is Node 22 or newer under npx, whatever the machine's own Node is", async () => {
    const { stdout } = await run("npx", ["--no-install", "node", "--version"], {
      encoding: "utf8",
    });

    expect(Number(stdout.trim().replace(/^v/, "").split(".")[0])).toBeGreaterThanOrEqual(22);
  });
});
