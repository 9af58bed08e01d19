import { describe, expect, it } from "vitest";
import { runCli } from "../../../bin/cli/program.ts";
import { memoryIo } from "../../support/cli-io.ts";
import { rawConfig, rawConfigWith } from "../../support/config-builder.ts";
import { tempConfigFile } from "../../support/temp-files.ts";

const office = {
  schedules: {
    office: {
      timezone: "UTC",
      periods: [{ begintime: "09:00", endtime: "17:00", weekdays: "mon-fri" }],
    },
    evenings: { timezone: "Europe/London", periods: [{ begintime: "18:00" }] },
  },
};

describe("vor-power config check", () => {
  it("prints the policy in plain words for a valid config and exits 0", async () => {
    const io = memoryIo();

    const code = await runCli(["config", "check", "--config", "examples/vor-power.yaml"], io);

    expect(code).toBe(0);
    const text = io.stdout.join("\n");
    expect(text).toContain("examples/vor-power.yaml: valid.");
    expect(text).toContain(
      "Pool compute: hosts tagged vor:pool=compute in aws eu-west-2; between 0 and 8 on",
    );
    expect(text).toContain("1 host while business-hours runs (Europe/London: mon-fri 07:00-19:00)");
    expect(text).toContain("4 hosts for nightly-batch");
    expect(text).toContain(
      "from 15m before each run (lead 10m + startup 5m) until 3h after it starts",
    );
  });

  it("lists every error with its path on stderr and exits 2", async () => {
    const file = tempConfigFile(
      rawConfigWith(["pools.compute.min", 9], ["cloud.region", "London"]),
    );
    const io = memoryIo();

    const code = await runCli(["config", "check", "--config", file], io);

    expect(code).toBe(2);
    expect(io.stderr[0]).toMatch(/: 2 errors; nothing was run\.$/);
    expect(io.stderr).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^ {2}error: pools\.compute\.min: expected min at most max \(8\), found 9; fix: /,
        ),
        expect.stringMatching(/^ {2}error: cloud\.region: expected an AWS region/),
      ]),
    );
    expect(io.stdout).toEqual([]);
  });

  it("gives the machine form with --json", async () => {
    const file = tempConfigFile(rawConfigWith(["pools.compute.max", "eight"]));
    const io = memoryIo();

    const code = await runCli(["config", "check", "--config", file, "--json"], io);

    expect(code).toBe(2);
    const report = JSON.parse(io.stdout.join("\n")) as {
      valid: boolean;
      errors: { path: string }[];
    };
    expect(report.valid).toBe(false);
    expect(report.errors.map((e) => e.path)).toContain("pools.compute.max");
  });

  it("exits 2 naming the file when it does not exist", async () => {
    const io = memoryIo();

    const code = await runCli(["config", "check", "--config", "/nonexistent/vor.yaml"], io);

    expect(code).toBe(2);
    expect(io.stderr.join("\n")).toContain("/nonexistent/vor.yaml, found no such file");
  });

  it("exits 2 when --config is missing", async () => {
    const io = memoryIo();

    expect(await runCli(["config", "check"], io)).toBe(2);
    expect(io.stderr.join("\n")).toContain("--config");
  });

  it("accepts a config written as JSON", async () => {
    const io = memoryIo();

    const code = await runCli(
      ["config", "check", "--config", tempConfigFile(JSON.stringify(rawConfig()), "c.json")],
      io,
    );

    expect(code).toBe(0);
  });
});

describe("vor-power schema", () => {
  it("prints the config's JSON Schema", async () => {
    const io = memoryIo();

    const code = await runCli(["schema", "config"], io);

    expect(code).toBe(0);
    const schema = JSON.parse(io.stdout.join("\n")) as {
      properties: Record<string, unknown>;
      additionalProperties: boolean;
    };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        "schedules",
        "runSchedules",
        "pools",
        "signals",
        "cloud",
        "state",
        "alerts",
        "consul",
        "bootstrap",
      ]),
    );
    expect(schema.additionalProperties).toBe(false);
  });

  it("exits 2 for a schema it does not know", async () => {
    expect(await runCli(["schema", "nonsense"], memoryIo())).toBe(2);
  });
});

