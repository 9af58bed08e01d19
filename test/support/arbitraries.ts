import fc from "fast-check";
import { formatDuration, type Config } from "../../shared/config/index.ts";
import {
  LIFECYCLES,
  STOP_CAUSES,
  TAG,
  type Lifecycle,
  type Snapshot,
  type SnapshotInput,
} from "../../shared/plan/index.ts";
import { plannerConfig, snapshotOf } from "./snapshot-builder.ts";

// fast-check arbitraries for planner properties: random snapshots of the pool "compute" (hosts in
// every lifecycle and cloud state, tag instants around `now`, signal readings, control state) and
// random pool settings, built through `plannerConfig(...)` changes so every config is one
// `config check` accepts. A scenario keeps the changes (not the parsed config), so a shrunk
// counterexample prints short.

export type PoolInput = SnapshotInput["pools"][string];
type HostInput = NonNullable<PoolInput["hosts"]>[number];
type ControlInput = NonNullable<PoolInput["control"]>;
type SignalsInput = NonNullable<PoolInput["signals"]>;
type BootstrapResultInput = NonNullable<ControlInput["bootstrapResults"]>[string][number];
export type ConfigChange = [path: string, value: unknown];

/** What a property plans from: the instant, the config changes, the pool as observed. */
export interface Scenario {
  now: Date;
  changes: ConfigChange[];
  pool: PoolInput;
}

/** A scenario made concrete: the parsed config and the validated snapshot. */
export interface BuiltScenario {
  now: Date;
  config: Config;
  snapshot: Snapshot;
}

export function buildScenario(scenario: Scenario): BuiltScenario {
  return {
    now: scenario.now,
    config: plannerConfig(...scenario.changes),
    snapshot: snapshotOf(scenario.now, scenario.pool),
  };
}

export const MINUTE_MS = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Host ids by index: h-00 ... h-11 (a pool holds at most 12 hosts here). */
export const hostId = (index: number): string => `h-${String(index).padStart(2, "0")}`;
export const HOST_IDS: readonly string[] = Array.from({ length: 12 }, (_, i) => hostId(i));

/** A host id some fact refers to: mostly the first few (small pools), sometimes one not in the pool. */
const hostRef: fc.Arbitrary<string> = fc
  .oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 11 }))
  .map(hostId);

// ---- instants and durations ----

/** Whole minutes (boundaries of minute-sized settings) or seconds (between ticks), up to `maxMs`. */
const spanMs = (maxMs: number): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: 0, max: Math.floor(maxMs / MINUTE_MS) }).map((m) => m * MINUTE_MS),
    fc.integer({ min: 0, max: Math.floor(maxMs / 1000) }).map((s) => s * 1000),
  );

/** An instant at or before `now`, up to `maxMs` earlier. */
export const instantBefore = (now: number, maxMs = 3 * 60 * MINUTE_MS): fc.Arbitrary<string> =>
  spanMs(maxMs).map((ms) => iso(now - ms));

/** An instant within `maxMs` either side of `now` (expiries, hold ends, backoff ends). */
const instantAround = (now: number, maxMs = 2 * 60 * MINUTE_MS): fc.Arbitrary<string> =>
  fc.tuple(fc.boolean(), spanMs(maxMs)).map(([later, ms]) => iso(later ? now + ms : now - ms));

/** Mostly present: absent once in `freq`. */
const optional = <T>(arb: fc.Arbitrary<T>, freq = 3): fc.Arbitrary<T | undefined> =>
  fc.option(arb, { nil: undefined, freq });

/** Mostly absent: present once in `freq`. */
const sometimes = <T, N>(arb: fc.Arbitrary<T>, nil: N, freq = 5): fc.Arbitrary<T | N> =>
  fc.oneof({ weight: freq - 1, arbitrary: fc.constant(nil) }, { weight: 1, arbitrary: arb });

/** `now`: any minute of the week of 2026-03-02 (a Monday), so windows and run schedules vary. */
export const nowArbitrary: fc.Arbitrary<Date> = fc
  .tuple(
    fc.integer({ min: 0, max: 7 * 24 * 60 - 1 }),
    fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 59 })),
  )
  .map(
    ([minute, second]) =>
      new Date(Date.parse("2026-03-02T00:00:00Z") + minute * MINUTE_MS + second * 1000),
  );

