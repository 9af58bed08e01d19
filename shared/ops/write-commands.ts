import type { Pool } from "../config/index.ts";
import type { DecisionNumbers } from "../plan/decision.ts";
import type { HostSnapshot, PoolControl } from "../plan/snapshot.ts";
import { TAG, readTags, reasonTag } from "../plan/tags.ts";
import type { OpsCommand, OpsResult } from "./commands.ts";

// The ops writes (DESIGN.md, "Where state lives": vor:exclude and the pool's control state), each
// checked against the pool as it is and turned into the exact writes to make. Pure: the caller
// reads the pool (under its lease, or without it on a dry run) and carries the writes out.

export type WriteCommand = Exclude<OpsCommand, { command: "status" | "plan" }>;

/** What a write command needs to know about its pool. */
export interface PoolView {
  hosts: readonly HostSnapshot[];
  control: PoolControl;
  /** the planner's pool numbers at `now` (only `start` reads them) */
  numbers?: DecisionNumbers;
}

/** One write, as the result body reports it. */
export type Change =
  | { type: "tags"; host: string; set: Record<string, string>; remove: string[] }
  | { type: "state"; field: string; value: unknown };

/** The writes a command makes, and the words for its answer and its audit line. */
export interface WritePlan {
  /** the audit line's "what": "hold compute at 3 hosts until 2026-03-04T12:00:00Z" */
  what: string;
  /** what the change does, for the operator */
  message: string;
  /** the control-state change (applied under the lease), when the command has one */
  update?: ((control: PoolControl) => PoolControl) | undefined;
  /** the tag write on one host, when the command has one */
  tags?: { host: string; set: Record<string, string>; remove: string[] };
  /**
   * The host's Consul instance into maintenance, before the tag, when Consul is configured: the
   * midtier then reads the service, not the tag (DESIGN.md, "The midtier's side").
   */
  registry?: { host: string; action: "maintenance" };
  changes: Change[];
}

export type Prepared = { ok: true; write: WritePlan } | { ok: false; result: OpsResult };

/** `start` is a hold this long: long enough to boot and bootstrap, short enough to lapse unseen. */
export const START_HOLD_MS = 30 * 60_000;

/** ISO text without zero milliseconds: 2026-03-04T10:00:00Z (as the planner writes instants). */
export const iso = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

const refuse = (status: 400 | 404 | 409, error: string): Prepared => ({
  ok: false,
  result: { status, body: { error } },
});
const ready = (write: WritePlan): Prepared => ({ ok: true, write });

/** Tags a host leaves behind when it goes back to off or adopted: a fresh start, a fresh check. */
const STALE_TAGS = [
  TAG.drainConfirmed,
  TAG.idleSince,
  TAG.attempts,
  TAG.attemptAt,
  TAG.failure,
  TAG.blocked,
  TAG.stopCause,
];

/**
 * Checks `command` against the pool and returns the writes to make, or the refusal: 404 for a
 * host not in the pool, 409 for a state the command cannot apply to, 400 for a hold in the past.
 */
