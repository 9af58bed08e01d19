import { loadScheduleSections } from "../../shared/config/index.ts";
import {
  compileRunSchedule,
  compileSchedule,
  evaluateSchedule,
  runScheduleFirings,
  scheduleTimeline,
  type ScheduleState,
} from "../../shared/schedule/index.ts";
import { reportInvalid } from "./config-commands.ts";
import { EXIT, UsageError } from "./errors.ts";
import { formatLocal, formatUtc, formatUtcShort, parseInstant } from "./instants.ts";
import type { CliIo } from "./io.ts";

const DAY_MS = 86_400_000;

function compiled<T>(result: { ok: true; value: T } | { ok: false }): T {
  // loadScheduleSections already compiled every schedule; a failure here is a bug, not input.
  if (!result.ok) throw new Error("a validated schedule failed to compile");
  return result.value;
}

/** `vor-power schedule eval --config FILE [--at ISO]`: always JSON (DESIGN.md, "The CLI"). */
export async function scheduleEval(
  io: CliIo,
  options: { config: string; at?: string },
): Promise<number> {
  const at = options.at === undefined ? io.now() : parseInstant(options.at, "--at");
  const result = await loadScheduleSections(options.config);
  if (!result.ok) return reportInvalid(io, options.config, result.errors, result.warnings, false);
  const schedules: Record<string, ScheduleState> = {};
  for (const [name, schedule] of Object.entries(result.config.schedules)) {
    schedules[name] = evaluateSchedule(compiled(compileSchedule(schedule)), at);
  }
  io.out(JSON.stringify({ at: formatUtc(at), schedules }));
  return EXIT.done;
}

function parseDays(text: string): number {
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1 || days > 366) {
    throw new UsageError(
      `--days: expected a whole number from 1 to 366, found ${JSON.stringify(text)}; fix: e.g. --days 7`,
    );
  }
  return days;
}

/** `vor-power schedule preview --config FILE [--from ISO] --days N [--json]` */
export async function schedulePreview(
  io: CliIo,
  options: { config: string; from?: string; days: string; json?: boolean },
): Promise<number> {
  const days = parseDays(options.days);
  // Without --from, start at the current minute, so the table reads cleanly.
  const from =
    options.from === undefined
      ? new Date(Math.floor(io.now().getTime() / 60_000) * 60_000)
      : parseInstant(options.from, "--from");
  const to = new Date(from.getTime() + days * DAY_MS);
  const result = await loadScheduleSections(options.config);
  if (!result.ok)
    return reportInvalid(io, options.config, result.errors, result.warnings, options.json === true);

  const schedules = Object.entries(result.config.schedules).map(([name, schedule]) => ({
    name,
    timezone: schedule.timezone,
    segments: scheduleTimeline(compiled(compileSchedule(schedule)), from, to),
  }));
  const runSchedules = Object.entries(result.config.runSchedules).map(([name, run]) => ({
    name,
    run,
    firings: runScheduleFirings(compiled(compileRunSchedule(run)), from, to),
  }));

  if (options.json) {
    io.out(
      JSON.stringify(
        {
          from: formatUtc(from),
          to: formatUtc(to),
          schedules: Object.fromEntries(
            schedules.map(({ name, timezone, segments }) => [
              name,
              {
                timezone,
                segments: segments.map((s) => ({
                  state: s.state,
                  from: formatUtc(s.from),
                  to: formatUtc(s.to),
                  fromLocal: formatLocal(s.from, timezone),
                  toLocal: formatLocal(s.to, timezone),
                })),
              },
            ]),
          ),
          runSchedules: Object.fromEntries(
            runSchedules.map(({ name, run, firings }) => [
              name,
              {
                cron: run.cron,
                timezone: run.timezone,
                pool: run.pool,
                hosts: run.hosts,
                firings: firings.map((f) => ({
                  at: formatUtc(f),
                  atLocal: formatLocal(f, run.timezone),
                })),
              },
            ]),
          ),
        },
        null,
        2,
      ),
    );
    return EXIT.done;
  }

  io.out(
    `Preview from ${formatUtcShort(from)} for ${days} day${days === 1 ? "" : "s"} (UTC, then each schedule's own time zone).`,
  );
  for (const warning of result.warnings)
    io.out(`  warning: ${warning.path.join(".")}: ${warning.message}`);
  for (const { name, timezone, segments } of schedules) {
    io.out("");
    io.out(`schedule ${name} (${timezone})`);
    io.out(
      `  ${"state".padEnd(8)} ${"from (UTC)".padEnd(18)} ${"until (UTC)".padEnd(18)} ${"from (local)".padEnd(26)} until (local)`,
    );
    for (const segment of segments) {
      io.out(
        `  ${segment.state.padEnd(8)} ${formatUtcShort(segment.from).padEnd(18)} ${formatUtcShort(segment.to).padEnd(18)} ${formatLocal(segment.from, timezone).padEnd(26)} ${formatLocal(segment.to, timezone)}`,
      );
    }
  }
  for (const { name, run, firings } of runSchedules) {
    io.out("");
    io.out(
      `run schedule ${name} ("${run.cron}", ${run.timezone}) -> pool ${run.pool}, ${run.hosts} host${run.hosts === 1 ? "" : "s"}`,
    );
    if (firings.length === 0) io.out("  no firing in this range");
    for (const firing of firings) {
      io.out(`  fires ${formatUtcShort(firing).padEnd(18)} ${formatLocal(firing, run.timezone)}`);
    }
  }
  return EXIT.done;
}