// ---- codes ----

/** Bootstrap result codes: booting, outside faults, host-caused, playpen. */
export const HOST_CAUSED_CODES = ["ssh:key-refused", "cmd:exit-1", "ssh:unreachable"] as const;
export const OUTSIDE_CODES = ["vault:sealed", "vault:denied", "throttling", "consul:down"] as const;
const CODES = [
  ...HOST_CAUSED_CODES,
  ...OUTSIDE_CODES,
  "ssh:timeout",
  "ssm:not-registered",
  "capacity:insufficient",
  "channel:none",
  "playpen:/data/playpen:marker",
  "playpen:/data/playpen:mount",
  "playpen:/data/other:not-mounted",
] as const;
const PLAYPENS = ["/data/playpen", "/data/other"] as const;

// ---- pool settings ----

const durationS = (minS: number, maxS: number): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: Math.ceil(minS / 60), max: Math.floor(maxS / 60) }).map((m) => m * 60),
    fc.integer({ min: minS, max: maxS }),
  );

const text = (seconds: number) => formatDuration(seconds * 1000);

/** Options of `poolSettings`: the liveness property needs a pool with no floor at all. */
export interface PoolSettingsOptions {
  /** no windows, no run schedules (holds are the snapshot's business) */
  noFloor?: boolean;
}

/**
 * Random settings of the pool "compute" as `plannerConfig` changes: min <= max in 0-10, every
 * duration, busy sources, consul, hibernate, windows and run schedules. Kept valid for config
 * check: drainGrace above listMaxAge (30s), startGrace < startTimeout, bootGrace < bootstrapTimeout.
 */
export function poolSettings(options: PoolSettingsOptions = {}): fc.Arbitrary<ConfigChange[]> {
  const floorArb = options.noFloor
    ? fc.constant({ windowHosts: 0, runHosts: 0 })
    : fc.record({
        windowHosts: fc.integer({ min: 0, max: 5 }),
        runHosts: fc.integer({ min: 0, max: 6 }),
      });
  return fc
    .record({
      bounds: fc.tuple(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 })),
      runsPerHost: fc.integer({ min: 1, max: 4 }),
      maxStartsPerTick: fc.integer({ min: 1, max: 5 }),
      idleTimeoutS: durationS(0, 40 * 60),
      minUptimeS: durationS(0, 30 * 60),
      drainGraceS: durationS(31, 5 * 60),
      restartCooldownS: durationS(0, 15 * 60),
      startTimeoutS: durationS(60, 15 * 60),
      startGraceS: durationS(0, 15 * 60),
      bootstrapTimeoutS: durationS(120, 30 * 60),
      bootGraceS: durationS(0, 30 * 60),
      blockedTimeoutS: durationS(60, 40 * 60),
      protectionCooldownS: durationS(5 * 60, 2 * 3600),
      startBackoffMaxS: durationS(60, 30 * 60),
      signalMaxAgeS: durationS(60, 5 * 60),
      signalAlertAfterS: durationS(60, 15 * 60),
      eventTtlS: durationS(60, 20 * 60),
      maxBootstrapAttempts: fc.integer({ min: 1, max: 5 }),
      maxConsecutiveFailures: fc.integer({ min: 1, max: 4 }),
      busy: fc.constantFrom<(string[] | undefined)[]>(
        undefined,
        ["midtier"],
        ["rabbitmq", "midtier"],
      ),
      consul: fc.boolean(),
      hibernate: fc.boolean(),
      floor: floorArb,
    })
    .map((s) => {
      const [a, b] = s.bounds;
      const p = (key: string): string => `pools.compute.${key}`;
      const changes: ConfigChange[] = [
        [p("min"), Math.min(a, b)],
        [p("max"), Math.max(a, b)],
        [p("runsPerHost"), s.runsPerHost],
        [p("maxStartsPerTick"), s.maxStartsPerTick],
        [p("idleTimeout"), text(s.idleTimeoutS)],
        [p("minUptime"), text(s.minUptimeS)],
        [p("drainGrace"), text(s.drainGraceS)],
        [p("restartCooldown"), text(s.restartCooldownS)],
        [p("startTimeout"), text(s.startTimeoutS)],
        [p("startGrace"), text(s.startGraceS % s.startTimeoutS)],
        [p("bootstrapTimeout"), text(s.bootstrapTimeoutS)],
        [p("bootGrace"), text(s.bootGraceS % s.bootstrapTimeoutS)],
        [p("blockedTimeout"), text(s.blockedTimeoutS)],
        [p("protectionCooldown"), text(s.protectionCooldownS)],
        [p("startBackoffMax"), text(s.startBackoffMaxS)],
        [p("signalMaxAge"), text(s.signalMaxAgeS)],
        [p("signalAlertAfter"), text(s.signalAlertAfterS)],
        [p("eventTtl"), text(s.eventTtlS)],
        [p("maxBootstrapAttempts"), s.maxBootstrapAttempts],
        [p("maxConsecutiveFailures"), s.maxConsecutiveFailures],
        [p("busy"), s.busy],
        [
          p("windows"),
          s.floor.windowHosts === 0
            ? []
            : [{ schedule: "business-hours", hosts: s.floor.windowHosts }],
        ],
        s.floor.runHosts === 0
          ? ["runSchedules", {}]
          : ["runSchedules.nightly-batch.hosts", s.floor.runHosts],
        ["cloud.hibernate", s.hibernate],
      ];
      if (s.consul)
        changes.push([
          "consul",
          {
            address: "https://consul.internal:8501",
            token: { fromSsm: "/vor-power/consul" },
            service: "vor-compute",
          },
        ]);
      return changes;
    });
}