export function prepareWrite(
  command: WriteCommand,
  pool: Pool,
  view: PoolView,
  now: Date,
): Prepared {
  const nowMs = now.getTime();
  const { control } = view;
  const name = command.pool;
  switch (command.command) {
    case "hold": {
      const until = Date.parse(command.until);
      if (until <= nowMs)
        return refuse(
          400,
          `until: ${command.until} is not in the future (now ${iso(nowMs)}); a hold lasts until then, so give a later instant`,
        );
      const hold = { hosts: command.hosts, until: iso(until), by: command.by, why: command.why };
      return ready({
        what: `hold ${name} at ${plural(command.hosts, "host")} until ${hold.until}`,
        message: `${name} held at ${plural(command.hosts, "host")} until ${hold.until}: the floor is at least that until then${command.hosts > pool.max ? ` (max ${pool.max} still binds)` : ""}`,
        update: (c) => ({ ...c, holds: [...activeHolds(c, nowMs), hold] }),
        changes: [{ type: "state", field: "holds", value: hold }],
      });
    }
    case "start": {
      if (control.paused)
        return refuse(
          409,
          `${name} is paused (by ${control.paused.by}: ${control.paused.why}): the planner starts nothing; resume it first`,
        );
      if (control.protection)
        return refuse(
          409,
          `${name} is protected since ${control.protection.since} (${control.protection.reason}): no starts; lift it with resume-pool first`,
        );
      const desired = view.numbers?.desired ?? 0;
      if (desired >= pool.max)
        return refuse(
          409,
          `${name} already wants its max of ${plural(pool.max, "host")}: start adds none; raise pools.${name}.max in the config`,
        );
      const hosts = Math.min(pool.max, desired + command.hosts);
      const hold = {
        hosts,
        until: iso(nowMs + START_HOLD_MS),
        by: command.by,
        why: command.why,
      };
      return ready({
        what: `start ${plural(command.hosts, "host")} in ${name} (a hold at ${hosts} until ${hold.until})`,
        message: `start is an ops hold: ${name} held at ${plural(hosts, "host")} (desired ${desired} + ${command.hosts}${hosts < desired + command.hosts ? `, capped at max ${pool.max}` : ""}) until ${hold.until} (30 minutes); the planner starts off hosts to reach it, and release ends it early`,
        update: (c) => ({ ...c, holds: [...activeHolds(c, nowMs), hold] }),
        changes: [{ type: "state", field: "holds", value: hold }],
      });
    }
    case "release": {
      if (control.holds.length === 0) return refuse(409, `${name} has no ops hold to release`);
      const active = activeHolds(control, nowMs).length;
      return ready({
        what: `release the holds of ${name}`,
        message: `${name}: ${plural(active, "active hold")} released (${plural(control.holds.length, "hold")} removed); windows and run schedules still set the floor`,
        update: (c) => ({ ...c, holds: [] }),
        changes: [{ type: "state", field: "holds", value: [] }],
      });
    }
    case "pause": {
      if (control.paused)
        return refuse(
          409,
          `${name} is already paused by ${control.paused.by} since ${control.paused.at} (${control.paused.why})`,
        );
      const paused = { by: command.by, why: command.why, at: iso(nowMs) };
      return ready({
        what: `pause ${name}`,
        message: `${name} paused: the planner takes no action (no start, stop, drain or bootstrap) until resume`,
        update: (c) => ({ ...c, paused }),
        changes: [{ type: "state", field: "paused", value: paused }],
      });
    }
    case "resume": {
      if (!control.paused) return refuse(409, `${name} is not paused: nothing to resume`);
      return ready({
        what: `resume ${name}`,
        message: `${name} resumed (paused by ${control.paused.by} since ${control.paused.at}): the planner acts again`,
        update: (c) => ({ ...c, paused: null }),
        changes: [{ type: "state", field: "paused", value: null }],
      });
    }
    case "resume-pool": {
      const protection = control.protection;
      if (!protection) return refuse(409, `${name} is not protected: nothing to resume`);
      return ready({
        what: `lift the protection of ${name}`,
        message: `${name}: protection lifted (${protection.reason}, since ${protection.since}): starts are allowed again, the consecutive failure count is 0`,
        update: (c) => ({
          ...c,
          protection: null,
          counters: { ...c.counters, consecutiveFailures: 0 },
          // A block still going on gets a fresh blockedTimeout, not an immediate new protection.
          marks: protection.cause === "blocked" ? { ...c.marks, blockedSince: null } : c.marks,
          // The next protection is a new episode: it alerts again.
          alertsSent: without(c.alertsSent, "protected"),
        }),
        changes: [
          { type: "state", field: "protection", value: null },
          { type: "state", field: "counters.consecutiveFailures", value: 0 },
        ],
      });
    }
    case "stop":
    case "exclude":
    case "include":
    case "reset": {
      const host = view.hosts.find((h) => h.id === command.host);
      if (!host)
        return refuse(
          404,
          `host ${command.host} is not in pool ${name} (hosts tagged vor:pool=${name}: ${view.hosts.map((h) => h.id).join(", ") || "none"})`,
        );
      return prepareHostWrite(command, host, control, nowMs);
    }
  }
}

