import { z } from "zod";

// The Decision contract (DESIGN.md, "The planner model"): one per host or pool, with the rule
// that fired, a reason a person can read, and the exact writes `act` carries out in order.

export const decisionKindSchema = z.enum([
  "start",
  "stop",
  "drain",
  "undrain",
  "bootstrap",
  "ready",
  "quarantine",
  "adopt",
  "mark",
  "protect",
  "unprotect",
  "alert",
  "blocked",
  "freeze",
  "skip",
  "none",
]);
export type DecisionKind = z.infer<typeof decisionKindSchema>;

const instant = z.iso.datetime({ offset: true });

/** A write to the pool's control state (StateStore), carried out by act under the lease. */
export const stateChangeSchema = z.discriminatedUnion("op", [
  z.strictObject({
    op: z.literal("mark"),
    name: z.enum(["blindSince", "blockedSince"]),
    value: instant.nullable(),
  }),
  z.strictObject({ op: z.literal("signal-down"), source: z.string(), since: instant.nullable() }),
  z.strictObject({ op: z.literal("alert-episode-end"), key: z.string() }),
  z.strictObject({
    op: z.literal("counters"),
    consecutiveFailures: z.number().int().min(0).optional(),
    startFailures: z.number().int().min(0).optional(),
    startBackoffUntil: instant.nullable().optional(),
  }),
  z.strictObject({
    op: z.literal("protect"),
    since: instant,
    reason: z.string(),
    cause: z.enum(["failures", "blocked"]),
  }),
  z.strictObject({ op: z.literal("unprotect") }),
  z.strictObject({ op: z.literal("clear-stop-request"), host: z.string() }),
  z.strictObject({ op: z.literal("revoke-claim"), host: z.string() }),
  z.strictObject({ op: z.literal("clear-bootstrap-results"), host: z.string() }),
  z.strictObject({ op: z.literal("clear-start-record"), host: z.string() }),
  z.strictObject({ op: z.literal("drop-submitted"), runIds: z.array(z.string()) }),
  /** the learned pre-warm: one value of its arrival profile or gap distribution (shared/plan/prewarm.ts) */
  z.strictObject({ op: z.literal("learn"), slot: z.string(), value: z.number().min(0) }),
]);
export type StateChange = z.infer<typeof stateChangeSchema>;

export const effectSchema = z.discriminatedUnion("type", [
  /** tag writes on the host (lifecycle tag before the cloud call it announces) */
  z.strictObject({
    type: z.literal("tags"),
    host: z.string(),
    set: z.record(z.string(), z.string()),
    remove: z.array(z.string()),
  }),
  z.strictObject({ type: z.literal("start"), host: z.string() }),
  /** `recheckBusy`: act re-reads the host's busy state first and skips the stop if it got work */
  z.strictObject({
    type: z.literal("stop"),
    host: z.string(),
    hibernate: z.boolean(),
    recheckBusy: z.boolean(),
  }),
  /**
   * run the bootstrap step (outside the lease, under the host's claim); `reference`: re-run only
   * the playpen checks on a ready host, to tell a host's fault from the shared storage's
   */
  z.strictObject({ type: z.literal("bootstrap"), host: z.string(), reference: z.boolean() }),
  z.strictObject({
    type: z.literal("registry"),
    host: z.string(),
    action: z.enum(["register", "maintenance", "deregister"]),
  }),
  /** send once per episode: act records `key` in alertsSent */
  z.strictObject({ type: z.literal("alert"), key: z.string(), message: z.string() }),
  z.strictObject({ type: z.literal("state"), change: stateChangeSchema }),
]);
export type Effect = z.infer<typeof effectSchema>;

export const decisionNumbersSchema = z.strictObject({
  desired: z.number().int(),
  demand: z.number().int(),
  floor: z.number().int(),
  capacity: z.number().int(),
});
export type DecisionNumbers = z.infer<typeof decisionNumbersSchema>;

export const decisionSchema = z.strictObject({
  pool: z.string(),
  host: z.string().optional(),
  kind: decisionKindSchema,
  /** a stable identifier documented in the README (scale-out.pending, scale-in.idle, ...) */
  rule: z.string(),
  reason: z.string(),
  numbers: decisionNumbersSchema.optional(),
  effects: z.array(effectSchema),
});
export type Decision = z.infer<typeof decisionSchema>;

/** What `plan` returns: the decisions, in the order act carries them out. */
export const planSchema = z.strictObject({
  at: instant,
  decisions: z.array(decisionSchema),
});
export type Plan = z.infer<typeof planSchema>;
