import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli/program.ts";
import { loadConfig, type Config } from "../../shared/config/index.ts";
import { FAULT_NAMES, NO_FAULTS, faultSettings } from "../../shared/sim/faults.ts";
import { WORLD_DEFAULTS, simulate, type SimulationResult } from "../../shared/sim/simulate.ts";
import { generateTrace } from "../../shared/sim/trace-generate.ts";
import type { PolicySummary, Report } from "../../shared/sim/types.ts";
import { reportSchema } from "../../shared/sim/report-schema.ts";
import { memoryIo } from "../support/cli-io.ts";
import { HOUR_MS, utc } from "../support/sim-builders.ts";

// `vor-power simulate` end to end (DESIGN.md, "The simulator"): the built-in example config and
// generated trace over 2 days (about 2 s a run), report.json's shape and the table beside it,
// vor-power's behaviour with and without faults, bad input, and once the default 14 days against
// DESIGN.md's target.

/** The CLI's default start: a Monday leading into January's month end. */
const CLI_START = utc("2026-01-19T00:00");
const DAYS = 2;

/** report.json's policy fields, in DESIGN.md's order. */
const POLICY_FIELDS = [
  "name",
  "hostHours",
  "cost",
  "savingsVsAlwaysOn",
  "costVsOracle",
  "waitMeanMin",
  "waitP50Min",
  "waitP95Min",
  "waitMaxMin",
  "runsWaited",
  "runsWaitedLong",
  "starts",
  "stops",
  "runsKilled",
];

/** The terminal table's headers and the report.json field each column shows. */
const TABLE_COLUMNS: Record<string, keyof PolicySummary> = {
  cost: "cost",
  "saved vs always-on": "savingsVsAlwaysOn",
  "cost vs oracle": "costVsOracle",
  "host-hours": "hostHours",
  "mean wait min": "waitMeanMin",
  "p95 wait min": "waitP95Min",
  "max wait min": "waitMaxMin",
  waited: "runsWaited",
  "waited >10m": "runsWaitedLong",
  starts: "starts",
  stops: "stops",
  killed: "runsKilled",
};

const tempDir = (): string => mkdtempSync(join(tmpdir(), "vor-power-simulate-"));

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = memoryIo();
  const code = await runCli(argv, io);
  return { code, stdout: io.stdout.join("\n"), stderr: io.stderr.join("\n") };
}

async function exampleConfig(): Promise<Config> {
  const result = await loadConfig("examples/vor-power.yaml");
  if (!result.ok) throw new Error(`the example config is invalid: ${JSON.stringify(result)}`);
  return result.config;
}

/** What `vor-power simulate --days 2 --seed SEED [--faults all]` runs, with the worlds kept. */
async function simulateLikeCli(seed: number, faults: "none" | "all"): Promise<SimulationResult> {
  const config = await exampleConfig();
  return simulate({
    config,
    trace: generateTrace({ config, start: CLI_START, days: DAYS, seed }),
    traceName: "built-in",
    settings: { ...WORLD_DEFAULTS, days: DAYS, seed, start: CLI_START },
    faults: faults === "all" ? faultSettings(FAULT_NAMES) : NO_FAULTS,
  });
}

const policy = (report: Report, name: PolicySummary["name"]): PolicySummary => {
  const found = report.policies.find((p) => p.name === name);
  if (found === undefined) throw new Error(`the report has no ${name}`);
  return found;
};

/** The table's rows as header -> cell, read from the printed text. */
function tableRows(stdout: string): { headers: string[]; rows: Record<string, string>[] } {
  const lines = stdout.split("\n");
  const rule = lines.findIndex((line) => /^-+( +-+)+$/.test(line));
  const headers = (lines[rule - 1] ?? "").trim().split(/ {2,}/);
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(rule + 1)) {
    if (line.trim() === "") break;
    const cells = line.trim().split(/\s+/);
    rows.push(Object.fromEntries(headers.map((header, i) => [header, cells[i] ?? ""])));
  }
  return { headers, rows };
}

