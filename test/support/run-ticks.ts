import type { Config } from "../../shared/config/index.ts";
import {
  plan,
  planSchema,
  TAG,
  type BootstrapResult,
  type Decision,
  type Plan,
  type PoolSnapshot,
  type Snapshot,
} from "../../shared/plan/index.ts";
import { applyPlan, settleCloud } from "./apply-plan.ts";
import { at } from "./snapshot-builder.ts";

// A scenario driver: one-minute ticks of observe -> plan -> act -> the cloud moving on, over the
// pool "compute". Between ticks the bootstrapper answers every bootstrap effect (by default it
// passes half a tick later), and a scenario may change signals or the state store as ops would.

const TICK_MS = 60_000;
const POOL = "compute";

/** What the bootstrapper records for a host it was sent to. */
export interface BootstrapAnswer {
  outcome: BootstrapResult["outcome"];
  code?: string;
  step?: string;
  playpen?: string;
}

export interface ScenarioOptions {
  config: Config;
  /** the signals observed at `now` (default: whatever the snapshot holds) */
  signals?: (now: Date, pool: PoolSnapshot) => PoolSnapshot["signals"];
  /** the bootstrapper's answer for a host sent a bootstrap effect at `now` (default: passed) */
  bootstrap?: (host: string, now: Date, reference: boolean) => BootstrapAnswer;
  /** changes to the world before `now` is observed: ops actions, a host started by hand */
  before?: (now: Date, pool: PoolSnapshot) => void;
  /** act's last-moment busy re-read before a stop (default: the observed busy signals) */
  busyNow?: (host: string, now: Date) => boolean;
}

export interface Tick {
  at: Date;
  /** the snapshot the plan was made from */
  observed: Snapshot;
  plan: Plan;
  /** the world after the plan was carried out, the bootstrapper answered and the cloud moved */
  after: Snapshot;
}

export interface ScenarioRun {
  ticks: Tick[];
  /** the world after the last tick */
  last: Snapshot;
  /** the tick planned at a literal instant; a missing tick is a mistake in the test */
  tickAt(instant: string): Tick;
  /** decisions of the tick at `instant` about `host` */
  decisionsAt(instant: string, host: string): Decision[];
  /** a host's tag after the tick at `instant` (default: its lifecycle) */
  tagAfter(instant: string, host: string, tag?: string): string | undefined;
  /** hosts started at each tick, by ISO instant */
  starts(): { at: string; hosts: string[] }[];
}

const poolOf = (snapshot: Snapshot): PoolSnapshot => {
  const pool = snapshot.pools[POOL];
  if (!pool) throw new Error(`runTicks: the snapshot has no pool ${POOL}`);
  return pool;
};

function busyIn(pool: PoolSnapshot, host: string): boolean {
  const { midtier, rabbitmq } = pool.signals;
  const byRun =
    midtier?.status === "ok" &&
    midtier.data.runs.some((r) => r.state !== "pending" && r.hostIds.includes(host));
  const byQueue = rabbitmq?.status === "ok" && rabbitmq.data.busy.some((b) => b.host === host);
  return byRun || byQueue;
}

function answerBootstraps(next: Snapshot, result: Plan, now: Date, options: ScenarioOptions): void {
  const pool = poolOf(next);
  const answeredAt = new Date(now.getTime() + TICK_MS / 2).toISOString();
  for (const decision of result.decisions) {
    for (const effect of decision.effects) {
      if (effect.type !== "bootstrap") continue;
      const answer = options.bootstrap?.(effect.host, now, effect.reference) ?? {
        outcome: "passed",
      };
      const recorded: BootstrapResult = {
        at: answeredAt,
        outcome: answer.outcome,
        step: answer.step ?? (answer.outcome === "passed" ? "register" : "access"),
        code: answer.code ?? (answer.outcome === "passed" ? "ok" : "ssh:key-refused"),
        ...(answer.playpen === undefined ? {} : { playpen: answer.playpen }),
        reference: effect.reference,
      };
      pool.control.bootstrapResults[effect.host] = [
        ...(pool.control.bootstrapResults[effect.host] ?? []),
        recorded,
      ];
    }
  }
}

/**
 * Runs one-minute ticks from `from` to `until` (both literal instants, inclusive) starting from
 * `world`, and returns every tick with readers for the assertions.
 */
export function runTicks(
  world: Snapshot,
  from: string,
  until: string,
  options: ScenarioOptions,
): ScenarioRun {
  const ticks: Tick[] = [];
  let current = structuredClone(world);
  const end = at(until).getTime();
  for (let ms = at(from).getTime(); ms <= end; ms += TICK_MS) {
    const now = new Date(ms);
    const observed = structuredClone(current);
    observed.observedAt = now.toISOString();
    const pool = poolOf(observed);
    options.before?.(now, pool);
    if (options.signals) pool.signals = options.signals(now, pool);
    const result = planSchema.parse(plan(observed, options.config, now));
    const applied = applyPlan(observed, result, {
      busyNow: (_pool, host) => options.busyNow?.(host, now) ?? busyIn(pool, host),
    });
    answerBootstraps(applied, result, now, options);
    current = settleCloud(applied);
    ticks.push({ at: now, observed, plan: result, after: current });
  }

  const tickAt = (instant: string): Tick => {
    const ms = at(instant).getTime();
    const tick = ticks.find((t) => t.at.getTime() === ms);
    if (!tick) throw new Error(`runTicks: no tick at ${instant} (ran ${from} to ${until})`);
    return tick;
  };
  return {
    ticks,
    last: current,
    tickAt,
    decisionsAt: (instant, host) => tickAt(instant).plan.decisions.filter((d) => d.host === host),
    tagAfter: (instant, host, tag = TAG.lifecycle) =>
      poolOf(tickAt(instant).after).hosts.find((h) => h.id === host)?.tags[tag],
    starts: () =>
      ticks
        .map((t) => ({
          at: t.at.toISOString(),
          hosts: t.plan.decisions.flatMap((d) =>
            d.effects.flatMap((e) => (e.type === "start" ? [e.host] : [])),
          ),
        }))
        .filter((s) => s.hosts.length > 0),
  };
}

/** Hosts of the world that are not off, stopped or failed: what the pool is paying for. */
export function liveHosts(snapshot: Snapshot): string[] {
  return poolOf(snapshot)
    .hosts.filter((h) => h.cloudState === "pending" || h.cloudState === "running")
    .map((h) => h.id);
}

/** Hosts of the world with a lifecycle tag. */
export function hostsIn(snapshot: Snapshot, lifecycle: string): string[] {
  return poolOf(snapshot)
    .hosts.filter((h) => h.tags[TAG.lifecycle] === lifecycle)
    .map((h) => h.id);
}
