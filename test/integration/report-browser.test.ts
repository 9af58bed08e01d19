import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHtml } from "../../shared/sim/report-html.ts";
import { buildReport } from "../../shared/sim/report.ts";
import { POLICY_NAMES } from "../../shared/sim/types.ts";
import type { PolicyName, PolicyRun, Timeline, WorldSettings } from "../../shared/sim/types.ts";

// Opens the simulator's HTML report in a real browser (Debian's chromium, installed by
// scripts/setup-test-env.sh) and checks that the charts drew: string checks on the HTML cannot
// tell a polyline the browser lays out from one it ignores.

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const underCi = process.env.CI === "true";

if (!hasChromium && !underCi) {
  console.warn(
    `!!! SKIPPING report-browser tests: ${CHROMIUM} is missing. ` +
      "Run `bash scripts/setup-test-env.sh` (apt-get install chromium) to run them.",
  );
}

const START_MS = Date.parse("2025-01-06T00:00:00Z");
const world: WorldSettings = {
  bootMin: 3,
  bootstrapMin: 2,
  tickMin: 1,
  pricePerHostHour: 2.55,
  days: 1,
  seed: 1,
  start: START_MS,
};

/** Hosts on over one day of 1-minute ticks: `peak` hosts from `fromMin` to `toMin`, 1 otherwise. */
function hostsOn(fromMin: number, toMin: number, peak: number): number[] {
  return Array.from({ length: 1440 }, (_, minute) =>
    minute >= fromMin && minute < toMin ? peak : 1,
  );
}

function policyRun(
  name: PolicyName,
  hostMinutes: number,
  waitsMin: number[],
  on: number[],
): PolicyRun {
  return {
    name,
    hostMinutes,
    waitsMin,
    starts: 2,
    stops: 2,
    runsKilled: 0,
    runsNeverStarted: 0,
    hostsOn: on,
  };
}

const runs: PolicyRun[] = [
  policyRun("always-on", 4 * 1440, [0, 0], hostsOn(0, 1440, 4)),
  policyRun("schedule-only", 1200, [0, 30], hostsOn(420, 1140, 4)),
  policyRun("reactive", 500, [5, 5], hostsOn(545, 800, 3)),
  policyRun("vor-power", 600, [0, 2.5], hostsOn(530, 810, 3)),
  policyRun("oracle", 480, [0, 0], hostsOn(535, 800, 3)),
];
const timeline: Timeline = {
  queueDepth: Array.from({ length: 1440 }, (_, minute) => (minute >= 540 && minute < 560 ? 2 : 0)),
  runStarts: [
    { at: START_MS + 540 * 60_000, waitMin: 0 },
    { at: START_MS + 562.5 * 60_000, waitMin: 2.5 },
  ],
};

// Always runs (test.sh fails CI on any skipped test): under CI a missing chromium is a failure,
// elsewhere the browser suite below skips with the loud line above.
describe("report HTML in chromium (set-up)", () => {
  it("has chromium whenever CI=true", () => {
    const required = underCi;

    const found = hasChromium;

    expect(
      found || !required,
      `${CHROMIUM} is missing under CI=true: scripts/setup-test-env.sh must install it`,
    ).toBe(true);
  });
});

describe.skipIf(!hasChromium)("report HTML in chromium", () => {
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    const report = buildReport(world, runs, {
      runs: 2,
      trace: "hand-made",
      maxHosts: 4,
      notes: ['<b>bold</b> & "quoted"'],
    });
    const file = join(mkdtempSync(join(tmpdir(), "vor-power-report-")), "report.html");
    writeFileSync(file, renderHtml(report, runs, timeline, world));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      timeout: 60_000,
    });
    page = await browser.newPage();
    // A blocked load (the page's CSP refuses anything from elsewhere) or a script error shows here.
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("request", (request) => {
      if (!request.url().startsWith("file:")) problems.push(`request to ${request.url()}`);
    });
    await page.goto(pathToFileURL(file).href);
  });

  afterAll(async () => {
    await browser.close();
  });

  it("draws one hosts-on series per policy with points and a non-empty box", async () => {
    const series = page.locator("#timeline-chart svg polyline[data-policy]");

    const drawn = await Promise.all(
      (await series.all()).map(async (line) => ({
        policy: await line.getAttribute("data-policy"),
        points: (await line.getAttribute("points")) ?? "",
        box: await line.boundingBox(),
      })),
    );

    expect(drawn.map((line) => line.policy)).toEqual([...POLICY_NAMES]);
    for (const line of drawn) {
      expect(line.points.trim().split(/\s+/).length, line.policy ?? "").toBeGreaterThanOrEqual(2);
      expect(line.box?.width ?? 0, line.policy ?? "").toBeGreaterThan(100);
      expect(line.box?.height ?? 0, line.policy ?? "").toBeGreaterThan(0);
    }
  });

  it("draws the vor-power queue depth and its run starts", async () => {
    const queue = page.locator('#timeline-chart svg polyline[data-series="queue-depth"]');
    const starts = page.locator("#timeline-chart svg circle.run-start");

    expect((await queue.boundingBox())?.height ?? 0).toBeGreaterThan(0);
    expect(await starts.count()).toBe(2);
  });

  it("draws five labelled policy points on the cost-wait chart", async () => {
    const points = page.locator("#cost-wait-chart svg circle[data-policy]");

    const boxes = await Promise.all((await points.all()).map((point) => point.boundingBox()));

    expect(boxes).toHaveLength(5);
    for (const box of boxes) expect(box?.width ?? 0).toBeGreaterThan(0);
    const labels = await page.locator("#cost-wait-chart svg text.point-label").allTextContents();
    expect(labels.sort()).toEqual([...POLICY_NAMES].sort());
  });

  it("shows the escaped note as text and loads nothing else", async () => {
    const note = await page.locator("ul.notes li").textContent();

    expect(note).toBe('<b>bold</b> & "quoted"');
    expect(await page.locator("ul.notes b").count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
