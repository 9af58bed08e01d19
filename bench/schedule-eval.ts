// Schedule evaluation cost: the planner evaluates every window of every pool each tick, and the
// simulator replays weeks of ticks, so this must stay cheap. Prints numbers; asserts nothing.
import { performance } from "node:perf_hooks";
import { compileSchedule, evaluateSchedule, scheduleTimeline } from "../shared/schedule/index.ts";

const compiled = compileSchedule({
  timezone: "Europe/London",
  periods: [
    { begintime: "07:00", endtime: "19:00", weekdays: "mon-fri" },
    { begintime: "22:00", endtime: "02:00", weekdays: "fri" },
    { begintime: "06:00", endtime: "23:59", monthdays: "L", months: "mar,jun,sep,dec" },
  ],
});
if (!compiled.ok) throw new Error(compiled.issues.map((i) => i.message).join("\n"));
const schedule = compiled.value;

const start = Date.parse("2026-01-01T00:00:00Z");
const minutes = 14 * 24 * 60; // two simulated weeks at a one-minute tick
let running = 0;
let t0 = performance.now();
for (let i = 0; i < minutes; i++) {
  if (evaluateSchedule(schedule, new Date(start + i * 60_000)) === "running") running++;
}
let elapsed = performance.now() - t0;
console.log(
  `evaluateSchedule: ${minutes} ticks in ${elapsed.toFixed(1)} ms (${((elapsed * 1000) / minutes).toFixed(1)} us/tick), running ${running} min`,
);

t0 = performance.now();
const segments = scheduleTimeline(schedule, new Date(start), new Date(start + 366 * 86_400_000));
elapsed = performance.now() - t0;
console.log(`scheduleTimeline: 366 days, ${segments.length} segments in ${elapsed.toFixed(1)} ms`);
