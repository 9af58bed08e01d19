import type { Alerter } from "../act/ports.ts";
import type { BootstrapStep } from "../bootstrap/bootstrap-step.ts";
import type { CallOutcome, ComputeProvider } from "../cloud/compute-provider.ts";
import type { BootstrapResult, HostSnapshot, Signals } from "../plan/snapshot.ts";
import type { SignalSource } from "../signals/signal-source.ts";
import type { Claim, StateStore } from "../state/state-store.ts";
import type { FaultSettings } from "./faults.ts";
import type { Random } from "./random.ts";
import type { World } from "./world.ts";

// The in-memory adapters the simulator plugs into the production ports: the same observe, plan
// and act run against them as against AWS.

const MINUTE = 60_000;

export class SimCompute implements ComputeProvider {
  private readonly world: World;
  private readonly faults: FaultSettings;
  private readonly random: Random;

  constructor(world: World, faults: FaultSettings, random: Random) {
    this.world = world;
    this.faults = faults;
    this.random = random;
  }

  listHosts(pool: string): Promise<HostSnapshot[]> {
    return Promise.resolve(
      this.world.hosts.filter((h) => h.pool === pool).map((h) => this.world.snapshotOf(h)),
    );
  }

  writeTags(
    host: string,
    set: Readonly<Record<string, string>>,
    remove: readonly string[],
  ): Promise<void> {
    const target = this.world.host(host);
    for (const key of remove) Reflect.deleteProperty(target.tags, key);
    Object.assign(target.tags, set);
    return Promise.resolve();
  }

  start(hosts: readonly string[]): Promise<Map<string, CallOutcome>> {
    const outcomes = new Map<string, CallOutcome>();
    for (const id of hosts) {
      if (this.random.chance(this.faults.capacityErrorRate)) {
        outcomes.set(id, {
          ok: false,
          code: "capacity",
          why: "InsufficientInstanceCapacity (simulated)",
        });
        continue;
      }
      const started = this.world.start(this.world.host(id), {
        bootFails: this.random.chance(this.faults.bootFailureRate),
      });
      outcomes.set(
        id,
        started ? { ok: true } : { ok: false, code: "incorrect-state", why: "not stopped" },
      );
    }
    return Promise.resolve(outcomes);
  }

  stop(hosts: readonly string[]): Promise<Map<string, CallOutcome>> {
    const outcomes = new Map<string, CallOutcome>();
    for (const id of hosts) {
      const stopped = this.world.stop(this.world.host(id));
      outcomes.set(
        id,
        stopped ? { ok: true } : { ok: false, code: "incorrect-state", why: "not running" },
      );
    }
    return Promise.resolve(outcomes);
  }
}

/** The midtier and RabbitMQ as the world shows them: always readable, fresh. */
export class SimSignals implements SignalSource {
  private readonly world: World;

  constructor(world: World) {
    this.world = world;
  }

  read(pool: string): Promise<Signals> {
    const pending = this.world.pendingRuns(pool);
    const running = this.world.runningRuns(pool);
    const busy = [...new Set(running.flatMap((r) => r.hostIds))];
    return Promise.resolve({
      midtier: {
        status: "ok",
        ageMs: 0,
        data: {
          runs: [
            ...pending.map((r) => ({
              id: r.id,
              state: "pending" as const,
              hosts: r.hosts,
              hostIds: [],
            })),
            ...running.map((r) => ({
              id: r.id,
              state: "running" as const,
              hosts: r.hosts,
              hostIds: r.hostIds,
            })),
          ],
        },
      },
      rabbitmq: {
        status: "ok",
        ageMs: 0,
        data: {
          readyMessages: pending.length,
          busy: busy.map((host) => ({ host, why: "consumer on a run queue" })),
          unknownConsumers: [],
        },
      },
    });
  }

  isBusy(_pool: string, host: string): Promise<boolean> {
    return Promise.resolve(this.world.host(host).runs.size > 0);
  }
}

interface Job {
  claim: Claim;
  reference: boolean;
  doneAt: number;
  launchedAt: number | undefined;
}

/** The bootstrap step in the world: it takes bootstrapMin, then records its results under the claim. */
export class SimBootstrap implements BootstrapStep {
  private readonly world: World;
  private readonly store: StateStore;
  private readonly faults: FaultSettings;
  private readonly random: Random;
  private readonly jobs: Job[] = [];
  /** the host of each pool that always fails (the `bootstrap` fault) */
  private readonly badHosts: Set<string>;

  constructor(world: World, store: StateStore, faults: FaultSettings, random: Random) {
    this.world = world;
    this.store = store;
    this.faults = faults;
    this.random = random;
    const pools = [...new Set(world.hosts.map((h) => h.pool))];
    this.badHosts = new Set(
      faults.badHostPerPool
        ? pools.map((p) => world.hosts.filter((h) => h.pool === p).at(-1)?.id ?? "")
        : [],
    );
  }

  async begin(
    pool: string,
    host: string,
    options: { reference: boolean },
    now: Date,
  ): Promise<void> {
    const durationMs = (options.reference ? 0.5 : this.world.settings.bootstrapMin) * MINUTE;
    const claim = await this.store.claimHost(
      pool,
      host,
      "sim-bootstrap",
      now,
      durationMs + 2 * MINUTE,
    );
    if (!claim) return; // already being bootstrapped
    this.jobs.push({
      claim,
      reference: options.reference,
      doneAt: now.getTime() + durationMs,
      launchedAt: this.world.host(host).launchedAt,
    });
  }

  /** Records the results of every job finished by `until`, in order. */
  async complete(until: number): Promise<void> {
    this.jobs.sort((a, b) => a.doneAt - b.doneAt);
    while (this.jobs.length > 0 && (this.jobs[0]?.doneAt ?? Infinity) <= until) {
      const job = this.jobs.shift();
      if (!job) break;
      const at = new Date(job.doneAt);
      const result = this.resultOf(job, at);
      try {
        await this.store.recordBootstrapResults(job.claim, at, [result]);
      } catch {
        // The claim was revoked (the host was stopped or quarantined meanwhile): a late result is refused.
      }
      await this.store.releaseClaim(job.claim);
    }
  }

  private resultOf(job: Job, at: Date): BootstrapResult {
    const host = this.world.host(job.claim.host);
    const base = { at: at.toISOString(), reference: job.reference };
    if (host.cloud !== "running" || host.launchedAt !== job.launchedAt) {
      return { ...base, outcome: "failed", step: "access", code: "ssh:unreachable" };
    }
    if (job.reference)
      return { ...base, outcome: "passed", step: "playpen", code: "ok", playpen: "/data/playpen" };
    const outage = this.faults.vaultOutage;
    const sinceStart = (job.doneAt - this.world.settings.start) / MINUTE;
    if (outage && sinceStart >= outage.fromMin && sinceStart < outage.fromMin + outage.forMin) {
      return { ...base, outcome: "failed", step: "access", code: "vault:sealed" };
    }
    if (this.badHosts.has(host.id))
      return { ...base, outcome: "failed", step: "access", code: "ssh:key-refused" };
    if (this.random.chance(this.faults.bootstrapFailureRate))
      return { ...base, outcome: "failed", step: "command", code: "command:failed" };
    return { ...base, outcome: "passed", step: "all", code: "ok" };
  }
}

/** Alerts land in a list the report summarises. */
export class SimAlerter implements Alerter {
  readonly sent: { key: string; message: string }[] = [];

  send(key: string, message: string): Promise<void> {
    this.sent.push({ key, message });
    return Promise.resolve();
  }
}
