// The simulator's report (DESIGN.md, "The simulator"): one summary per policy, report.json's
// shape, and the same numbers as a terminal table and as Markdown. Pure: no clock, no I/O.
import { InvariantError } from "../schedule/errors.ts";
import { POLICY_NAMES } from "./types.ts";
import type { PolicyRun, PolicySummary, Report, WorldSettings } from "./types.ts";

/** Above this a run "waited long" (DESIGN.md: waited long above 10 minutes). */
export const LONG_WAIT_MIN = 10;

/**
 * A wait at or below this counts as none: waits are differences of epoch milliseconds turned
 * into minutes, so a run started on time can come out as 1e-12 rather than 0.
 */
const NO_WAIT_EPSILON_MIN = 1e-9;

/** Rounds to `digits` decimals and turns -0 into 0, so that JSON never shows "-0". */
function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  const rounded = Math.round(value * factor) / factor;
  return rounded === 0 ? 0 : rounded;
}

const money = (value: number): number => roundTo(value, 2);
const minutesOrHours = (value: number): number => roundTo(value, 2);
const fraction = (value: number): number => roundTo(value, 3);

/**
 * The nearest-rank percentile of ascending `sorted` (p in 0-1): an observed wait, never an
 * interpolated one, so "p95 = 3" means some run really waited 3 minutes. 0 for no runs.
 */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}

/** Unrounded cost of a run: billed host-hours times the price. */
function costOf(run: PolicyRun, world: WorldSettings): number {
  return (run.hostMinutes / 60) * world.pricePerHostHour;
}

/**
 * One policy's line of report.json. `costs` are always-on's and the oracle's costs (unrounded,
 * as `buildReport` passes them); a ratio against a cost of 0 is reported as 0, since JSON has no
 * Infinity and a world where always-on costs nothing has nothing to save.
 */
export function summarizePolicy(
  run: PolicyRun,
  world: WorldSettings,
  costs: { alwaysOn: number; oracle: number },
): PolicySummary {
  const cost = costOf(run, world);
  const waits = [...run.waitsMin].sort((a, b) => a - b);
  const waitSum = waits.reduce((sum, wait) => sum + wait, 0);
  return {
    name: run.name,
    hostHours: minutesOrHours(run.hostMinutes / 60),
    cost: money(cost),
    savingsVsAlwaysOn: costs.alwaysOn === 0 ? 0 : fraction(1 - cost / costs.alwaysOn),
    costVsOracle: costs.oracle === 0 ? 0 : fraction(cost / costs.oracle),
    waitMeanMin: waits.length === 0 ? 0 : minutesOrHours(waitSum / waits.length),
    waitP50Min: minutesOrHours(percentile(waits, 0.5)),
    waitP95Min: minutesOrHours(percentile(waits, 0.95)),
    waitMaxMin: minutesOrHours(waits.at(-1) ?? 0),
    runsWaited: waits.filter((wait) => wait > NO_WAIT_EPSILON_MIN).length,
    runsWaitedLong: waits.filter((wait) => wait > LONG_WAIT_MIN).length,
    starts: run.starts,
    stops: run.stops,
    runsKilled: run.runsKilled,
  };
}

/**
 * report.json: the world with every setting (start as ISO UTC) and the five policies in
 * DESIGN.md's order, whatever order `runs` comes in.
 *
 * @throws InvariantError when `runs` does not hold exactly one run of each policy (a simulator bug)
 */
export function buildReport(
  world: WorldSettings,
  runs: PolicyRun[],
  meta: { runs: number; trace: string; maxHosts: number; notes: string[] },
): Report {
  const byName = new Map(runs.map((run) => [run.name, run]));
  const missing = POLICY_NAMES.filter((name) => !byName.has(name));
  if (missing.length > 0 || runs.length !== POLICY_NAMES.length) {
    throw new InvariantError(
      `buildReport needs one run of each policy (${POLICY_NAMES.join(", ")}); ` +
        `got ${runs.map((run) => run.name).join(", ") || "none"}`,
    );
  }
  const ordered = POLICY_NAMES.map((name) => byName.get(name)).filter(
    (run): run is PolicyRun => run !== undefined,
  );
  const costOfPolicy = (name: string): number => {
    const run = ordered.find((candidate) => candidate.name === name);
    return run === undefined ? 0 : costOf(run, world);
  };
  const costs = { alwaysOn: costOfPolicy("always-on"), oracle: costOfPolicy("oracle") };
  return {
    world: {
      bootMin: world.bootMin,
      bootstrapMin: world.bootstrapMin,
      tickMin: world.tickMin,
      pricePerHostHour: world.pricePerHostHour,
      days: world.days,
      seed: world.seed,
      start: new Date(world.start).toISOString(),
      runs: meta.runs,
      trace: meta.trace,
      maxHosts: meta.maxHosts,
    },
    policies: ordered.map((run) => summarizePolicy(run, world, costs)),
    notes: [...meta.notes],
  };
}