// ---- hosts ----

interface HostSpec {
  lifecycle: Lifecycle | "bogus" | undefined;
  cloudState: HostInput["cloudState"];
  since?: string | undefined;
  readyAt?: string | undefined;
  drainConfirmed?: string | undefined;
  idleSince?: string | undefined;
  attempts?: string | undefined;
  attemptAt?: string | undefined;
  failure?: string | undefined;
  blocked?: string | undefined;
  stopCause?: string | undefined;
  exclude?: string | undefined;
  launchedAt?: string | undefined;
}

const TAG_OF: Record<string, string> = {
  lifecycle: TAG.lifecycle,
  since: TAG.since,
  readyAt: TAG.readyAt,
  drainConfirmed: TAG.drainConfirmed,
  idleSince: TAG.idleSince,
  attempts: TAG.attempts,
  attemptAt: TAG.attemptAt,
  failure: TAG.failure,
  blocked: TAG.blocked,
  stopCause: TAG.stopCause,
  exclude: TAG.exclude,
};

/** A host as observed: tags from the spec (absent fields stay absent), `vor:pool` always. */
export function hostOf(id: string, spec: HostSpec): HostInput {
  const tags: Record<string, string> = { "vor:pool": "compute" };
  for (const [field, value] of Object.entries(spec)) {
    const key = TAG_OF[field];
    if (key !== undefined && typeof value === "string") tags[key] = value;
  }
  return {
    id,
    cloudState: spec.cloudState,
    tags,
    ...(spec.launchedAt === undefined ? {} : { launchedAt: spec.launchedAt }),
  };
}

const CLOUD_STATES = ["pending", "running", "stopping", "stopped"] as const;

/** Lifecycle and cloud pairs the lifecycle table leads to in steady operation. */
const USUAL_PAIRS: readonly [Lifecycle, HostInput["cloudState"]][] = [
  ["ready", "running"],
  ["ready", "running"],
  ["ready", "running"],
  ["draining", "running"],
  ["off", "stopped"],
  ["off", "stopped"],
  ["starting", "pending"],
  ["starting", "running"],
  ["bootstrapping", "running"],
  ["adopted", "running"],
  ["stopping", "stopping"],
  ["stopping", "running"],
  ["failed", "stopped"],
];

/**
 * A host in any lifecycle (absent, or an unreadable value, included) in any cloud state; more
 * often one of the usual pairs, so scale-in and scale-out see hosts they act on.
 */
