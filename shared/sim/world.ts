import type { CloudState, HostSnapshot } from "../plan/snapshot.ts";
import { TAG } from "../plan/tags.ts";
import type { TraceRun, WorldSettings } from "./types.ts";

// The simulated installation: hosts that take boot time, a midtier that queues submitted runs and
// dispatches them to ready hosts, runs that take their time. Events happen at their exact instants
// (a run submitted at 09:12:30 to a free ready host starts at 09:12:30); policies act at ticks.

const MINUTE = 60_000;
/** How long a stop takes before the host reads stopped (EC2: well under a minute). */
const STOP_MS = 30_000;

export interface SimHost {
  id: string;
  pool: string;
  cloud: CloudState;
  tags: Record<string, string>;
  launchedAt?: number;
  /** when a pending host finishes booting, or a stopping host stops */
  transitionAt?: number;
  /** a boot that will fail (fault): the host goes back to stopped instead of running */
  bootFails?: boolean;
  /** since when the host is billed (start call) */
  billedSince?: number;
  /** baselines: ready (booted and bootstrapped) from this instant */
  readyAt?: number;
  /** runs on the host now */
  runs: Set<SimRun>;
  /** last instant the host had no run (baselines' idle timeout) */
  idleSince: number;
}

export interface SimRun {
  id: string;
  pool: string;
  submittedAt: number;
  durationMs: number;
  hosts: number;
  startedAt?: number;
  endsAt?: number;
  hostIds: string[];
  killed: number;
}

export interface WorldMeasures {
  hostMinutes: number;
  starts: number;
  stops: number;
  runsKilled: number;
  hostsOn: number[];
}

/** A host the midtier may send runs to (the ready list it reads). */
export type ReadyTest = (host: SimHost) => boolean;

export class World {
  readonly settings: WorldSettings;
  readonly hosts: SimHost[];
  readonly runs: SimRun[];
  now: number;
  readonly measures: WorldMeasures = {
    hostMinutes: 0,
    starts: 0,
    stops: 0,
    runsKilled: 0,
    hostsOn: [],
  };
  private nextSubmission = 0;
  private readonly pending: SimRun[] = [];
  private readonly running = new Set<SimRun>();
  private readonly runsPerHost: Record<string, number>;

  constructor(
    settings: WorldSettings,
    trace: readonly TraceRun[],
    pools: Record<string, { hosts: number; runsPerHost: number }>,
  ) {
    this.settings = settings;
    this.now = settings.start;
    this.runsPerHost = Object.fromEntries(
      Object.entries(pools).map(([name, p]) => [name, p.runsPerHost]),
    );
    this.hosts = Object.entries(pools).flatMap(([pool, { hosts }]) =>
      Array.from({ length: hosts }, (_, i) => ({
        id: `${pool}-h${String(i + 1).padStart(2, "0")}`,
        pool,
        cloud: "stopped",
        tags: { "vor:pool": pool },
        runs: new Set<SimRun>(),
        idleSince: settings.start,
      })),
    );
    this.runs = trace.map((run, i) => ({
      id: `run-${String(i + 1).padStart(4, "0")}`,
      pool: run.pool,
      submittedAt: run.submittedAt,
      durationMs: run.durationMin * MINUTE,
      hosts: run.hosts,
      hostIds: [],
      killed: 0,
    }));
  }

  host(id: string): SimHost {
    const host = this.hosts.find((h) => h.id === id);
    if (!host) throw new Error(`no simulated host ${id}`);
    return host;
  }

  /** Runs waiting in the midtier for a pool. */
  pendingRuns(pool: string): SimRun[] {
    return this.pending.filter((r) => r.pool === pool);
  }

  /** Runs running or assigned in a pool. */
  runningRuns(pool: string): SimRun[] {
    return [...this.running].filter((r) => r.pool === pool);
  }

  /** Moves time to `to`, processing every event on the way in order, dispatching after each. */
  advance(to: number, ready: ReadyTest): void {
    for (;;) {
      const next = this.nextEventAt();
      if (next === undefined || next > to) break;
      this.now = Math.max(this.now, next);
      this.processEventsAt(this.now);
      this.dispatch(ready);
    }
    this.now = to;
    this.dispatch(ready);
  }

  private nextEventAt(): number | undefined {
    let next: number | undefined;
    const consider = (t: number | undefined) => {
      if (t !== undefined && (next === undefined || t < next)) next = t;
    };
    consider(this.runs[this.nextSubmission]?.submittedAt);
    for (const run of this.running) consider(run.endsAt);
    for (const host of this.hosts) {
      consider(host.transitionAt);
      if (host.readyAt !== undefined && host.readyAt > this.now) consider(host.readyAt);
    }
    return next;
  }

