// Power windows (Instance Scheduler periods) and run schedules (cron): pure, clock-free.
export type { Compiled, ScheduleIssue, ScheduleState } from "./types.ts";
export type { PeriodInput } from "./period.ts";
export { compileSchedule, type Schedule, type ScheduleInput } from "./schedule.ts";
export { evaluateSchedule, scheduleTimeline, type ScheduleSegment } from "./window.ts";
export {
  compileRunSchedule,
  runScheduleFirings,
  type RunSchedule,
  type RunScheduleInput,
} from "./run-schedule.ts";
export { isValidTimeZone } from "./zoned-time.ts";
export { InvariantError } from "./errors.ts";