const hostSpec = (now: number): fc.Arbitrary<HostSpec> =>
  fc
    .record({
      pair: fc.oneof(
        {
          weight: 2,
          arbitrary: fc.tuple(
            fc.oneof(
              { weight: 1, arbitrary: fc.constant(undefined) },
              { weight: 8, arbitrary: fc.constantFrom(...LIFECYCLES) },
              { weight: 1, arbitrary: fc.constant("bogus" as const) },
            ),
            fc.constantFrom(...CLOUD_STATES),
          ),
        },
        { weight: 3, arbitrary: fc.constantFrom(...USUAL_PAIRS) },
      ),
      since: optional(instantBefore(now), 6),
      readyAt: optional(instantBefore(now), 4),
      drainConfirmed: optional(instantBefore(now)),
      idleSince: optional(instantBefore(now), 4),
      attempts: optional(
        fc.oneof(
          { weight: 9, arbitrary: fc.integer({ min: 0, max: 5 }).map(String) },
          { weight: 1, arbitrary: fc.constant("x") },
        ),
      ),
      attemptAt: optional(instantBefore(now)),
      failure: sometimes(fc.constantFrom(...CODES), undefined, 3),
      blocked: sometimes(
        fc.constantFrom(...OUTSIDE_CODES, "playpen:/data/playpen:marker"),
        undefined,
        6,
      ),
      stopCause: optional(fc.constantFrom(...STOP_CAUSES), 4),
      exclude: fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constant("true") },
        { weight: 1, arbitrary: fc.constant("false") },
      ),
      launchedAt: optional(instantBefore(now), 4),
    })
    .map(({ pair: [lifecycle, cloudState], ...tags }) => ({ lifecycle, cloudState, ...tags }));

/** A ready, running host: ready and idle for random times (sometimes no idle-since yet). */
const servingSpec = (now: number): fc.Arbitrary<HostSpec> =>
  fc.record({
    lifecycle: fc.constant<Lifecycle>("ready"),
    cloudState: fc.constant("running" as const),
    since: instantBefore(now),
    readyAt: optional(instantBefore(now), 8),
    idleSince: optional(instantBefore(now), 4),
    launchedAt: instantBefore(now, 4 * 60 * MINUTE_MS),
  });

const hostsOf = (specs: fc.Arbitrary<HostSpec[]>): fc.Arbitrary<HostInput[]> =>
  specs.map((list) => list.map((spec, index) => hostOf(hostId(index), spec)));

// ---- signals ----

const runArb = fc
  .record({
    state: fc.constantFrom("pending", "assigned", "running"),
    hosts: fc.integer({ min: 1, max: 3 }),
    hostIds: fc.uniqueArray(hostRef, { maxLength: 3 }),
  })
  .map((r) => ({ ...r, hostIds: r.state === "pending" ? [] : r.hostIds }));

// Mostly fresh (signalMaxAge is at least 1m), sometimes older than signalMaxAge.
const ageMsArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 60_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 * MINUTE_MS }) },
);

const midtierReading = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      status: fc.constant("ok" as const),
      ageMs: ageMsArb,
      data: fc.record({
        runs: fc
          .array(runArb, { maxLength: 5 })
          .map((runs) => runs.map((run, i) => ({ id: `r-${i}`, ...run }))),
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ status: "failed" as const, why: "HTTP 503" }) },
  { weight: 1, arbitrary: fc.constant({ status: "missing" as const }) },
);

const rabbitmqReading = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      status: fc.constant("ok" as const),
      ageMs: ageMsArb,
      data: fc.record({
        readyMessages: fc.integer({ min: 0, max: 5 }),
        busy: fc
          .uniqueArray(hostRef, { maxLength: 3 })
          .map((ids) => ids.map((host) => ({ host, why: "consumer on a run queue" }))),
        unknownConsumers: fc.oneof(
          { weight: 5, arbitrary: fc.constant<{ connection: string; runId?: string }[]>([]) },
          {
            weight: 1,
            arbitrary: fc.array(
              fc.record(
                {
                  connection: fc.constantFrom("10.0.0.9:5671", "stray"),
                  runId: fc.constantFrom("r-0", "r-9"),
                },
                { requiredKeys: ["connection"] },
              ),
              { minLength: 1, maxLength: 2 },
            ),
          },
        ),
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ status: "failed" as const, why: "connection refused" }) },
  { weight: 1, arbitrary: fc.constant({ status: "missing" as const, why: "no reading" }) },
);

/** Readings of both sources: ok (random runs, busy hosts, ages), failed, missing, or absent. */
export const signalsArbitrary: fc.Arbitrary<SignalsInput> = fc
  .record({
    midtier: optional(midtierReading, 8),
    rabbitmq: optional(rabbitmqReading, 8),
  })
  .map(({ midtier, rabbitmq }) => ({
    ...(midtier === undefined ? {} : { midtier }),
    ...(rabbitmq === undefined ? {} : { rabbitmq }),
  }));

