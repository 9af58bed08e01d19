import { z } from "zod";

// The Snapshot: everything `plan` may know, gathered by `observe` (or read from a file by
// `vor-power plan --snapshot`). Instants are ISO text so a snapshot is plain JSON.

const instant = z.iso.datetime({ offset: true });
const hostId = z.string().min(1);

/** Cloud states vor-power acts on; shutting-down and terminated hosts are dropped by observe. */
export const cloudStateSchema = z.enum(["pending", "running", "stopping", "stopped"]);
export type CloudState = z.infer<typeof cloudStateSchema>;

export const hostSnapshotSchema = z.strictObject({
  id: hostId,
  cloudState: cloudStateSchema,
  /** when the host last reached running (EC2 LaunchTime, reset at every start); bootGrace counts from it */
  launchedAt: instant.optional(),
  /** the host's private address, as the cloud reports it: only to match RabbitMQ peers (hostOf: peerAddress), never dialled by tests */
  address: z.string().optional(),
  /** the host's public address, if it has one (bootstrap.ssh.address publicIp) */
  publicAddress: z.string().optional(),
  /** every tag of the host; vor:* tags are DESIGN.md's tag contract */
  tags: z.record(z.string(), z.string()).default({}),
});
export type HostSnapshot = z.output<typeof hostSnapshotSchema>;

export const runStateSchema = z.enum(["pending", "assigned", "running"]);

export const midtierRunSchema = z.strictObject({
  id: z.string().min(1),
  state: runStateSchema,
  /** hosts the run needs (pending runs) */
  hosts: z.number().int().min(1).default(1),
  /** every host the run uses (assigned and running runs) */
  hostIds: z.array(hostId).default([]),
});
export type MidtierRun = z.output<typeof midtierRunSchema>;

export const midtierDataSchema = z.strictObject({ runs: z.array(midtierRunSchema) });
export type MidtierData = z.output<typeof midtierDataSchema>;

export const rabbitmqDataSchema = z.strictObject({
  /** ready messages in the pool's request queues (pending runs without ids) */
  readyMessages: z.number().int().min(0).default(0),
  /** hosts proved busy: a consumer on a run queue, or unacknowledged messages on its channels */
  busy: z.array(z.strictObject({ host: hostId, why: z.string() })).default([]),
  /** run-queue consumers that map to no known host (and are not ignored): they blind the pool */
  unknownConsumers: z
    .array(z.strictObject({ connection: z.string(), runId: z.string().optional() }))
    .default([]),
});
export type RabbitmqData = z.output<typeof rabbitmqDataSchema>;

const readingOf = <T extends z.ZodType>(data: T) =>
  z.discriminatedUnion("status", [
    z.strictObject({ status: z.literal("ok"), ageMs: z.number().min(0), data }),
    z.strictObject({ status: z.literal("failed"), why: z.string() }),
    z.strictObject({ status: z.literal("missing"), why: z.string().optional() }),
  ]);

export const signalsSchema = z.strictObject({
  midtier: readingOf(midtierDataSchema).optional(),
  rabbitmq: readingOf(rabbitmqDataSchema).optional(),
});
export type Signals = z.output<typeof signalsSchema>;
export type SignalReading = NonNullable<Signals[keyof Signals]>;

export const bootstrapResultSchema = z.strictObject({
  at: instant,
  /** passed: every step passed; failed: `step` failed with `code`; skipped: no channel yet */
  outcome: z.enum(["passed", "failed", "skipped"]),
  /** access (vault, ssh/ssm), playpen, register, ... */
  step: z.string(),
  /** short code such as ssh:unreachable, vault:sealed, playpen:/data/playpen:marker */
  code: z.string(),
  /** the playpen path, for playpen checks (shared-storage comparison) */
  playpen: z.string().optional(),
  /** a playpen check re-run on a ready host as a reference */
  reference: z.boolean().default(false),
});
export type BootstrapResult = z.output<typeof bootstrapResultSchema>;

export const protectionSchema = z.strictObject({
  since: instant,
  reason: z.string(),
  cause: z.enum(["failures", "blocked"]),
});

/** A pool's control state, from the StateStore (DESIGN.md, "Per pool, in a small state store"). */
export const poolControlSchema = z.strictObject({
  paused: z.strictObject({ by: z.string(), why: z.string(), at: instant }).nullable().default(null),
  holds: z
    .array(
      z.strictObject({
        hosts: z.number().int().min(0),
        until: instant,
        by: z.string(),
        why: z.string(),
      }),
    )
    .default([]),
  stopRequests: z
    .record(
      hostId,
      z.strictObject({ by: z.string(), why: z.string(), force: z.boolean(), at: instant }),
    )
    .default({}),
  protection: protectionSchema.nullable().default(null),
  /** each start vor-power made and its immediate result; trusted over Describe during startGrace */
  startRecords: z
    .record(
      hostId,
      z.strictObject({
        at: instant,
        result: z.enum(["ok", "failed"]),
        code: z.string().optional(),
      }),
    )
    .default({}),
  /** raw bootstrap results not yet classified by the planner */
  bootstrapResults: z.record(hostId, z.array(bootstrapResultSchema)).default({}),
  /** submitted runs the midtier has not shown yet */
  submitted: z
    .array(
      z.strictObject({
        runId: z.string(),
        hosts: z.number().int().min(1),
        at: instant,
        expiresAt: instant,
      }),
    )
    .default([]),
  counters: z
    .strictObject({
      consecutiveFailures: z.number().int().min(0).default(0),
      startFailures: z.number().int().min(0).default(0),
      startBackoffUntil: instant.nullable().default(null),
    })
    .default({ consecutiveFailures: 0, startFailures: 0, startBackoffUntil: null }),
  marks: z
    .strictObject({
      blindSince: instant.nullable().default(null),
      blockedSince: instant.nullable().default(null),
      signalDownSince: z.record(z.string(), instant).default({}),
    })
    .default({ blindSince: null, blockedSince: null, signalDownSince: {} }),
  /** alerts already sent this episode, by key, so each is sent once */
  alertsSent: z.record(z.string(), instant).default({}),
  /** the learned pre-warm's arrival profile and gap distribution (shared/plan/prewarm.ts) */
  learned: z.record(z.string(), z.number().min(0)).default({}),
});
export type PoolControl = z.output<typeof poolControlSchema>;

/** An empty control state: what a pool never touched has. */
export function emptyPoolControl(): PoolControl {
  return poolControlSchema.parse({});
}

export const triggerEventSchema = z.strictObject({
  type: z.enum(["tick", "run-submitted", "host-state-change", "ops"]),
  detail: z.string().optional(),
});

export const poolSnapshotSchema = z.strictObject({
  hosts: z.array(hostSnapshotSchema).default([]),
  signals: signalsSchema.default({}),
  control: poolControlSchema.prefault({}),
  events: z.array(triggerEventSchema).default([]),
});
export type PoolSnapshot = z.output<typeof poolSnapshotSchema>;

export const snapshotSchema = z.strictObject({
  $schema: z.string().optional(),
  observedAt: instant,
  pools: z.record(z.string(), poolSnapshotSchema),
});
export type Snapshot = z.output<typeof snapshotSchema>;
export type SnapshotInput = z.input<typeof snapshotSchema>;
