import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { BootstrapResult } from "../plan/snapshot.ts";
import { elapsedMs, type PlaypenCheckOutcome, type Trace } from "./bootstrap-trace.ts";
import type { CheckOptions, HostCheck } from "./channel-bootstrap.ts";
import type { CommandResult, HostChannel, HostTarget } from "./host-channel.ts";
import { playpenScript, type Playpen } from "./playpen-script.ts";

// The playpen checks as the bootstrap step's check (DESIGN.md, "Bootstrap"): one script run per
// host through its channel, its JSON answer turned into one result per playpen. A failure's code
// is `playpen:<path>:<reason>`, the `vor:failure` form; whether it is the host's or the shared
// storage's is the planner's call (shared/plan/bootstrap-step.ts compares hosts).

export type { Playpen } from "./playpen-script.ts";

/** Why a playpen failed; the last part of its code. */
export const PLAYPEN_REASONS = [
  "missing",
  "not-mounted",
  "fs-type",
  "source",
  "read-only",
  "run-as",
  "write",
  "marker",
  "timeout",
] as const;
export type PlaypenReason = (typeof PLAYPEN_REASONS)[number];

/** One playpen as the host reported it. */
export interface PlaypenResult {
  path: string;
  ok: boolean;
  /** `playpen:<path>:ok`, or `playpen:<path>:<reason>` */
  code: string;
  reason?: PlaypenReason;
  /** what failed, for a person: names the directory; never a marker's content */
  detail: string;
  /** the mount's file system type and source, when it is mounted */
  fsType?: string;
  source?: string;
}

export type PlaypenReport =
  { ok: true; playpens: PlaypenResult[]; bounded: boolean } | { ok: false; why: string };

/** The code when the script gave no answer we can read (host-caused: its shell or tools). */
export const CHECK_FAILED = "playpen:check-failed";

const answerSchema = z.object({
  playpens: z.array(
    z.object({
      index: z.number().int().min(0),
      ok: z.boolean(),
      code: z.enum(["ok", ...PLAYPEN_REASONS]),
      detail: z.string(),
      fsType: z.string(),
      source: z.string(),
    }),
  ),
  bounded: z.boolean(),
});

/** Undoes the kernel's octal escapes in a mount table field (`my\040src` is `my src`). */
export function mountinfoUnescape(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** The script's answer for these playpens: every one reported once, or why it cannot be read. */
export function parsePlaypenReport(
  playpens: readonly Playpen[],
  result: CommandResult,
): PlaypenReport {
  const line = result.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("{"))
    .at(-1);
  if (line === undefined || (result.exitCode !== 0 && result.exitCode !== 1))
    return {
      ok: false,
      why: `the playpen check exited ${result.exitCode} without a report${firstLine(result.stderr)}`,
    };
  let parsed: z.output<typeof answerSchema>;
  try {
    parsed = answerSchema.parse(JSON.parse(line));
  } catch {
    return { ok: false, why: "the playpen check's report is not the expected JSON" };
  }
  const results: PlaypenResult[] = [];
  for (const [index, playpen] of playpens.entries()) {
    const found = parsed.playpens.filter((p) => p.index === index);
    const entry = found[0];
    if (found.length !== 1 || entry === undefined)
      return { ok: false, why: `the playpen check reported ${playpen.path} ${found.length} times` };
    const reason = entry.code === "ok" ? undefined : entry.code;
    results.push({
      path: playpen.path,
      ok: entry.ok && reason === undefined,
      code: `playpen:${playpen.path}:${reason ?? "ok"}`,
      ...(reason === undefined ? {} : { reason }),
      detail: entry.detail,
      ...(entry.fsType === "" ? {} : { fsType: entry.fsType }),
      ...(entry.source === "" ? {} : { source: mountinfoUnescape(entry.source) }),
    });
  }
  return { ok: true, playpens: results, bounded: parsed.bounded };
}

const firstLine = (text: string): string => {
  const line = text.split("\n").find((l) => l.trim() !== "");
  return line === undefined ? "" : `: ${line.trim().slice(0, 160)}`;
};

/** The script's checks of one playpen in its order, each with the reason that fails it. */
export const PLAYPEN_CHECKS: readonly { check: string; failsAs: PlaypenReason }[] = [
  { check: "exists", failsAs: "missing" },
  { check: "mount point", failsAs: "not-mounted" },
  { check: "fs type", failsAs: "fs-type" },
  { check: "source", failsAs: "source" },
  { check: "read-write", failsAs: "read-only" },
  { check: "run-as", failsAs: "run-as" },
  { check: "write probe", failsAs: "write" },
  { check: "marker", failsAs: "marker" },
];

/**
 * Each check of a playpen as the script ran it: the script stops at a playpen's first failure, so
 * the checks before it passed and those after it did not run. A timeout is the existence check's
 * when nothing was mounted yet (no fs type known), else the probe's.
 */