/** Both sources ok and fresh, nothing pending, running or assigned, no busy host. */
export const QUIET_SIGNALS: SignalsInput = {
  midtier: { status: "ok", ageMs: 0, data: { runs: [] } },
  rabbitmq: { status: "ok", ageMs: 0, data: { readyMessages: 0, busy: [], unknownConsumers: [] } },
};

// ---- control state ----

const entries = <T>(value: fc.Arbitrary<T>, maxLength: number): fc.Arbitrary<Record<string, T>> =>
  fc
    .array(fc.tuple(hostRef, value), { maxLength })
    .map((pairs) => Object.fromEntries(pairs) as Record<string, T>);

const bootstrapResult = (now: number): fc.Arbitrary<BootstrapResultInput> =>
  fc.record(
    {
      at: instantBefore(now, 40 * MINUTE_MS),
      outcome: fc.constantFrom("passed", "failed", "skipped"),
      step: fc.constantFrom("access", "playpen", "register"),
      code: fc.constantFrom(...CODES, "ok"),
      playpen: fc.constantFrom(...PLAYPENS),
      reference: fc.boolean(),
    },
    { requiredKeys: ["at", "outcome", "step", "code"] },
  );

/** Recorded in order by the bootstrapper: sorted by time. */
const bootstrapResults = (now: number) =>
  entries(
    fc
      .array(bootstrapResult(now), { minLength: 1, maxLength: 3 })
      .map((list) => [...list].sort((x, y) => Date.parse(x.at) - Date.parse(y.at))),
    4,
  );

export const controlArbitrary = (now: number): fc.Arbitrary<ControlInput> =>
  fc.record({
    paused: fc.oneof(
      { weight: 19, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: instantBefore(now).map((at) => ({ by: "ops", why: "maintenance", at })),
      },
    ),
    holds: fc.oneof(
      { weight: 3, arbitrary: fc.constant<NonNullable<ControlInput["holds"]>>([]) },
      {
        weight: 1,
        arbitrary: fc.array(
          fc.record({
            hosts: fc.integer({ min: 0, max: 10 }),
            until: instantAround(now),
            by: fc.constant("alice"),
            why: fc.constant("month end"),
          }),
          { minLength: 1, maxLength: 2 },
        ),
      },
    ),
    stopRequests: entries(
      fc.record({
        by: fc.constant("bob"),
        why: fc.constant("patching"),
        force: fc.boolean(),
        at: instantBefore(now),
      }),
      3,
    ),
    protection: fc.oneof(
      { weight: 5, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: fc.record({
          since: instantBefore(now),
          reason: fc.constant("test protection"),
          cause: fc.constantFrom("failures", "blocked"),
        }),
      },
    ),
    startRecords: entries(
      fc.record(
        {
          at: instantBefore(now, 30 * MINUTE_MS),
          result: fc.constantFrom("ok", "failed"),
          code: fc.constantFrom("InsufficientInstanceCapacity", "Throttling"),
        },
        { requiredKeys: ["at", "result"] },
      ),
      3,
    ),
    bootstrapResults: bootstrapResults(now),
    submitted: fc.uniqueArray(
      fc.record({
        runId: fc.constantFrom("r-0", "r-1", "s-0", "s-1", "s-2"),
        hosts: fc.integer({ min: 1, max: 3 }),
        at: instantBefore(now, 30 * MINUTE_MS),
        expiresAt: instantAround(now, 20 * MINUTE_MS),
      }),
      { maxLength: 3, selector: (s) => s.runId },
    ),
    counters: fc.record({
      consecutiveFailures: fc.integer({ min: 0, max: 4 }),
      startFailures: fc.integer({ min: 0, max: 4 }),
      startBackoffUntil: sometimes(instantAround(now, 30 * MINUTE_MS), null, 4),
    }),
    marks: fc.record({
      blindSince: sometimes(instantBefore(now), null, 3),
      blockedSince: sometimes(instantBefore(now), null, 3),
      signalDownSince: fc.record(
        { midtier: instantBefore(now), rabbitmq: instantBefore(now) },
        { requiredKeys: [] },
      ),
    }),
    alertsSent: fc
      .subarray(["protected", "start-failed", "signal:midtier", "signal:rabbitmq"])
      .map((keys) => Object.fromEntries(keys.map((key) => [key, iso(now - MINUTE_MS)]))),
  });