describe("vor-power schedule eval", () => {
  it.each([
    ["2026-03-04T10:00:00Z", "running", "any"],
    ["2026-03-04T17:00:00Z", "stopped", "any"],
    ["2026-03-04T18:30:00+00:00", "stopped", "running"],
    ["2026-03-07T10:00:00Z", "stopped", "any"],
  ])("prints the contract's JSON at %s", async (at, office_, evenings) => {
    const io = memoryIo();

    const code = await runCli(
      ["schedule", "eval", "--config", tempConfigFile(office), "--at", at],
      io,
    );

    expect(code).toBe(0);
    expect(JSON.parse(io.stdout.join(""))).toEqual({
      at: new Date(at).toISOString().replace(".000Z", "Z"),
      schedules: { office: office_, evenings },
    });
  });

  it("echoes an instant given with an offset in UTC", async () => {
    const io = memoryIo();

    await runCli(
      ["schedule", "eval", "--config", tempConfigFile(office), "--at", "2026-03-04T12:00:00+02:00"],
      io,
    );

    expect(JSON.parse(io.stdout.join(""))).toMatchObject({ at: "2026-03-04T10:00:00Z" });
  });

  it("uses the clock when --at is not given", async () => {
    const io = memoryIo(new Date("2026-03-04T16:59:00Z"));

    await runCli(["schedule", "eval", "--config", tempConfigFile(office)], io);

    expect(JSON.parse(io.stdout.join(""))).toMatchObject({
      at: "2026-03-04T16:59:00Z",
      schedules: { office: "running" },
    });
  });

  it.each(["2026-03-04T10:00:00", "2026-03-04", "yesterday", "2026-02-30T10:00:00Z"])(
    "rejects --at %j with exit 2, naming the flag",
    async (at) => {
      const io = memoryIo();

      const code = await runCli(
        ["schedule", "eval", "--config", tempConfigFile(office), "--at", at],
        io,
      );

      expect(code).toBe(2);
      expect(io.stderr.join("\n")).toMatch(/^--at: expected an ISO instant with Z or an offset/);
    },
  );

  it("reads only the schedules section", async () => {
    const io = memoryIo();

    const code = await runCli(
      [
        "schedule",
        "eval",
        "--config",
        tempConfigFile({ ...office, pools: 42 }),
        "--at",
        "2026-03-04T10:00:00Z",
      ],
      io,
    );

    expect(code).toBe(0);
  });
});

describe("vor-power schedule preview", () => {
  it("lists on and off times in UTC and local time, and run-schedule firings", async () => {
    const io = memoryIo();

    const code = await runCli(
      [
        "schedule",
        "preview",
        "--config",
        "examples/vor-power.yaml",
        "--from",
        "2026-03-27T00:00:00Z",
        "--days",
        "4",
      ],
      io,
    );

    expect(code).toBe(0);
    const text = io.stdout.join("\n");
    // Friday 27 March (GMT), then Monday 30 March after clocks went forward (BST).
    expect(text).toMatch(
      /running +2026-03-27 07:00Z +2026-03-27 19:00Z +Fri 2026-03-27 07:00 \+00:00/,
    );
    expect(text).toMatch(
      /running +2026-03-30 06:00Z +2026-03-30 18:00Z +Mon 2026-03-30 07:00 \+01:00/,
    );
    expect(text).toMatch(/fires 2026-03-27 02:00Z +Fri 2026-03-27 02:00 \+00:00/);
    expect(text).toMatch(/fires 2026-03-30 01:00Z +Mon 2026-03-30 02:00 \+01:00/);
  });

  it("gives segments and firings as JSON with --json", async () => {
    const io = memoryIo();

    await runCli(
      [
        "schedule",
        "preview",
        "--config",
        "examples/vor-power.yaml",
        "--from",
        "2026-03-27T00:00:00Z",
        "--days",
        "1",
        "--json",
      ],
      io,
    );

    const preview = JSON.parse(io.stdout.join("\n")) as {
      schedules: Record<string, { segments: { state: string; from: string; to: string }[] }>;
      runSchedules: Record<string, { firings: { at: string }[] }>;
    };
    expect(
      preview.schedules["business-hours"]?.segments.map((s) => [s.state, s.from, s.to]),
    ).toEqual([
      ["stopped", "2026-03-27T00:00:00Z", "2026-03-27T07:00:00Z"],
      ["running", "2026-03-27T07:00:00Z", "2026-03-27T19:00:00Z"],
      ["stopped", "2026-03-27T19:00:00Z", "2026-03-28T00:00:00Z"],
    ]);
    expect(preview.runSchedules["nightly-batch"]?.firings.map((f) => f.at)).toEqual([
      "2026-03-27T02:00:00Z",
    ]);
  });

  it.each(["0", "400", "seven"])("rejects --days %s with exit 2", async (days) => {
    const io = memoryIo();

    expect(
      await runCli(
        ["schedule", "preview", "--config", "examples/vor-power.yaml", "--days", days],
        io,
      ),
    ).toBe(2);
    expect(io.stderr.join("\n")).toContain("--days");
  });
});
