import { describe, expect, it } from "vitest";
import { InvariantError } from "../../../shared/schedule/errors.ts";
import { renderHtml } from "../../../shared/sim/report-html.ts";
import {
  buildReport,
  renderMarkdown,
  renderTable,
  summarizePolicy,
} from "../../../shared/sim/report.ts";
import { POLICY_NAMES } from "../../../shared/sim/types.ts";
import type {
  PolicyName,
  PolicyRun,
  PolicySummary,
  Report,
  Timeline,
  WorldSettings,
} from "../../../shared/sim/types.ts";

// Hand-made runs over one day at 2.55 per host-hour, with numbers chosen so every summary can be
// worked out on paper: always-on 96 host-hours = 244.80, the oracle 8 host-hours = 20.40.

const START_MS = Date.parse("2025-01-06T00:00:00Z");
const world: WorldSettings = {
  bootMin: 3,
  bootstrapMin: 2,
  tickMin: 1,
  pricePerHostHour: 2.55,
  days: 1,
  seed: 7,
  start: START_MS,
};

function policyRun(name: PolicyName, overrides: Partial<Omit<PolicyRun, "name">> = {}): PolicyRun {
  return {
    name,
    hostMinutes: 0,
    waitsMin: [],
    starts: 0,
    stops: 0,
    runsKilled: 0,
    runsNeverStarted: 0,
    hostsOn: [],
    ...overrides,
  };
}

const runs: PolicyRun[] = [
  policyRun("oracle", { hostMinutes: 480, waitsMin: [0, 0, 0, 0], starts: 4, stops: 4 }),
  policyRun("vor-power", {
    hostMinutes: 600,
    waitsMin: [0, 0, 1e-12, 2.5],
    starts: 3,
    stops: 3,
  }),
  policyRun("always-on", { hostMinutes: 4 * 1440, waitsMin: [0, 0, 0, 0], starts: 4, stops: 0 }),
  policyRun("reactive", { hostMinutes: 500, waitsMin: [5, 5, 5, 5], starts: 4, stops: 4 }),
  policyRun("schedule-only", {
    hostMinutes: 1200,
    waitsMin: [0, 30, 45, 0],
    starts: 2,
    stops: 2,
    runsKilled: 1,
  }),
];
const meta = { runs: 4, trace: "hand-made", maxHosts: 4, notes: ["no faults injected"] };
const costs = { alwaysOn: 244.8, oracle: 20.4 };

const runNamed = (name: PolicyName): PolicyRun => {
  const run = runs.find((candidate) => candidate.name === name);
  if (run === undefined) throw new Error(`fixture has no ${name} run`);
  return run;
};

describe("summarizePolicy", () => {
  it.each<[PolicyName, Partial<PolicySummary>]>([
    [
      "always-on",
      { hostHours: 96, cost: 244.8, savingsVsAlwaysOn: 0, costVsOracle: 12, runsWaited: 0 },
    ],
    [
      "schedule-only",
      {
        hostHours: 20,
        cost: 51,
        savingsVsAlwaysOn: 0.792,
        costVsOracle: 2.5,
        waitMeanMin: 18.75,
        waitP50Min: 0,
        waitP95Min: 45,
        waitMaxMin: 45,
        runsWaited: 2,
        runsWaitedLong: 2,
        runsKilled: 1,
      },
    ],
    [
      "reactive",
      {
        hostHours: 8.33,
        cost: 21.25,
        savingsVsAlwaysOn: 0.913,
        costVsOracle: 1.042,
        waitMeanMin: 5,
        waitP50Min: 5,
        waitP95Min: 5,
        runsWaited: 4,
        runsWaitedLong: 0,
      },
    ],
    [
      "vor-power",
      {
        hostHours: 10,
        cost: 25.5,
        savingsVsAlwaysOn: 0.896,
        costVsOracle: 1.25,
        waitMeanMin: 0.63,
        waitP95Min: 2.5,
        runsWaited: 1,
      },
    ],
    ["oracle", { hostHours: 8, cost: 20.4, savingsVsAlwaysOn: 0.917, costVsOracle: 1 }],
  ])("summarises the %s run from its host-minutes and waits", (name, expected) => {
    const summary = summarizePolicy(runNamed(name), world, costs);

    expect(summary).toMatchObject({ name, ...expected });
  });

  it("counts a wait of a few picoseconds as no wait and one of exactly 10 minutes as not long", () => {
    const run = policyRun("vor-power", { waitsMin: [1e-12, 10, 10.01] });

    const summary = summarizePolicy(run, world, costs);

    expect(summary.runsWaited).toBe(2);
    expect(summary.runsWaitedLong).toBe(1);
  });

  it("takes the nearest-rank p50 and p95, an observed wait", () => {
    const run = policyRun("reactive", { waitsMin: Array.from({ length: 20 }, (_, i) => 20 - i) });

    const summary = summarizePolicy(run, world, costs);

    expect(summary).toMatchObject({ waitP50Min: 10, waitP95Min: 19, waitMaxMin: 20 });
    expect(summary.waitMeanMin).toBe(10.5);
  });

  it("reports zeros for a run with no waits, no hosts and free baselines", () => {
    const summary = summarizePolicy(policyRun("oracle"), world, { alwaysOn: 0, oracle: 0 });

    expect(summary).toEqual({
      name: "oracle",
      hostHours: 0,
      cost: 0,
      savingsVsAlwaysOn: 0,
      costVsOracle: 0,
      waitMeanMin: 0,
      waitP50Min: 0,
      waitP95Min: 0,
      waitMaxMin: 0,
      runsWaited: 0,
      runsWaitedLong: 0,
      starts: 0,
      stops: 0,
      runsKilled: 0,
    });
  });
});