/** One column of the report's table, shared by the terminal, Markdown and HTML renderers. */
export interface ReportColumn {
  header: string;
  /** the cell as text; numbers keep report.json's value exactly (fixed decimals only pad) */
  cell: (policy: PolicySummary) => string;
  align: "left" | "right";
}

/**
 * The table's columns. Cells print report.json's numbers with fixed decimals (768.8 as
 * "768.80"), never as percentages, so that parsing a cell gives back the JSON value.
 */
export const REPORT_COLUMNS: readonly ReportColumn[] = [
  { header: "policy", cell: (p) => p.name, align: "left" },
  { header: "cost", cell: (p) => p.cost.toFixed(2), align: "right" },
  { header: "saved vs always-on", cell: (p) => p.savingsVsAlwaysOn.toFixed(3), align: "right" },
  { header: "cost vs oracle", cell: (p) => p.costVsOracle.toFixed(3), align: "right" },
  { header: "host-hours", cell: (p) => p.hostHours.toFixed(2), align: "right" },
  { header: "mean wait min", cell: (p) => p.waitMeanMin.toFixed(2), align: "right" },
  { header: "p95 wait min", cell: (p) => p.waitP95Min.toFixed(2), align: "right" },
  { header: "max wait min", cell: (p) => p.waitMaxMin.toFixed(2), align: "right" },
  { header: "waited", cell: (p) => String(p.runsWaited), align: "right" },
  { header: "waited >10m", cell: (p) => String(p.runsWaitedLong), align: "right" },
  { header: "starts", cell: (p) => String(p.starts), align: "right" },
  { header: "stops", cell: (p) => String(p.stops), align: "right" },
  { header: "killed", cell: (p) => String(p.runsKilled), align: "right" },
];

/** One line describing the world every policy was judged in. */
export function describeWorld(report: Report): string {
  const w = report.world;
  return (
    `World: ${w.days} days from ${w.start}, trace ${w.trace} (${w.runs} runs, seed ${w.seed}), ` +
    `max ${w.maxHosts} hosts; boot ${w.bootMin} min, bootstrap ${w.bootstrapMin} min, ` +
    `tick ${w.tickMin} min, ${w.pricePerHostHour} per host-hour`
  );
}

/** The report as a fixed-width terminal table: the world above, the notes below. */
export function renderTable(report: Report): string {
  const rows = [
    REPORT_COLUMNS.map((column) => column.header),
    ...report.policies.map((policy) => REPORT_COLUMNS.map((column) => column.cell(policy))),
  ];
  const widths = REPORT_COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  const line = (row: string[]): string =>
    row
      .map((text, i) => {
        const width = widths[i] ?? 0;
        return REPORT_COLUMNS[i]?.align === "left" ? text.padEnd(width) : text.padStart(width);
      })
      .join("  ")
      .trimEnd();
  const [header = [], ...body] = rows;
  const out = [
    describeWorld(report),
    "",
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
  ];
  out.push(...body.map(line));
  if (report.notes.length > 0) {
    out.push("", "Notes:", ...report.notes.map((note) => `- ${note}`));
  }
  return out.join("\n") + "\n";
}

/** Escapes text for a Markdown table cell or list item (pipes, backslashes, HTML, line breaks). */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]|<>#]/g, (char) => `\\${char}`).replace(/\r?\n/g, " ");
}

/** report.md: the world, the table in Markdown, and the notes. */
export function renderMarkdown(report: Report): string {
  const w = report.world;
  const out = [
    "# vor-power simulation",
    "",
    "## World",
    "",
    `- trace: ${escapeMarkdown(w.trace)} (${w.runs} runs, seed ${w.seed})`,
    `- ${w.days} days from ${w.start}, tick ${w.tickMin} min`,
    `- boot ${w.bootMin} min, bootstrap ${w.bootstrapMin} min`,
    `- max ${w.maxHosts} hosts, ${w.pricePerHostHour} per host-hour`,
    "",
    "## Policies",
    "",
    `| ${REPORT_COLUMNS.map((column) => column.header.replace(/>/g, "\\>")).join(" | ")} |`,
    `|${REPORT_COLUMNS.map((column) => (column.align === "left" ? " --- " : " ---: ")).join("|")}|`,
    ...report.policies.map(
      (policy) =>
        `| ${REPORT_COLUMNS.map((column) => escapeMarkdown(column.cell(policy))).join(" | ")} |`,
    ),
  ];
  if (report.notes.length > 0) {
    out.push("", "## Notes", "", ...report.notes.map((note) => `- ${escapeMarkdown(note)}`));
  }
  return out.join("\n") + "\n";
}