describe("vor-power simulate --days 2 --seed 1 --out DIR", () => {
  const out = join(tempDir(), "report");
  let code: number;
  let stdout: string;
  let report: Report;

  beforeAll(async () => {
    ({ code, stdout } = await cli("simulate", "--days", "2", "--seed", "1", "--out", out));
    report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as Report;
  });

  it("exits 0 and writes report.json with DESIGN.md's world", () => {
    expect(code).toBe(0);
    expect(report.world).toMatchObject({
      bootMin: 3,
      bootstrapMin: 2,
      tickMin: 1,
      pricePerHostHour: 2.55,
      days: 2,
      seed: 1,
      trace: "built-in",
      maxHosts: 8,
    });
    expect(report.world.runs).toBeGreaterThan(0);
  });

  it("writes a report.json that validates against vor-power schema report", () => {
    expect(reportSchema.safeParse(report).success).toBe(true);
  });

  it("lists always-on, schedule-only, reactive, vor-power and oracle in that order, each with every field", () => {
    const names = report.policies.map((p) => p.name);

    expect(names).toEqual(["always-on", "schedule-only", "reactive", "vor-power", "oracle"]);
    for (const summary of report.policies) {
      expect(Object.keys(summary)).toEqual(POLICY_FIELDS);
      for (const field of POLICY_FIELDS.slice(1))
        expect(Number.isFinite(summary[field as keyof PolicySummary])).toBe(true);
    }
  });

  it("writes the report simulate() gives for the same config, trace and seed", async () => {
    const { report: direct } = await simulateLikeCli(1, "none");

    expect(report).toEqual(direct);
  });

  it("prints a table with the same numbers as report.json", () => {
    const { headers, rows } = tableRows(stdout);

    expect(headers).toEqual(["policy", ...Object.keys(TABLE_COLUMNS)]);
    expect(rows.map((row) => row.policy)).toEqual(report.policies.map((p) => p.name));
    for (const row of rows) {
      const summary = policy(report, row.policy as PolicySummary["name"]);
      for (const [header, field] of Object.entries(TABLE_COLUMNS))
        expect(Number(row[header]), `${row.policy} ${header}`).toBe(summary[field]);
    }
  });

  it("writes report.html with the timeline and the cost-wait chart", () => {
    const html = readFileSync(join(out, "report.html"), "utf8");

    expect(html).toContain('id="timeline-chart"');
    expect(html).toContain('id="cost-wait-chart"');
  });
});

describe("vor-power in the simulated world (2 days)", () => {
  it.each([
    [1, "none"],
    [2, "none"],
    [3, "none"],
    [1, "all"],
    [2, "all"],
    [3, "all"],
  ] as const)(
    "kills no run and starts every run submitted over 2 hours before the end: seed %i, faults %s",
    async (seed, faults) => {
      const end = CLI_START + DAYS * 24 * HOUR_MS;

      const { report, vorPower } = await simulateLikeCli(seed, faults);

      const due = vorPower.world.runs.filter((run) => run.submittedAt < end - 2 * HOUR_MS);
      expect(policy(report, "vor-power").runsKilled).toBe(0);
      expect(due.length).toBeGreaterThan(0);
      expect(due.filter((run) => run.startedAt === undefined).map((run) => run.id)).toEqual([]);
    },
  );

  it("notes quarantined hosts, blocked bootstraps and skipped stops under --faults all", async () => {
    const { code, stdout } = await cli(
      "simulate",
      "--days",
      "2",
      "--seed",
      "1",
      "--faults",
      "all",
      "--json",
    );

    const report = JSON.parse(stdout) as Report;
    const notes = report.notes.join("\n");
    expect(code).toBe(0);
    expect(policy(report, "vor-power").runsKilled).toBe(0);
    expect(notes).toMatch(/\d+ hosts quarantined/);
    expect(notes).toMatch(/\d+ bootstraps blocked/);
    expect(notes).toMatch(/\d+ stops skipped/);
  });
});

describe("vor-power simulate on bad input", () => {
  it("reports a bad trace line with its line number, exits 2 and writes nothing", async () => {
    const dir = tempDir();
    const trace = join(dir, "trace.jsonl");
    writeFileSync(
      trace,
      [
        "# two good runs and one with its minutes in quotes",
        '{"submittedAt": "2026-01-19T09:12:00Z", "pool": "compute", "durationMin": 35, "source": "adhoc"}',
        '{"submittedAt": "2026-01-19T10:00:00Z", "pool": "compute", "durationMin": "35", "source": "adhoc"}',
        '{"submittedAt": "2026-01-19T11:00:00Z", "pool": "compute", "durationMin": 20, "source": "adhoc"}',
      ].join("\n"),
    );

    const result = await cli("simulate", "--trace", trace, "--out", join(dir, "out"));

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("line 3: durationMin");
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("exits 2 on an unknown fault name, naming the flag", async () => {
    const result = await cli("simulate", "--days", "1", "--faults", "nonsense");

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--faults");
    expect(result.stderr).toContain('"nonsense"');
  });
});

describe("vor-power simulate with the defaults (14 days, seed 1)", () => {
  let report: Report;

  beforeAll(async () => {
    const { code, stdout } = await cli("simulate", "--json");
    if (code !== 0) throw new Error(`simulate exited ${code}`);
    report = JSON.parse(stdout) as Report;
  });

  it("kills no run", () => {
    expect(policy(report, "vor-power").runsKilled).toBe(0);
  });

  // Issue 9's goal is not met yet (see the README's "Results, and the goal not yet met"): this
  // tracks it as a known failure, and turns red the day the planner meets it, to be flipped to `it`.
  it.fails(
    "meets DESIGN.md's target: cost at most 1.3× the oracle's with a mean wait of at most 1 minute",
    () => {
      const vorPower = policy(report, "vor-power");

      expect(vorPower.costVsOracle).toBeLessThanOrEqual(1.3);
      expect(vorPower.waitMeanMin).toBeLessThanOrEqual(1);
    },
  );

  it("has no baseline both cheaper and no slower", () => {
    const vorPower = policy(report, "vor-power");

    const dominating = (["always-on", "schedule-only", "reactive"] as const)
      .map((name) => policy(report, name))
      .filter((b) => b.cost < vorPower.cost && b.waitMeanMin <= vorPower.waitMeanMin)
      .map((b) => b.name);

    expect(dominating).toEqual([]);
  });
});