describe("buildReport", () => {
  it("lists the five policies in DESIGN.md's order whatever order the runs come in", () => {
    const report = buildReport(world, runs, meta);

    expect(report.policies.map((policy) => policy.name)).toEqual([
      "always-on",
      "schedule-only",
      "reactive",
      "vor-power",
      "oracle",
    ]);
  });

  it("echoes every world setting with the start as ISO UTC", () => {
    const report = buildReport(world, runs, meta);

    expect(report.world).toEqual({
      bootMin: 3,
      bootstrapMin: 2,
      tickMin: 1,
      pricePerHostHour: 2.55,
      days: 1,
      seed: 7,
      start: "2025-01-06T00:00:00.000Z",
      runs: 4,
      trace: "hand-made",
      maxHosts: 4,
    });
    expect(report.notes).toEqual(["no faults injected"]);
  });

  it("gives every policy every field of DESIGN.md's report.json", () => {
    const report = buildReport(world, runs, meta);

    for (const policy of report.policies) {
      expect(Object.keys(policy).sort()).toEqual(
        [
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
        ].sort(),
      );
    }
  });

  it("compares against always-on's and the oracle's own runs", () => {
    const report = buildReport(world, runs, meta);

    const vorPower = report.policies.find((policy) => policy.name === "vor-power");
    expect(vorPower).toMatchObject({ cost: 25.5, savingsVsAlwaysOn: 0.896, costVsOracle: 1.25 });
  });

  it.each([
    ["a policy is missing", runs.slice(1)],
    ["a policy comes twice", [...runs, runNamed("oracle")]],
  ])("throws an InvariantError when %s", (_, given) => {
    expect(() => buildReport(world, given, meta)).toThrow(InvariantError);
  });
});

