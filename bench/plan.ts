// Plan time at scale: 10,000 hosts in 50 pools, every lifecycle represented, signals ok, a few
// pending runs. Prints median and p95 over repeated plans, and the floor (schedule evaluation)
// share per pool and per host. Goal (issue 8): a plan under 50 ms on this machine.
import { performance } from "node:perf_hooks";
import { parseConfig } from "../shared/config/index.ts";
import { floorOf } from "../shared/plan/floor.ts";
import {
  emptyPoolControl,
  plan,
  snapshotSchema,
  type CloudState,
  type MidtierRun,
  type SnapshotInput,
} from "../shared/plan/index.ts";

const POOLS = 50;
const HOSTS_PER_POOL = 200;
const RUNS = 60;
const at = new Date("2026-03-04T10:00:00Z");
const iso = (minutesAgo: number) => new Date(at.getTime() - minutesAgo * 60_000).toISOString();

const pools: Record<string, unknown> = {};
for (let p = 0; p < POOLS; p++) {
  pools[`pool-${p}`] = {
    min: 0,
    max: HOSTS_PER_POOL,
    windows: [{ schedule: "office", hosts: 2 }],
    channel: "ssm",
  };
}
const parsed = parseConfig({
  schedules: {
    office: {
      timezone: "Europe/London",
      periods: [
        { begintime: "07:00", endtime: "19:00", weekdays: "mon-fri" },
        { begintime: "22:00", endtime: "02:00", weekdays: "fri" },
      ],
    },
  },
  runSchedules: {
    nightly: { cron: "0 2 * * mon-fri", timezone: "Europe/London", pool: "pool-0", hosts: 4 },
  },
  pools,
  signals: {
    midtier: { runsUrl: "https://midtier.internal/api/runs", token: { fromEnv: "T" } },
    rabbitmq: {
      managementUrl: "https://rabbitmq.internal:15672",
      username: "u",
      password: { fromEnv: "P" },
    },
  },
  cloud: { provider: "aws", region: "eu-west-2" },
  state: { provider: "dynamodb", table: "vor-power-state" },
  alerts: { provider: "sns", topicArn: "arn:aws:sns:eu-west-2:123456789012:vor-power" },
  bootstrap: { playpens: [] },
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const config = parsed.config;

// Every lifecycle, in proportions a busy day might show.
const shapes: [CloudState, string, Record<string, string>][] = [
  ["stopped", "off", { since: iso(300) }],
  ["running", "ready", { since: iso(120), "ready-at": iso(120), "idle-since": iso(40) }],
  ["running", "ready", { since: iso(60), "ready-at": iso(60) }],
  ["running", "draining", { since: iso(3), "drain-confirmed": iso(3) }],
  ["pending", "starting", { since: iso(1) }],
  ["running", "bootstrapping", { since: iso(2), "attempt-at": iso(1) }],
  ["stopping", "stopping", { since: iso(1), "stop-cause": "scale-in" }],
  ["stopped", "failed", { since: iso(600), failure: "ssh:key-refused" }],
];
const snapshotPools: SnapshotInput["pools"] = {};
for (let p = 0; p < POOLS; p++) {
  const hosts = [];
  const runs: MidtierRun[] = [];
  for (let h = 0; h < HOSTS_PER_POOL; h++) {
    const shape = shapes[h % shapes.length];
    if (!shape) throw new Error("no shape");
    const [cloudState, lifecycle, extra] = shape;
    const id = `i-${p}-${h}`;
    const tags: Record<string, string> = { "vor:pool": `pool-${p}`, "vor:lifecycle": lifecycle };
    for (const [key, value] of Object.entries(extra)) tags[`vor:${key}`] = value;
    hosts.push({ id, cloudState, tags });
    if (lifecycle === "ready" && h % 3 === 0)
      runs.push({ id: `r-${id}`, state: "running", hosts: 1, hostIds: [id] });
  }
  for (let r = 0; r < 5; r++)
    runs.push({ id: `p-${p}-${r}`, state: "pending", hosts: 1, hostIds: [] });
  snapshotPools[`pool-${p}`] = {
    hosts,
    signals: {
      midtier: { status: "ok", ageMs: 3000, data: { runs } },
      rabbitmq: {
        status: "ok",
        ageMs: 3000,
        data: { readyMessages: 0, busy: [], unknownConsumers: [] },
      },
    },
  };
}
const snapshot = snapshotSchema.parse({ observedAt: at.toISOString(), pools: snapshotPools });

const times: number[] = [];
let decisions = 0;
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  decisions = plan(snapshot, config, at).decisions.length;
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const pct = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
console.log(
  `plan: ${POOLS * HOSTS_PER_POOL} hosts in ${POOLS} pools, ${decisions} decisions; median ${pct(0.5).toFixed(1)} ms, p95 ${pct(0.95).toFixed(1)} ms over ${RUNS} plans`,
);

const control = emptyPoolControl();
const pool = config.pools["pool-0"];
if (!pool) throw new Error("pool-0 missing");
const floorRuns = 2000;
const t0 = performance.now();
for (let i = 0; i < floorRuns; i++)
  floorOf("pool-0", pool, config, control, at.getTime() + i * 60_000);
const perPool = ((performance.now() - t0) * 1000) / floorRuns;
console.log(
  `floor (windows + run schedules): ${perPool.toFixed(0)} us per pool per plan = ${(perPool / HOSTS_PER_POOL).toFixed(2)} us per host at ${HOSTS_PER_POOL} hosts a pool`,
);
