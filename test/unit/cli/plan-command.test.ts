import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../bin/cli/program.ts";
import { planSchema, snapshotSchema } from "../../../shared/plan/index.ts";
import { memoryIo } from "../../support/cli-io.ts";
import { tempConfigFile } from "../../support/temp-files.ts";

const config = "examples/vor-power.yaml";

async function planOf(snapshot: string, ...extra: string[]) {
  const io = memoryIo();
  const code = await runCli(
    ["plan", "--config", config, "--snapshot", snapshot, "--json", ...extra],
    io,
  );
  return { code, plan: planSchema.parse(JSON.parse(io.stdout.join("\n"))) };
}

describe("vor-power plan", () => {
  it.each([
    ["quiet-night", "scale-in.idle", "i-0a1"],
    ["quiet-night", "scale-in.stop", "i-0a2"],
    ["morning-burst", "scale-out.pending", "i-0a3"],
    ["failed-signal", "freeze.blind", "i-0a2"],
    ["failing-host", "quarantine.attempts", "i-0a3"],
    ["failing-host", "bootstrap.blocked", "i-0a4"],
  ])("shows %s deciding %s for %s", async (name, rule, hostId) => {
    const { code, plan } = await planOf(`examples/snapshots/${name}.json`);

    expect(code).toBe(0);
    expect(plan.decisions).toContainEqual(expect.objectContaining({ rule, host: hostId }));
  });

  it("plans at the snapshot's observedAt unless --at is given", async () => {
    const observed = await planOf("examples/snapshots/quiet-night.json");
    const later = await planOf(
      "examples/snapshots/quiet-night.json",
      "--at",
      "2026-03-05T01:45:00Z",
    );

    expect(observed.plan.at).toBe("2026-03-04T23:30:00.000Z");
    expect(later.plan.decisions[0]).toMatchObject({
      rule: "pool.scale-out",
      numbers: { floor: 4 },
    });
  });

  it("prints a table with the pool's numbers and every decision", async () => {
    const io = memoryIo();

    const code = await runCli(
      ["plan", "--config", config, "--snapshot", "examples/snapshots/morning-burst.json"],
      io,
    );

    expect(code).toBe(0);
    const text = io.stdout.join("\n");
    expect(text).toContain("pool compute: desired 8, demand 8, floor 1, capacity 2");
    expect(text).toMatch(/start +scale-out\.pending +i-0a3 +compute wants 8, has 2: starting/);
    expect(text).toMatch(
      /none +scale-out\.limited +- +2 more hosts wanted than started this tick: maxStartsPerTick 4/,
    );
  });

  it("rejects a snapshot with an unknown field, naming it, with exit 2", async () => {
    const snapshot = tempConfigFile(
      JSON.stringify({ observedAt: "2026-03-04T10:00:00Z", pools: { compute: { hosst: [] } } }),
      "s.json",
    );
    const io = memoryIo();

    const code = await runCli(["plan", "--config", config, "--snapshot", snapshot], io);

    expect(code).toBe(2);
    expect(io.stderr.join("\n")).toMatch(/pools\.compute\.hosst: .*did you mean "hosts"\?/);
  });

  it("exits 2 naming --config when there is no config to plan with", async () => {
    const io = memoryIo();

    expect(await runCli(["plan"], io)).toBe(2);
    expect(io.stderr.join("\n")).toContain("--config");
  });
});

describe("vor-power schema snapshot|decision|plan", () => {
  it("matches the committed snapshot schema the examples point at", async () => {
    const io = memoryIo();

    await runCli(["schema", "snapshot"], io);

    expect(JSON.parse(io.stdout.join("\n"))).toEqual(
      JSON.parse(readFileSync("examples/vor-power.snapshot.schema.json", "utf8")),
    );
  });

  it.each(["decision", "plan"])("prints the %s schema", async (which) => {
    const io = memoryIo();

    expect(await runCli(["schema", which], io)).toBe(0);
    expect(JSON.parse(io.stdout.join("\n"))).toHaveProperty("properties");
  });

  it("ships example snapshots that validate", () => {
    for (const name of ["quiet-night", "morning-burst", "failed-signal", "failing-host"]) {
      expect(
        snapshotSchema.safeParse(
          JSON.parse(readFileSync(`examples/snapshots/${name}.json`, "utf8")),
        ).success,
      ).toBe(true);
    }
  });
});