export function playpenChecklist(
  playpen: Pick<Playpen, "source">,
  result: Pick<PlaypenResult, "reason" | "fsType">,
): PlaypenCheckOutcome[] {
  const { reason } = result;
  const failedAt =
    reason === undefined
      ? PLAYPEN_CHECKS.length
      : reason === "timeout"
        ? result.fsType === undefined
          ? 0
          : PLAYPEN_CHECKS.findIndex((c) => c.failsAs === "write")
        : PLAYPEN_CHECKS.findIndex((c) => c.failsAs === reason);
  return PLAYPEN_CHECKS.map(({ check }, index) => ({
    check,
    outcome:
      check === "source" && playpen.source === undefined
        ? "not-configured"
        : index < failedAt
          ? "passed"
          : index === failedAt
            ? "failed"
            : "not-run",
  }));
}

/**
 * The bound of each file-system operation: the script makes at most three per playpen, and all
 * of them (with timeout's 2 s kill grace) stay inside the channel's timeout.
 */
export function operationTimeoutS(timeoutMs: number, playpens: number): number {
  const budgetS = timeoutMs / 1000 - 5;
  return Math.max(1, Math.floor(budgetS / (3 * Math.max(1, playpens))) - 2);
}

export interface PlaypenCheckOptions {
  playpens: readonly Playpen[];
  /** a failure's detail goes here (the result holds only its code) */
  log?: (line: string) => void;
  /** the probe file's unique part; random by default */
  probeToken?: () => string;
}

/** The HostCheck that runs the playpen script: one result per playpen, the verdict last. */
export class PlaypenCheck implements HostCheck {
  readonly #options: PlaypenCheckOptions;

  constructor(options: PlaypenCheckOptions) {
    this.#options = options;
  }

  async run(
    host: HostTarget,
    channel: HostChannel,
    options: CheckOptions,
  ): Promise<BootstrapResult[]> {
    const { playpens, log } = this.#options;
    const { trace } = options;
    const base = { at: options.at, reference: options.reference, step: "playpen" };
    if (playpens.length === 0) return [{ ...base, outcome: "passed", code: "playpen:none" }];
    const script = playpenScript(playpens, {
      operationTimeoutS: operationTimeoutS(options.timeoutMs, playpens.length),
      probeToken: this.#options.probeToken?.() ?? randomBytes(6).toString("hex"),
    });
    const startedAt = performance.now();
    const answer = await channel.run(host, script, {
      timeoutMs: options.timeoutMs,
      runId: options.runId,
      ...(trace === undefined ? {} : { trace }),
    });
    const report = parsePlaypenReport(playpens, answer);
    const durationMs = elapsedMs(startedAt);
    if (!report.ok) {
      log?.(`playpen check on ${host.id}: ${report.why}`);
      trace?.({
        step: "playpen",
        outcome: "failed",
        code: CHECK_FAILED,
        durationMs,
        detail: report.why,
        facts: {},
      });
      return [{ ...base, outcome: "failed", code: CHECK_FAILED }];
    }
    for (const p of report.playpens)
      if (!p.ok) log?.(`playpen check on ${host.id}: ${p.code}: ${p.detail}`);
    if (trace) tracePlaypens(trace, playpens, report, durationMs);
    // The first failing playpen (config order) goes last: it is the verdict the planner classifies.
    const passed = report.playpens.filter((p) => p.ok);
    const failed = report.playpens.filter((p) => !p.ok).reverse();
    return [...passed, ...failed].map((p) => ({
      ...base,
      outcome: p.ok ? "passed" : "failed",
      code: p.code,
      playpen: p.path,
    }));
  }
}

/** One `playpen` entry per directory, in config order; the script's time goes on the first. */
function tracePlaypens(
  trace: Trace,
  playpens: readonly Playpen[],
  report: Extract<PlaypenReport, { ok: true }>,
  durationMs: number,
): void {
  for (const [index, result] of report.playpens.entries()) {
    const playpen = playpens[index];
    if (playpen === undefined) continue;
    const mounted =
      result.fsType === undefined ? "" : `${result.fsType} from ${result.source ?? "?"}`;
    trace({
      step: "playpen",
      outcome: result.ok ? "passed" : "failed",
      code: result.code,
      ...(index === 0 ? { durationMs } : {}),
      detail: result.ok
        ? `${result.path}: ${mounted}, read-write, ${playpen.runAs} wrote and read, marker ${playpen.marker.file} matches`
        : result.detail,
      facts: {
        path: result.path,
        runAs: playpen.runAs,
        marker: playpen.marker.file,
        ...(result.fsType === undefined ? {} : { fsType: result.fsType }),
        ...(result.source === undefined ? {} : { source: result.source }),
        bounded: report.bounded,
      },
      checks: playpenChecklist(playpen, result),
    });
  }
}

/** The checks the bootstrap runs after access: the playpen check, or none without playpens. */
export function playpenChecks(
  playpens: readonly Playpen[],
  log: (line: string) => void,
): HostCheck[] {
  return playpens.length === 0 ? [] : [new PlaypenCheck({ playpens, log })];
}
