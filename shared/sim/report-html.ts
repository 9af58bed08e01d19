// The simulator's report as one self-contained HTML file: the charts are SVG drawn here, in
// pure code, so the page needs no script, font or stylesheet from anywhere (a Content Security
// Policy in the page says so to the browser) and opens the same from a laptop or a CI artifact.
import { REPORT_COLUMNS, describeWorld, LONG_WAIT_MIN } from "./report.ts";
import { POLICY_NAMES } from "./types.ts";
import type {
  PolicyName,
  PolicyRun,
  PolicySummary,
  Report,
  Timeline,
  WorldSettings,
} from "./types.ts";

/**
 * The timeline's resolution. 14 days of 1-minute ticks are 20,160 points per series; the
 * maximum of each 10-minute bucket keeps every peak (a 3-minute start still shows) in 2,016.
 */
export const TIMELINE_BUCKET_MIN = 10;

/** One colour per policy, distinguishable for the common colour-vision deficiencies. */
const POLICY_COLORS: Record<PolicyName, string> = {
  "always-on": "#6b7280",
  "schedule-only": "#d97706",
  reactive: "#9333ea",
  "vor-power": "#2563eb",
  oracle: "#059669",
};
const QUEUE_COLOR = "#334155";
const WAIT_COLORS = { none: "#2563eb", short: "#d97706", long: "#dc2626" };

/** Escapes text for HTML (and SVG) content and double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** A coordinate with one decimal: plenty for a screen, and a third of the bytes of full floats. */
function px(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  return String(rounded === 0 ? 0 : rounded);
}

