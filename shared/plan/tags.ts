// The host tag contract (DESIGN.md, "Where state lives"): a host's story lives on the host, so it
// survives any invocation. Names here are the only place the tag keys are spelled.

export const TAG = {
  lifecycle: "vor:lifecycle",
  since: "vor:since",
  readyAt: "vor:ready-at",
  drainConfirmed: "vor:drain-confirmed",
  idleSince: "vor:idle-since",
  attempts: "vor:attempts",
  attemptAt: "vor:attempt-at",
  failure: "vor:failure",
  blocked: "vor:blocked",
  stopCause: "vor:stop-cause",
  reason: "vor:reason",
  exclude: "vor:exclude",
} as const;

export const LIFECYCLES = [
  "off",
  "starting",
  "bootstrapping",
  "adopted",
  "ready",
  "draining",
  "stopping",
  "failed",
] as const;
export type Lifecycle = (typeof LIFECYCLES)[number];

export const STOP_CAUSES = [
  "scale-in",
  "ops",
  "ops-force",
  "quarantine",
  "start-timeout",
  "blocked",
] as const;
export type StopCause = (typeof STOP_CAUSES)[number];

/** A host's tags read into typed fields; unreadable values read as absent (and are rewritten). */
export interface HostTags {
  lifecycle: Lifecycle | undefined;
  since: number | undefined;
  readyAt: number | undefined;
  drainConfirmed: number | undefined;
  idleSince: number | undefined;
  attempts: number;
  attemptAt: number | undefined;
  failure: string | undefined;
  blocked: string | undefined;
  stopCause: StopCause | undefined;
  excluded: boolean;
}

const time = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
};

const oneOf = <T extends string>(values: readonly T[], text: string | undefined): T | undefined =>
  values.find((value) => value === text);

export function readTags(tags: Readonly<Record<string, string>>): HostTags {
  const attempts = Number(tags[TAG.attempts] ?? "0");
  return {
    lifecycle: oneOf(LIFECYCLES, tags[TAG.lifecycle]),
    since: time(tags[TAG.since]),
    readyAt: time(tags[TAG.readyAt]),
    drainConfirmed: time(tags[TAG.drainConfirmed]),
    idleSince: time(tags[TAG.idleSince]),
    attempts: Number.isInteger(attempts) && attempts >= 0 ? attempts : 0,
    attemptAt: time(tags[TAG.attemptAt]),
    failure: tags[TAG.failure],
    blocked: tags[TAG.blocked],
    stopCause: oneOf(STOP_CAUSES, tags[TAG.stopCause]),
    excluded: tags[TAG.exclude] === "true",
  };
}

/** `vor:reason` holds at most 200 characters (a tag value limit, and a log line, not an essay). */
export function reasonTag(reason: string): string {
  return reason.length <= 200 ? reason : `${reason.slice(0, 197)}...`;
}
