import type { BusySource, Pool } from "../config/index.ts";
import type { HostSnapshot, PoolSnapshot, SignalReading } from "./snapshot.ts";
import { readTags, type HostTags, type Lifecycle } from "./tags.ts";

// Facts derived from a pool's snapshot before any rule runs: signal health, which hosts can hold
// work, which are busy or busy-unknown, and the pending need (DESIGN.md, "Where each fact comes from").

export type SignalHealth = { source: BusySource; status: "ok" | "failed" | "missing"; why: string };

export interface HostView {
  id: string;
  cloud: HostSnapshot["cloudState"];
  launchedAt: number | undefined;
  tags: HostTags;
  /** the lifecycle as the planner reads it: absent hosts with a live cloud state read as adopted */
  lifecycle: Lifecycle | undefined;
  canHoldWork: boolean;
  busy: boolean;
  busyWhy: string | undefined;
  busyUnknown: boolean;
}

export interface PendingNeed {
  /** hosts needed by pending runs */
  hosts: number;
  /** pending runs counted (with ids, plus id-less queue messages) */
  runs: number;
  /** words for the reason: "2 pending runs (1 from the request queue)" */
  words: string;
  /** submitted runs now seen by the midtier or expired: to drop from the state store */
  dropSubmitted: string[];
}

const HOLDING_CLOUD = new Set(["pending", "running"]);

/** Health of each busy source of the pool; an `ok` reading older than signalMaxAge is missing. */
export function signalHealth(pool: Pool, snapshot: PoolSnapshot): SignalHealth[] {
  return pool.busy.map((source) => {
    const reading: SignalReading | undefined = snapshot.signals[source];
    if (!reading) return { source, status: "missing", why: "no reading" };
    if (reading.status === "ok") {
      return reading.ageMs > pool.signalMaxAge
        ? { source, status: "missing", why: `reading ${Math.round(reading.ageMs / 1000)}s old` }
        : { source, status: "ok", why: "" };
    }
    return {
      source,
      status: reading.status,
      why: reading.status === "failed" ? reading.why : (reading.why ?? "no reading"),
    };
  });
}

function canHoldWork(tags: HostTags, lifecycle: Lifecycle | undefined, cloud: string): boolean {
  if (!HOLDING_CLOUD.has(cloud)) return false;
  if (lifecycle === "ready" || lifecycle === "draining" || lifecycle === "adopted") return true;
  return lifecycle === "stopping" && (tags.stopCause === "scale-in" || tags.stopCause === "ops");
}

/** Every host of the pool with its busy facts; excluded hosts are left out (neither capacity nor demand). */
export function hostViews(
  snapshot: PoolSnapshot,
  health: readonly SignalHealth[],
): { hosts: HostView[]; excluded: string[]; unknownConsumers: string[] } {
  const busyWhy = new Map<string, string>();
  const midtier = snapshot.signals.midtier;
  const rabbitmq = snapshot.signals.rabbitmq;
  const ok = (source: BusySource) => health.find((h) => h.source === source)?.status === "ok";
  if (midtier?.status === "ok" && ok("midtier")) {
    for (const run of midtier.data.runs) {
      if (run.state === "pending") continue;
      for (const host of run.hostIds) busyWhy.set(host, `run ${run.id} ${run.state}`);
    }
  }
  let unknownConsumers: string[] = [];
  if (rabbitmq?.status === "ok" && ok("rabbitmq")) {
    for (const { host, why } of rabbitmq.data.busy) if (!busyWhy.has(host)) busyWhy.set(host, why);
    unknownConsumers = rabbitmq.data.unknownConsumers.map((c) => c.connection);
  }
  const sourceDown = health.some((h) => h.status !== "ok");
  const blinded = sourceDown || unknownConsumers.length > 0;

  const hosts: HostView[] = [];
  const excluded: string[] = [];
  for (const host of snapshot.hosts) {
    const tags = readTags(host.tags);
    if (tags.excluded) {
      excluded.push(host.id);
      continue;
    }
    const live = HOLDING_CLOUD.has(host.cloudState);
    const lifecycle: Lifecycle | undefined =
      (tags.lifecycle === undefined || tags.lifecycle === "off") && live
        ? "adopted"
        : tags.lifecycle;
    const holds = canHoldWork(tags, lifecycle, host.cloudState);
    const why = holds ? busyWhy.get(host.id) : undefined;
    hosts.push({
      id: host.id,
      cloud: host.cloudState,
      launchedAt: host.launchedAt === undefined ? undefined : Date.parse(host.launchedAt),
      tags,
      lifecycle,
      canHoldWork: holds,
      busy: why !== undefined,
      busyWhy: why,
      busyUnknown: holds && why === undefined && blinded,
    });
  }
  hosts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { hosts, excluded, unknownConsumers };
}

/**
 * Pending need: midtier pending runs (de-duplicated by id) plus submitted runs it has not shown
 * yet (until eventTtl); when the midtier is not ok, ready request-queue messages count as
 * max(known pending runs, messages), never their sum. Multi-host runs need their hosts; single-host
 * runs need ceil(count / runsPerHost).
 */
export function pendingNeed(
  pool: Pool,
  snapshot: PoolSnapshot,
  health: readonly SignalHealth[],
  now: number,
): PendingNeed {
  const midtierOk = health.find((h) => h.source === "midtier")?.status === "ok";
  const midtier = snapshot.signals.midtier;
  const pending = new Map<string, number>();
  const seen = new Set<string>();
  if (midtierOk && midtier?.status === "ok") {
    for (const run of midtier.data.runs) {
      seen.add(run.id);
      if (run.state === "pending") pending.set(run.id, run.hosts);
    }
  }
  const dropSubmitted: string[] = [];
  for (const submitted of snapshot.control.submitted) {
    if (seen.has(submitted.runId) || Date.parse(submitted.expiresAt) <= now) {
      dropSubmitted.push(submitted.runId);
    } else if (!pending.has(submitted.runId)) {
      pending.set(submitted.runId, submitted.hosts);
    }
  }
  let single = [...pending.values()].filter((hosts) => hosts <= 1).length;
  const multiHosts = [...pending.values()]
    .filter((hosts) => hosts > 1)
    .reduce((sum, hosts) => sum + hosts, 0);
  let fromQueue = 0;
  const rabbitmq = snapshot.signals.rabbitmq;
  const rabbitOk = rabbitmq?.status === "ok" && rabbitmq.ageMs <= pool.signalMaxAge;
  if (!midtierOk && rabbitOk) {
    const known = pending.size;
    fromQueue = Math.max(0, rabbitmq.data.readyMessages - known);
    single += fromQueue;
  }
  const runs = pending.size + fromQueue;
  const hosts = multiHosts + Math.ceil(single / pool.runsPerHost);
  const words =
    runs === 0
      ? "no pending run"
      : `${runs} pending run${runs === 1 ? "" : "s"}${fromQueue > 0 ? ` (${fromQueue} from the request queue, the midtier being unreadable)` : ""}`;
  return { hosts, runs, words, dropSubmitted };
}