/** A 1, 2 or 5 times a power of ten at or above `rough`, for axis ticks. */
function niceStep(rough: number): number {
  if (!(rough > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  const mantissa = rough / power;
  return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * power;
}

/** Ticks 0, step, 2 step ... up to a maximum at or above `max` (max ≤ 0 gives 0..1). */
function niceTicks(max: number, count: number): { ticks: number[]; top: number; decimals: number } {
  const step = niceStep((max > 0 ? max : 1) / count);
  const top = Math.max(step, Math.ceil((max > 0 ? max : 1) / step - 1e-9) * step);
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const ticks: number[] = [];
  for (let i = 0; i * step <= top + step / 2; i++) ticks.push(i * step);
  return { ticks, top, decimals };
}

/** Elapsed simulation time as an axis label: "30 min", "6h", "day 3", "day 3 +12h". */
function formatElapsed(minutes: number): string {
  const days = Math.floor(minutes / 1440);
  const rest = minutes - days * 1440;
  if (rest === 0) return `day ${days}`;
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(rest / 60);
  const mins = Math.round(rest - hours * 60);
  const clock = mins === 0 ? `${hours}h` : `${hours}h${String(mins).padStart(2, "0")}`;
  return days === 0 ? clock : `day ${days} +${clock}`;
}

/** A step for the time axis that gives at most about 14 labels. */
function timeStep(totalMin: number): number {
  const steps = [10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160, 43200];
  return steps.find((step) => totalMin / step <= 14) ?? Math.ceil(totalMin / 14 / 1440) * 1440;
}

/** The largest of `values` and `floor`, without spreading (a month of ticks would overflow the stack). */
function maxOf(values: Iterable<number>, floor: number): number {
  let max = floor;
  for (const value of values) if (value > max) max = value;
  return max;
}

/** Maximum of each bucket of `bucketTicks` ticks. */
function downsample(values: readonly number[], bucketTicks: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i += bucketTicks) {
    out.push(maxOf(values.slice(i, i + bucketTicks), -Infinity));
  }
  return out;
}

/**
 * A step line through bucket values, with a point only where the value changes (hosts on is
 * flat for hours, so this is far smaller than a point per bucket). Never empty: an empty
 * series is a line at 0 across the whole range.
 */
function stepPoints(
  buckets: readonly number[],
  bucketMin: number,
  totalMin: number,
  x: (minute: number) => number,
  y: (value: number) => number,
): string {
  const first = buckets[0] ?? 0;
  const points: string[] = [`${px(x(0))},${px(y(first))}`];
  let previous = first;
  buckets.forEach((value, i) => {
    if (value !== previous) {
      const at = x(i * bucketMin);
      points.push(`${px(at)},${px(y(previous))}`, `${px(at)},${px(y(value))}`);
      previous = value;
    }
  });
  points.push(`${px(x(Math.max(totalMin, buckets.length * bucketMin)))},${px(y(previous))}`);
  return points.join(" ");
}

function waitColor(waitMin: number): string {
  if (waitMin > LONG_WAIT_MIN) return WAIT_COLORS.long;
  return waitMin > 1e-9 ? WAIT_COLORS.short : WAIT_COLORS.none;
}

function formatMinutes(minutes: number): string {
  return `${minutes.toFixed(2)} min`;
}

/** Hosts on per policy, vor-power's queue depth and run starts: one lane each, one time axis. */
function renderTimeline(
  runs: readonly PolicyRun[],
  timeline: Timeline,
  world: WorldSettings,
): string {
  const width = 1100;
  const left = 120;
  const right = 30;
  const laneHeight = 54;
  const laneGap = 14;
  const top = 12;
  const bucketTicks = Math.max(1, Math.round(TIMELINE_BUCKET_MIN / world.tickMin));
  const bucketMin = bucketTicks * world.tickMin;
  const longestTicks = maxOf(
    runs.map((run) => run.hostsOn.length),
    timeline.queueDepth.length,
  );
  const totalMin = Math.max(world.days * 1440, longestTicks * world.tickMin, 1);
  const x = (minute: number): number => left + (minute / totalMin) * (width - left - right);

  const ordered = POLICY_NAMES.map((name) => runs.find((run) => run.name === name)).filter(
    (run): run is PolicyRun => run !== undefined,
  );
  // Hosts and pending runs are counts: each lane goes up to the real maximum, all hosts lanes to
  // the same one so that their heights compare.
  const hostsScale = {
    top: Math.ceil(
      maxOf(
        ordered.flatMap((run) => run.hostsOn),
        1,
      ),
    ),
  };
  const queueScale = { top: Math.ceil(maxOf(timeline.queueDepth, 1)) };
  const waitScale = niceTicks(
    maxOf(
      timeline.runStarts.map((start) => start.waitMin),
      1,
    ),
    2,
  );

  const parts: string[] = [];
  let laneTop = top;
  const lane = (
    label: string,
    sub: string,
    scale: { top: number },
    height: number,
  ): ((v: number) => number) => {
    const y0 = laneTop + height;
    // 6 px of headroom keep a line at the maximum off the lane's border.
    const y = (value: number): number => y0 - (value / scale.top) * (height - 6);
    parts.push(
      `<rect x="${left}" y="${px(laneTop)}" width="${width - left - right}" height="${height}" class="lane"/>`,
      `<text x="${left - 8}" y="${px(laneTop + height / 2)}" class="lane-label" text-anchor="end">${escapeHtml(label)}</text>`,
      `<text x="${left - 8}" y="${px(laneTop + height / 2 + 13)}" class="lane-sub" text-anchor="end">${escapeHtml(sub)}</text>`,
      `<text x="${left + 3}" y="${px(laneTop + 10)}" class="tick">${escapeHtml(String(scale.top))}</text>`,
    );
    laneTop += height + laneGap;
    return y;
  };

  for (const run of ordered) {
    const y = lane(run.name, "hosts on", hostsScale, laneHeight);
    const points = stepPoints(downsample(run.hostsOn, bucketTicks), bucketMin, totalMin, x, y);
    parts.push(
      `<polyline data-policy="${escapeHtml(run.name)}" points="${points}" fill="none" stroke="${POLICY_COLORS[run.name]}" stroke-width="1.5"><title>${escapeHtml(run.name)}: hosts on (max per ${bucketMin}-minute bucket)</title></polyline>`,
    );
  }

  const yQueue = lane("vor-power", "pending runs", queueScale, laneHeight);
  const queuePoints = stepPoints(
    downsample(timeline.queueDepth, bucketTicks),
    bucketMin,
    totalMin,
    x,
    yQueue,
  );
  parts.push(
    `<polyline data-series="queue-depth" points="${queuePoints}" fill="none" stroke="${QUEUE_COLOR}" stroke-width="1.5"><title>vor-power: pending runs in the midtier (max per ${bucketMin}-minute bucket)</title></polyline>`,
  );

  const yWait = lane("vor-power", "run starts: wait min", waitScale, laneHeight + 16);
  for (const start of timeline.runStarts) {
    const minute = (start.at - world.start) / 60_000;
    const label = `run started ${new Date(start.at).toISOString()}, waited ${formatMinutes(start.waitMin)}`;
    parts.push(
      `<circle class="run-start" cx="${px(x(minute))}" cy="${px(yWait(start.waitMin))}" r="2.5" fill="${waitColor(start.waitMin)}"><title>${escapeHtml(label)}</title></circle>`,
    );
  }

  const axisY = laneTop - laneGap + 4;
  const step = timeStep(totalMin);
  for (let minute = 0; minute <= totalMin + 1e-9; minute += step) {
    const at = px(x(minute));
    parts.push(
      `<line x1="${at}" y1="${top}" x2="${at}" y2="${px(axisY)}" class="grid"/>`,
      `<text x="${at}" y="${px(axisY + 14)}" class="tick" text-anchor="middle">${escapeHtml(formatElapsed(minute))}</text>`,
    );
  }
  const height = axisY + 40;
  parts.push(
    `<text x="${px((left + width - right) / 2)}" y="${px(axisY + 32)}" class="axis-label" text-anchor="middle">${escapeHtml(`time since ${new Date(world.start).toISOString()} (UTC); each lane from 0 to the number at its top left`)}</text>`,
  );
  return `<svg viewBox="0 0 ${width} ${px(height)}" width="${width}" height="${px(height)}" role="img" aria-label="hosts on per policy over time, vor-power queue depth and run starts">${parts.join("")}</svg>`;
}

/** One point per policy: mean wait across, cost up, with the DESIGN.md target shaded. */
function renderCostWait(policies: readonly PolicySummary[], world: WorldSettings): string {
  const width = 680;
  const height = 420;
  const left = 76;
  const right = 150;
  const top = 16;
  const bottom = 56;
  const xScale = niceTicks(Math.max(...policies.map((p) => p.waitMeanMin), 0) * 1.1, 5);
  const yScale = niceTicks(Math.max(...policies.map((p) => p.cost), 0) * 1.1, 5);
  const x = (wait: number): number => left + (wait / xScale.top) * (width - left - right);
  const y = (cost: number): number =>
    height - bottom - (cost / yScale.top) * (height - top - bottom);
  const parts: string[] = [];

  // DESIGN.md's target: cost ≤ 1.3× the oracle's with a mean wait ≤ 1 minute.
  const oracle = policies.find((p) => p.name === "oracle");
  if (oracle !== undefined) {
    const targetCost = Math.min(oracle.cost * 1.3, yScale.top);
    const targetWait = Math.min(1, xScale.top);
    parts.push(
      `<rect class="target" x="${px(x(0))}" y="${px(y(targetCost))}" width="${px(x(targetWait) - x(0))}" height="${px(y(0) - y(targetCost))}"><title>target: cost ≤ 1.3× the oracle's, mean wait ≤ 1 min</title></rect>`,
    );
  }
  for (const tick of xScale.ticks) {
    parts.push(
      `<line x1="${px(x(tick))}" y1="${top}" x2="${px(x(tick))}" y2="${height - bottom}" class="grid"/>`,
      `<text x="${px(x(tick))}" y="${height - bottom + 16}" class="tick" text-anchor="middle">${tick.toFixed(xScale.decimals)}</text>`,
    );
  }
  for (const tick of yScale.ticks) {
    parts.push(
      `<line x1="${left}" y1="${px(y(tick))}" x2="${width - right}" y2="${px(y(tick))}" class="grid"/>`,
      `<text x="${left - 6}" y="${px(y(tick) + 4)}" class="tick" text-anchor="end">${tick.toFixed(yScale.decimals)}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" class="axis"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" class="axis"/>`,
    `<text x="${px((left + width - right) / 2)}" y="${height - 14}" class="axis-label" text-anchor="middle">mean wait (minutes)</text>`,
    `<text transform="translate(18 ${px((top + height - bottom) / 2)}) rotate(-90)" class="axis-label" text-anchor="middle">${escapeHtml(`cost over ${world.days} days (at ${world.pricePerHostHour} per host-hour)`)}</text>`,
  );

  // Labels sit right of their point and move down past any label they would cover: vor-power
  // and the oracle often land within a pixel of each other.
  const placed: { x: number; y: number }[] = [];
  const byCost = [...policies].sort((a, b) => b.cost - a.cost);
  for (const policy of byCost) {
    const cx = x(policy.waitMeanMin);
    const cy = y(policy.cost);
    let labelY = cy + 4;
    while (
      placed.some((other) => Math.abs(other.x - cx) < 120 && Math.abs(other.y - labelY) < 14)
    ) {
      labelY += 14;
    }
    placed.push({ x: cx, y: labelY });
    const detail = `${policy.name}: cost ${policy.cost.toFixed(2)}, mean wait ${formatMinutes(policy.waitMeanMin)}`;
    parts.push(
      `<circle data-policy="${escapeHtml(policy.name)}" cx="${px(cx)}" cy="${px(cy)}" r="6" fill="${POLICY_COLORS[policy.name]}"><title>${escapeHtml(detail)}</title></circle>`,
      `<text x="${px(cx + 10)}" y="${px(labelY)}" class="point-label">${escapeHtml(policy.name)}</text>`,
    );
  }
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="cost versus mean wait, one point per policy">${parts.join("")}</svg>`;
}

function renderLegend(): string {
  const swatch = (color: string, label: string, shape: "line" | "dot"): string =>
    `<li><span class="swatch ${shape}" style="background:${color}"></span>${escapeHtml(label)}</li>`;
  return [
    '<ul class="legend">',
    ...POLICY_NAMES.map((name) => swatch(POLICY_COLORS[name], name, "line")),
    swatch(QUEUE_COLOR, "vor-power pending runs", "line"),
    swatch(WAIT_COLORS.none, "run started on time", "dot"),
    swatch(WAIT_COLORS.short, `run waited ≤ ${LONG_WAIT_MIN} min`, "dot"),
    swatch(WAIT_COLORS.long, `run waited > ${LONG_WAIT_MIN} min`, "dot"),
    "</ul>",
  ].join("");
}

function renderHtmlTable(report: Report): string {
  const head = REPORT_COLUMNS.map(
    (column) => `<th class="${column.align}">${escapeHtml(column.header)}</th>`,
  ).join("");
  const rows = report.policies.map(
    (policy) =>
      `<tr data-policy="${escapeHtml(policy.name)}">` +
      REPORT_COLUMNS.map(
        (column) => `<td class="${column.align}">${escapeHtml(column.cell(policy))}</td>`,
      ).join("") +
      "</tr>",
  );
  return `<table id="report-table"><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #111827; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
figure { margin: 0; overflow-x: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #374151; }
svg .lane { fill: #f9fafb; stroke: #e5e7eb; }
svg .lane-label { font-weight: 600; fill: #111827; }
svg .lane-sub, svg .tick { fill: #6b7280; }
svg .axis-label { font-size: 12px; fill: #111827; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; }
svg .axis { stroke: #9ca3af; }
svg .target { fill: #d1fae5; }
svg .point-label { font-size: 12px; font-weight: 600; fill: #111827; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 6px 18px; }
.legend .swatch { display: inline-block; margin-right: 6px; vertical-align: middle; }
.legend .line { width: 18px; height: 3px; } .legend .dot { width: 8px; height: 8px; border-radius: 50%; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e5e7eb; }
td { white-space: nowrap; }
figcaption { color: #4b5563; font-size: 12px; margin-top: 4px; }
th { font-weight: 600; } .right { text-align: right; } .left { text-align: left; }
`;

/**
 * The report as one self-contained HTML page: a timeline (hosts on per policy, vor-power's
 * queue depth and run starts with their waits), cost against mean wait per policy, the table
 * and the notes. `runs` and `timeline` are the ones `report` was built from.
 */
export function renderHtml(
  report: Report,
  runs: PolicyRun[],
  timeline: Timeline,
  world: WorldSettings,
): string {
  const notes =
    report.notes.length === 0
      ? ""
      : `<h2>Notes</h2><ul class="notes">${report.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join("")}</ul>`;
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    // Self-contained by policy, not only by intent: the browser refuses anything from elsewhere.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>vor-power simulation</title>",
    `<style>${STYLE}</style></head><body>`,
    "<h1>vor-power simulation</h1>",
    `<p class="world">${escapeHtml(describeWorld(report))}</p>`,
    "<h2>Hosts on over time</h2>",
    renderLegend(),
    `<figure id="timeline-chart">${renderTimeline(runs, timeline, world)}</figure>`,
    "<h2>Cost against wait</h2>",
    `<figure id="cost-wait-chart">${renderCostWait(report.policies, world)}`,
    "<figcaption>One point per policy. Shaded: DESIGN.md's target, cost ≤ 1.3× the oracle's with a mean wait ≤ 1 minute.</figcaption></figure>",
    "<h2>Policies</h2>",
    renderHtmlTable(report),
    notes,
    "</body></html>",
    "",
  ].join("\n");
}