  private processEventsAt(t: number): void {
    for (
      let run = this.runs[this.nextSubmission];
      run && run.submittedAt <= t;
      run = this.runs[this.nextSubmission]
    ) {
      this.pending.push(run);
      this.nextSubmission++;
    }
    for (const run of [...this.running]) {
      if (run.endsAt !== undefined && run.endsAt <= t) {
        this.running.delete(run);
        for (const id of run.hostIds) {
          const host = this.host(id);
          host.runs.delete(run);
          if (host.runs.size === 0) host.idleSince = t;
        }
      }
    }
    for (const host of this.hosts) {
      if (host.transitionAt === undefined || host.transitionAt > t) continue;
      host.transitionAt = undefined;
      if (host.cloud === "pending") {
        if (host.bootFails) {
          host.bootFails = false;
          this.bill(host, t);
          host.cloud = "stopped";
        } else {
          host.cloud = "running";
          host.launchedAt = t;
        }
      } else if (host.cloud === "stopping") {
        this.bill(host, t);
        host.cloud = "stopped";
      }
    }
  }

  /** The midtier: FIFO, a run that does not fit lets later ones pass (backfill). */
  dispatch(ready: ReadyTest): void {
    if (this.pending.length === 0) return;
    const free = new Map<string, SimHost[]>();
    for (const host of this.hosts) {
      if (host.cloud !== "running" || !ready(host)) continue;
      if (host.runs.size >= (this.runsPerHost[host.pool] ?? 1)) continue;
      const list = free.get(host.pool) ?? [];
      list.push(host);
      free.set(host.pool, list);
    }
    for (const run of [...this.pending]) {
      const hosts = free.get(run.pool) ?? [];
      if (hosts.length < run.hosts) continue;
      const chosen = hosts.splice(0, run.hosts);
      this.pending.splice(this.pending.indexOf(run), 1);
      run.startedAt ??= this.now;
      run.endsAt = this.now + run.durationMs;
      run.hostIds = chosen.map((h) => h.id);
      for (const host of chosen) {
        host.runs.add(run);
        // A host with room for more runs stays free for the next one.
        if (host.runs.size < (this.runsPerHost[host.pool] ?? 1)) hosts.push(host);
      }
      this.running.add(run);
    }
  }

  /** A start call: stopped hosts begin booting (boot faults decided by the caller). */
  start(host: SimHost, options: { bootFails?: boolean } = {}): boolean {
    if (host.cloud !== "stopped") return false;
    host.cloud = "pending";
    host.transitionAt = this.now + this.settings.bootMin * MINUTE;
    host.bootFails = options.bootFails ?? false;
    host.billedSince = this.now;
    host.idleSince = this.now;
    this.measures.starts++;
    return true;
  }

  /** A stop call: every run on the host dies with it (counted, and requeued by the midtier). */
  stop(host: SimHost): boolean {
    if (host.cloud !== "running" && host.cloud !== "pending") return false;
    for (const run of [...host.runs]) this.kill(run);
    host.cloud = "stopping";
    host.transitionAt = this.now + STOP_MS;
    host.readyAt = undefined;
    this.measures.stops++;
    return true;
  }

  private kill(run: SimRun): void {
    this.running.delete(run);
    for (const id of run.hostIds) this.host(id).runs.delete(run);
    run.killed++;
    this.measures.runsKilled++;
    run.startedAt = undefined;
    run.endsAt = undefined;
    run.hostIds = [];
    this.pending.unshift(run);
  }

  private bill(host: SimHost, until: number): void {
    if (host.billedSince === undefined) return;
    this.measures.hostMinutes += (until - host.billedSince) / MINUTE;
    host.billedSince = undefined;
  }

  /** Samples hosts on at a tick (for the timeline). */
  sample(): void {
    this.measures.hostsOn.push(this.hosts.filter((h) => h.billedSince !== undefined).length);
  }

  /** Ends the simulation: bills what is still on, and returns every run's wait in minutes. */
  finish(): { waitsMin: number[]; runsNeverStarted: number } {
    for (const host of this.hosts) this.bill(host, this.now);
    const waitsMin: number[] = [];
    let runsNeverStarted = 0;
    for (const run of this.runs) {
      if (run.submittedAt > this.now) continue;
      if (run.startedAt === undefined) runsNeverStarted++;
      waitsMin.push(((run.startedAt ?? this.now) - run.submittedAt) / MINUTE);
    }
    return { waitsMin, runsNeverStarted };
  }

  /** A host as the ComputeProvider port reports it. */
  snapshotOf(host: SimHost): HostSnapshot {
    return {
      id: host.id,
      cloudState: host.cloud,
      tags: { ...host.tags },
      ...(host.launchedAt !== undefined && host.cloud !== "stopped"
        ? { launchedAt: new Date(host.launchedAt).toISOString() }
        : {}),
    };
  }
}

/** The midtier's ready list under DESIGN.md's contract: the ready tag, not excluded. */
export const taggedReady: ReadyTest = (host) =>
  host.tags[TAG.lifecycle] === "ready" && host.tags[TAG.exclude] !== "true";
/** Baselines have no tags: a host is ready once booted and bootstrapped. */
export const bootedReady =
  (world: World): ReadyTest =>
  (host) =>
    host.readyAt !== undefined && host.readyAt <= world.now;