function prepareHostWrite(
  command: Extract<WriteCommand, { host: string }>,
  host: HostSnapshot,
  control: PoolControl,
  nowMs: number,
): Prepared {
  const tags = readTags(host.tags);
  const id = host.id;
  const live = host.cloudState === "pending" || host.cloudState === "running";
  const reason = (words: string) => reasonTag(`${id}: ${words} by ${command.by}: ${command.why}`);
  switch (command.command) {
    case "stop": {
      if (tags.excluded)
        return refuse(
          409,
          `${id} is excluded (vor:exclude): vor-power never stops it; include it first, or stop it yourself`,
        );
      if (tags.lifecycle === "failed")
        return refuse(
          409,
          `${id} is failed (${tags.failure ?? "quarantined"}): it is left alone until ops reset`,
        );
      if (!live) return refuse(409, `${id} is already ${host.cloudState}: nothing to stop`);
      if (tags.lifecycle === "stopping")
        return refuse(
          409,
          `${id} is already stopping (${tags.stopCause ?? "no cause recorded"}): nothing to stop`,
        );
      const existing = control.stopRequests[id];
      if (existing && (existing.force || !command.force))
        return refuse(
          409,
          `a ${existing.force ? "forced " : ""}stop of ${id} is already requested by ${existing.by} at ${existing.at} (${existing.why})`,
        );
      const request = { by: command.by, why: command.why, force: command.force, at: iso(nowMs) };
      return ready({
        what: `${command.force ? "force-stop" : "stop"} ${id} in ${command.pool}`,
        message: command.force
          ? `${id}: forced stop requested: it stops at once, busy or not (a run on it is killed), audited with an alert`
          : `${id}: stop requested: it drains at once (no new runs) and stops once idle drainGrace after the drain is confirmed`,
        update: (c) => ({ ...c, stopRequests: { ...c.stopRequests, [id]: request } }),
        changes: [{ type: "state", field: `stopRequests.${id}`, value: request }],
      });
    }
    case "exclude": {
      if (tags.excluded) return refuse(409, `${id} is already excluded`);
      const set = { [TAG.exclude]: "true", [TAG.reason]: reason("excluded") };
      const request = control.stopRequests[id];
      return ready({
        what: `exclude ${id} in ${command.pool}`,
        message: `${id} excluded: the midtier sends it no new runs; vor-power never starts or stops it, writes no other tag on it, and counts it neither as capacity nor as demand${request ? `; the stop request by ${request.by} is dropped` : ""}`,
        tags: { host: id, set, remove: [] },
        ...(live ? { registry: { host: id, action: "maintenance" as const } } : {}),
        update: request ? (c) => ({ ...c, stopRequests: without(c.stopRequests, id) }) : undefined,
        changes: [
          { type: "tags", host: id, set, remove: [] },
          ...(request ? [stateChange(`stopRequests.${id}`, null)] : []),
        ],
      });
    }
    case "include": {
      if (!tags.excluded) return refuse(409, `${id} is not excluded: nothing to include`);
      // A failed host stays failed: reset is the one way back from quarantine.
      const lifecycle = tags.lifecycle === "failed" ? undefined : live ? "adopted" : "off";
      const set = {
        ...(lifecycle ? { [TAG.lifecycle]: lifecycle, [TAG.since]: iso(nowMs) } : {}),
        [TAG.reason]: reason("included"),
      };
      const remove = lifecycle ? [TAG.exclude, ...STALE_TAGS] : [TAG.exclude];
      const after =
        lifecycle === "adopted"
          ? "adopted: it goes through bootstrap again before it is ready"
          : lifecycle === "off"
            ? "off: a start candidate again"
            : "still failed: reset it to bring it back";
      const cleared = clearHostState(control, id);
      return ready({
        what: `include ${id} in ${command.pool}`,
        message: `${id} included: vor-power manages it again, ${after}`,
        tags: { host: id, set, remove },
        update: cleared.update,
        changes: [{ type: "tags", host: id, set, remove }, ...cleared.changes],
      });
    }
    case "reset": {
      if (tags.lifecycle !== "failed")
        return refuse(
          409,
          `${id} is not failed (lifecycle ${tags.lifecycle ?? "none"}): reset only clears a quarantined host`,
        );
      const lifecycle = live ? "adopted" : "off";
      const set = {
        [TAG.lifecycle]: lifecycle,
        [TAG.since]: iso(nowMs),
        [TAG.reason]: reason("reset"),
      };
      const cleared = clearHostState(control, id);
      return ready({
        what: `reset ${id} in ${command.pool}`,
        message: `${id} reset (was failed: ${tags.failure ?? "no failure recorded"}): ${live ? "adopted, it goes through bootstrap again" : "off, a start candidate again"}`,
        tags: { host: id, set, remove: STALE_TAGS },
        update: cleared.update,
        changes: [{ type: "tags", host: id, set, remove: STALE_TAGS }, ...cleared.changes],
      });
    }
  }
}

const activeHolds = (control: PoolControl, nowMs: number) =>
  control.holds.filter((h) => Date.parse(h.until) > nowMs);

const stateChange = (field: string, value: unknown): Change => ({ type: "state", field, value });

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
}

/** A host back under management starts clean: no old stop request, bootstrap results or start record. */
function clearHostState(
  control: PoolControl,
  id: string,
): { update: ((c: PoolControl) => PoolControl) | undefined; changes: Change[] } {
  const fields = (["stopRequests", "bootstrapResults", "startRecords"] as const).filter(
    (field) => id in control[field],
  );
  if (fields.length === 0) return { update: undefined, changes: [] };
  return {
    update: (c) => ({
      ...c,
      stopRequests: without(c.stopRequests, id),
      bootstrapResults: without(c.bootstrapResults, id),
      startRecords: without(c.startRecords, id),
    }),
    changes: fields.map((field) => stateChange(`${field}.${id}`, null)),
  };
}
