// Shared shapes of the simulator (DESIGN.md, "The simulator"): the trace, what each policy's run
// measured, and the report.

/** One run of a workload trace (one JSON Lines line). */
export interface TraceRun {
  /** epoch milliseconds */
  submittedAt: number;
  pool: string;
  durationMin: number;
  /** hosts the run needs at once (default 1) */
  hosts: number;
  source: "adhoc" | "scheduled";
}

export const POLICY_NAMES = [
  "always-on",
  "schedule-only",
  "reactive",
  "vor-power",
  "oracle",
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** The world every policy is judged in; echoed in the report. */
export interface WorldSettings {
  bootMin: number;
  bootstrapMin: number;
  tickMin: number;
  pricePerHostHour: number;
  days: number;
  seed: number;
  /** epoch ms of the first tick */
  start: number;
}

/** What one policy's run measured, before it is summarised. */
export interface PolicyRun {
  name: PolicyName;
  /** billed host-minutes: from each start call until the host is stopped */
  hostMinutes: number;
  /** the wait of every run, in minutes (runs never started by the end: end minus submission) */
  waitsMin: number[];
  starts: number;
  stops: number;
  runsKilled: number;
  /** runs still not started when the simulation ended */
  runsNeverStarted: number;
  /** hosts on (billed) at each tick, from WorldSettings.start */
  hostsOn: number[];
}

/** One policy's line of report.json (DESIGN.md's fields, fractions 0-1, minutes, money). */
export interface PolicySummary {
  name: PolicyName;
  hostHours: number;
  cost: number;
  savingsVsAlwaysOn: number;
  costVsOracle: number;
  waitMeanMin: number;
  waitP50Min: number;
  waitP95Min: number;
  waitMaxMin: number;
  runsWaited: number;
  runsWaitedLong: number;
  starts: number;
  stops: number;
  runsKilled: number;
}

/** The vor-power run's extra series for the HTML timeline. */
export interface Timeline {
  /** pending runs in the midtier at each tick (vor-power's world) */
  queueDepth: number[];
  /** each run's start (epoch ms) and wait (minutes), vor-power's world */
  runStarts: { at: number; waitMin: number }[];
}

export interface Report {
  world: Omit<WorldSettings, "start"> & {
    start: string;
    runs: number;
    trace: string;
    maxHosts: number;
  };
  policies: PolicySummary[];
  /** what else the run shows: faults injected and how vor-power handled them, pre-warm effect */
  notes: string[];
}