/** Row cells of the terminal table for one policy, split on runs of spaces. */
function tableRow(table: string, name: PolicyName): string[] {
  const line = table.split("\n").find((candidate) => candidate.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no row for ${name} in:\n${table}`);
  return line.trim().split(/\s+/);
}

const jsonColumns = (policy: PolicySummary): unknown[] => [
  policy.name,
  policy.cost,
  policy.savingsVsAlwaysOn,
  policy.costVsOracle,
  policy.hostHours,
  policy.waitMeanMin,
  policy.waitP95Min,
  policy.waitMaxMin,
  policy.runsWaited,
  policy.runsWaitedLong,
  policy.starts,
  policy.stops,
  policy.runsKilled,
];

describe("renderTable", () => {
  it("prints each policy's report.json numbers in its row", () => {
    const report = buildReport(world, runs, meta);

    const table = renderTable(report);

    for (const policy of report.policies) {
      const [name, ...numbers] = tableRow(table, policy.name);
      expect([name, ...numbers.map(Number)]).toEqual(jsonColumns(policy));
    }
  });

  it("puts the world above the table and the notes below it", () => {
    const report = buildReport(world, runs, meta);

    const lines = renderTable(report).split("\n");

    expect(lines[0]).toContain("trace hand-made (4 runs, seed 7)");
    expect(lines[0]).toContain("2025-01-06T00:00:00.000Z");
    const header = lines.findIndex((line) => line.startsWith("policy"));
    expect(header).toBeGreaterThan(0);
    expect(lines.indexOf("- no faults injected")).toBeGreaterThan(header + 5);
  });

  it("lines the columns up", () => {
    const table = renderTable(buildReport(world, runs, meta));

    const rows = table.split("\n").filter((line) => /^(policy|-{4}|[a-z-]+ {2})/.test(line));

    expect(new Set(rows.map((row) => row.length)).size).toBe(1);
  });
});

describe("renderMarkdown", () => {
  it("has the world, a table row per policy with its numbers, and the notes", () => {
    const report = buildReport(world, runs, meta);

    const markdown = renderMarkdown(report);

    expect(markdown).toContain("- trace: hand-made (4 runs, seed 7)");
    for (const policy of report.policies) {
      const row = markdown.split("\n").find((line) => line.startsWith(`| ${policy.name} |`));
      const cells =
        row
          ?.split("|")
          .slice(1, -1)
          .map((cell) => cell.trim()) ?? [];
      expect([cells[0], ...cells.slice(1).map(Number)]).toEqual(jsonColumns(policy));
    }
    expect(markdown).toContain("## Notes\n\n- no faults injected");
  });

  it("escapes a pipe in a note so it cannot break the table", () => {
    const report = buildReport(world, runs, { ...meta, notes: ["a | b"] });

    expect(renderMarkdown(report)).toContain("- a \\| b");
  });
});

const HOSTILE = `<script>alert("owned")</script> & <img src="http://evil.example/x.png">`;

function timelineOf(): Timeline {
  return {
    queueDepth: [0, 1, 2, 1, 0],
    runStarts: [
      { at: START_MS + 60_000, waitMin: 0 },
      { at: START_MS + 5 * 60_000, waitMin: 2.5 },
    ],
  };
}

function htmlOf(report: Report, given = runs): string {
  return renderHtml(report, given, timelineOf(), world);
}

describe("renderHtml", () => {
  it("loads nothing from elsewhere: no src or href to a URL, no script, no stylesheet link", () => {
    const html = htmlOf(buildReport(world, runs, meta));

    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    expect(html).toContain("default-src 'none'");
  });

  it("escapes a hostile note and trace name", () => {
    const report = buildReport(world, runs, { ...meta, trace: HOSTILE, notes: [HOSTILE] });

    const html = htmlOf(report);

    expect(html).not.toContain("<script");
    expect(html).not.toContain("<img");
    expect(html).toContain(
      "&#60;script&#62;alert(&#34;owned&#34;)&#60;/script&#62; &#38; &#60;img",
    );
  });

  it("draws a hosts-on series per policy and a cost-wait point per policy", () => {
    const html = htmlOf(buildReport(world, runs, meta));

    const timeline = html.slice(
      html.indexOf('id="timeline-chart"'),
      html.indexOf('id="cost-wait-chart"'),
    );
    const costWait = html.slice(
      html.indexOf('id="cost-wait-chart"'),
      html.indexOf('id="report-table"'),
    );
    for (const name of POLICY_NAMES) {
      expect(timeline).toMatch(
        new RegExp(`<polyline data-policy="${name}" points="[0-9.]+,[0-9.]+ `),
      );
      expect(costWait).toContain(`<circle data-policy="${name}"`);
    }
    expect(timeline).toContain('data-series="queue-depth"');
    expect(timeline.match(/class="run-start"/g)).toHaveLength(2);
  });

  it("has the table with the same cells as the terminal table", () => {
    const report = buildReport(world, runs, meta);

    const html = htmlOf(report);

    const row = /<tr data-policy="vor-power">(.*?)<\/tr>/.exec(html)?.[1] ?? "";
    const cells = [...row.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((match) => match[1]);
    expect(cells).toEqual(tableRow(renderTable(report), "vor-power"));
  });

  it("stays small for 14 days of 1-minute ticks", () => {
    const ticks = 14 * 1440;
    const busy = (offset: number) =>
      Array.from({ length: ticks }, (_, i) => ((i + offset) % 1440 < 600 ? 3 + ((i >> 7) % 3) : 0));
    const longRuns = runs.map((run) => ({
      ...run,
      hostsOn: busy(POLICY_NAMES.indexOf(run.name) * 17),
    }));
    const longWorld = { ...world, days: 14 };
    const report = buildReport(longWorld, longRuns, meta);
    const timeline: Timeline = {
      queueDepth: busy(3),
      runStarts: Array.from({ length: 400 }, (_, i) => ({
        at: START_MS + i * 50 * 60_000,
        waitMin: i % 7,
      })),
    };

    const html = renderHtml(report, longRuns, timeline, longWorld);

    expect(html.length).toBeLessThan(400_000);
    expect(html).toContain(">day 14<");
  });
});