// ---- scenarios ----

/** Any pool: 0-12 hosts in every lifecycle x cloud state, random signals and control state. */
export const scenarioArbitrary: fc.Arbitrary<Scenario> = fc
  .tuple(nowArbitrary, poolSettings())
  .chain(([now, changes]) =>
    fc
      .record({
        hosts: hostsOf(
          fc.oneof(
            fc.array(hostSpec(now.getTime()), { maxLength: 12 }),
            // A serving pool: mostly ready hosts, so scale-in has candidates.
            fc.array(
              fc.oneof(
                { weight: 1, arbitrary: hostSpec(now.getTime()) },
                { weight: 2, arbitrary: servingSpec(now.getTime()) },
              ),
              { maxLength: 12 },
            ),
          ),
        ),
        signals: signalsArbitrary,
        control: controlArbitrary(now.getTime()),
      })
      .map((pool) => ({ now, changes, pool })),
  );

/**
 * The liveness setting: not paused, not blind, nothing pending, running or assigned, no floor,
 * every source ok; ready (and some draining) hosts idle for random times, and some off hosts.
 */
export const quietPoolArbitrary: fc.Arbitrary<Scenario> = fc
  .tuple(nowArbitrary, poolSettings({ noFloor: true }))
  .chain(([now, changes]) => {
    const t = now.getTime();
    const serving = fc.record({
      lifecycle: fc.constantFrom<Lifecycle>("ready", "ready", "ready", "draining"),
      cloudState: fc.constant("running" as const),
      since: instantBefore(t),
      readyAt: optional(instantBefore(t), 8),
      idleSince: optional(instantBefore(t), 2),
      drainConfirmed: optional(instantBefore(t)),
      launchedAt: instantBefore(t, 4 * 60 * MINUTE_MS),
    });
    const off = fc.record({
      lifecycle: fc.constant<Lifecycle>("off"),
      cloudState: fc.constant("stopped" as const),
      since: instantBefore(t),
    });
    return fc
      .record({
        hosts: hostsOf(
          fc.array(fc.oneof({ weight: 3, arbitrary: serving }, { weight: 1, arbitrary: off }), {
            maxLength: 12,
          }),
        ),
        protection: fc.oneof(
          { weight: 3, arbitrary: fc.constant(null) },
          {
            weight: 1,
            arbitrary: instantBefore(t).map((since) => ({
              since,
              reason: "test protection",
              cause: "failures" as const,
            })),
          },
        ),
      })
      .map(({ hosts, protection }) => ({
        now,
        changes,
        pool: { hosts, signals: QUIET_SIGNALS, control: { protection } },
      }));
  });

/** What the bootstrapper reports for each bootstrap step in a simulation. */
export type BootstrapReports = { kind: "never" } | { kind: "host-caused"; codes: string[] };

export const bootstrapReportsArbitrary: fc.Arbitrary<BootstrapReports> = fc.oneof(
  fc.constant({ kind: "never" as const }),
  fc
    .array(fc.constantFrom(...HOST_CAUSED_CODES), { minLength: 1, maxLength: 4 })
    .map((codes) => ({ kind: "host-caused" as const, codes })),
);

/**
 * Bootstrapping hosts not blocked (since up to two bootstrap timeouts ago, launched just before),
 * beside some ready and off hosts, with quiet signals.
 */
export const bootstrappingPoolArbitrary: fc.Arbitrary<Scenario> = fc
  .tuple(nowArbitrary, poolSettings())
  .chain(([now, changes]) => {
    const t = now.getTime();
    const bootstrapping = fc
      .record({
        sinceAgoMs: spanMs(70 * MINUTE_MS),
        launchedBeforeMs: spanMs(2 * MINUTE_MS),
        attempts: fc.integer({ min: 0, max: 4 }),
        attemptAgoMs: optional(spanMs(10 * MINUTE_MS)),
      })
      .map((b): HostSpec => ({
        lifecycle: "bootstrapping",
        cloudState: "running",
        since: iso(t - b.sinceAgoMs),
        launchedAt: iso(t - b.sinceAgoMs - b.launchedBeforeMs),
        attempts: String(b.attempts),
        attemptAt:
          b.attemptAgoMs === undefined
            ? undefined
            : iso(t - Math.min(b.attemptAgoMs, b.sinceAgoMs)),
      }));
    const other = fc.oneof(
      fc.record({
        lifecycle: fc.constant<Lifecycle>("ready"),
        cloudState: fc.constant("running" as const),
        since: instantBefore(t),
        readyAt: instantBefore(t),
      }),
      fc.record({
        lifecycle: fc.constant<Lifecycle>("off"),
        cloudState: fc.constant("stopped" as const),
        since: instantBefore(t),
      }),
    );
    return fc
      .record({
        hosts: hostsOf(
          fc.array(
            fc.oneof({ weight: 2, arbitrary: bootstrapping }, { weight: 1, arbitrary: other }),
            {
              minLength: 1,
              maxLength: 8,
            },
          ),
        ),
        counters: fc.record({
          consecutiveFailures: fc.integer({ min: 0, max: 4 }),
          startFailures: fc.constant(0),
          startBackoffUntil: fc.constant(null),
        }),
      })
      .map(({ hosts, counters }) => ({
        now,
        changes,
        pool: { hosts, signals: QUIET_SIGNALS, control: { counters } },
      }));
  });

/** What the bootstrapper reports for blocked hosts in a simulation: nothing, or the fault again. */
export type BlockedReports = { kind: "never" } | { kind: "outside"; code: string };

export const blockedReportsArbitrary: fc.Arbitrary<BlockedReports> = fc.oneof(
  fc.constant({ kind: "never" as const }),
  fc.constantFrom(...OUTSIDE_CODES).map((code) => ({ kind: "outside" as const, code })),
);

/**
 * Bootstrapping hosts blocked by an outside fault (the pool's blocked-since mark absent or up to
 * an hour old, protection absent or for either cause), beside some ready and off hosts; random
 * demand (pending runs) so desired is sometimes 0 and sometimes not.
 */
export const blockedPoolArbitrary: fc.Arbitrary<Scenario> = fc
  .tuple(nowArbitrary, poolSettings())
  .chain(([now, changes]) => {
    const t = now.getTime();
    const blocked = fc.record({
      lifecycle: fc.constant<Lifecycle>("bootstrapping"),
      cloudState: fc.constant("running" as const),
      since: instantBefore(t, 60 * MINUTE_MS),
      blocked: fc.constantFrom(...OUTSIDE_CODES),
      attempts: fc.integer({ min: 0, max: 2 }).map(String),
      attemptAt: optional(instantBefore(t, 10 * MINUTE_MS)),
    });
    const other = fc.oneof(
      fc.record({
        lifecycle: fc.constant<Lifecycle>("ready"),
        cloudState: fc.constant("running" as const),
        since: instantBefore(t),
        readyAt: instantBefore(t),
      }),
      fc.record({
        lifecycle: fc.constant<Lifecycle>("off"),
        cloudState: fc.constant("stopped" as const),
        since: instantBefore(t),
      }),
    );
    return fc
      .record({
        hosts: hostsOf(
          fc.array(fc.oneof({ weight: 2, arbitrary: blocked }, { weight: 1, arbitrary: other }), {
            minLength: 1,
            maxLength: 8,
          }),
        ),
        pendingRuns: fc.integer({ min: 0, max: 3 }),
        blockedSince: fc.option(instantBefore(t, 60 * MINUTE_MS), { nil: null }),
        protection: fc.oneof(
          { weight: 2, arbitrary: fc.constant(null) },
          {
            weight: 1,
            arbitrary: fc.record({
              since: instantBefore(t, 2 * 60 * MINUTE_MS),
              reason: fc.constant("test protection"),
              cause: fc.constantFrom("failures" as const, "blocked" as const),
            }),
          },
        ),
      })
      .map(({ hosts, pendingRuns, blockedSince, protection }) => ({
        now,
        changes,
        pool: {
          hosts,
          signals: {
            ...QUIET_SIGNALS,
            midtier: {
              status: "ok" as const,
              ageMs: 0,
              data: {
                runs: Array.from({ length: pendingRuns }, (_, i) => ({
                  id: `p-${i}`,
                  state: "pending" as const,
                })),
              },
            },
          },
          control: { protection, marks: { blindSince: null, blockedSince, signalDownSince: {} } },
        },
      }));
  });
