import { z } from "zod";
import { durationSchema } from "./duration.ts";
import { secretRefSchema } from "./secret.ts";

// The config file's shape (DESIGN.md "Configuration", a contract). Every object is strict: an
// unknown key is an error, so a typo never silently disables a safety setting. Durations become
// milliseconds; defaults are DESIGN.md's.

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const nameText = (what: string) =>
  z.string().regex(NAME, {
    error: (issue) =>
      `expected a ${what} name of letters, digits, "_", "." or "-" (at most 63), found ${JSON.stringify(issue.input)}; fix: rename it`,
  });

const regexText = (example: string) =>
  z.string().superRefine((text, ctx) => {
    try {
      new RegExp(text);
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        message: `expected a JavaScript regular expression such as ${example}, found ${JSON.stringify(text)} (${error instanceof Error ? error.message : "invalid"}); fix: escape special characters with \\\\`,
      });
    }
  });

// IS stores day fields as strings; YAML reads `monthdays: 1` as a number, so numbers are accepted
// and become strings.
const dayText = z.union([z.string(), z.number().int()]).transform(String);
const dayField = z.union([dayText, z.array(dayText).min(1)]);

export const periodSchema = z.strictObject({
  description: z.string().optional(),
  begintime: z.string().optional(),
  endtime: z.string().optional(),
  weekdays: dayField.optional(),
  monthdays: dayField.optional(),
  months: dayField.optional(),
});

export const scheduleSchema = z.strictObject({
  description: z.string().optional(),
  timezone: z.string(),
  periods: z.array(periodSchema).min(1),
});

const positiveInt = z.number().int().min(1);

export const runScheduleSchema = z.strictObject({
  description: z.string().optional(),
  cron: z.string(),
  timezone: z.string(),
  pool: z.string(),
  hosts: positiveInt,
  leadTime: durationSchema.default(0),
  /** how long the run usually takes; the floor holds that long after it starts (15m when unset) */
  expectedDuration: durationSchema.optional(),
});

export const windowSchema = z.strictObject({
  schedule: z.string(),
  hosts: positiveInt,
});

export const busySourceSchema = z.enum(["rabbitmq", "midtier"]);
export type BusySource = z.infer<typeof busySourceSchema>;

export const poolSchema = z.strictObject({
  description: z.string().optional(),
  min: z.number().int().min(0).default(0),
  max: z.number().int().min(0),
  windows: z.array(windowSchema).default([]),
  /** unset: every configured source (the safest reading); must include midtier */
  busy: z.array(busySourceSchema).min(1).optional(),
  prewarm: z.enum(["none", "learned"]).default("none"),
  runsPerHost: positiveInt.default(1),
  startupEstimate: durationSchema.default(5 * 60_000),
  startTimeout: durationSchema.default(10 * 60_000),
  startGrace: durationSchema.default(2 * 60_000),
  startBackoffMax: durationSchema.default(30 * 60_000),
  bootGrace: durationSchema.default(5 * 60_000),
  idleTimeout: durationSchema.default(20 * 60_000),
  minUptime: durationSchema.default(15 * 60_000),
  drainGrace: durationSchema.default(60_000),
  restartCooldown: durationSchema.default(5 * 60_000),
  maxStartsPerTick: positiveInt.default(4),
  maxBootstrapAttempts: positiveInt.default(3),
  bootstrapTimeout: durationSchema.default(15 * 60_000),
  maxConsecutiveFailures: positiveInt.default(3),
  protectionCooldown: durationSchema.default(60 * 60_000),
  blockedTimeout: durationSchema.default(30 * 60_000),
  signalMaxAge: durationSchema.default(2 * 60_000),
  signalAlertAfter: durationSchema.default(10 * 60_000),
  checkTimeout: durationSchema.default(60_000),
  eventTtl: durationSchema.default(10 * 60_000),
  channel: z.enum(["ssh", "ssm"]).default("ssh"),
});

const httpUrl = z.url({
  protocol: /^https?$/,
  error: (issue) =>
    `expected an http(s) URL such as https://rabbitmq.internal:15672, found ${JSON.stringify(issue.input)}; fix: write the full URL with its scheme`,
});

export const rabbitmqSchema = z.strictObject({
  managementUrl: httpUrl,
  username: z.string().min(1),
  password: secretRefSchema,
  timeout: durationSchema.default(5_000),
  requestQueues: z
    .array(
      z.strictObject({
        vhost: z.string().default("/"),
        queue: z.string().min(1),
        pool: z.string(),
      }),
    )
    .default([]),
  runQueues: z
    .strictObject({
      vhost: z.string().default("/"),
      pattern: regexText("^vor\\.run\\.(?<runId>[^.]+)\\.").refine(
        (text) => text.includes("(?<runId>"),
        {
          error: (issue) =>
            `expected a pattern with a named group (?<runId>...) that captures the run id, found ${JSON.stringify(issue.input)}; fix: e.g. "^vor\\\\.run\\\\.(?<runId>[^.]+)\\\\."`,
        },
      ),
    })
    .optional(),
  hostOf: z.enum(["connectionName", "peerAddress"]).default("connectionName"),
  ignoreConsumers: z.array(regexText("^vor-midtier")).default([]),
});

export const midtierSchema = z.strictObject({
  runsUrl: httpUrl,
  token: secretRefSchema,
  timeout: durationSchema.default(5_000),
  listMaxAge: durationSchema.default(30_000),
  fields: z
    .strictObject({
      id: z.string().default("id"),
      state: z.string().default("status"),
      pool: z.string().default("pool"),
      hostsNeeded: z.string().default("hosts"),
      hostIds: z.string().default("hostIds"),
    })
    .default({ id: "id", state: "status", pool: "pool", hostsNeeded: "hosts", hostIds: "hostIds" }),
});

export const signalsSchema = z.strictObject({
  rabbitmq: rabbitmqSchema.optional(),
  midtier: midtierSchema.optional(),
});

const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, {
  error: (issue) =>
    `expected an AWS region such as eu-west-2, found ${JSON.stringify(issue.input)}; fix: use the region's code`,
});

export const cloudSchema = z.discriminatedUnion("provider", [
  z.strictObject({
    provider: z.literal("aws"),
    region: awsRegion,
    poolTag: z.string().min(1).default("vor:pool"),
    hibernate: z.boolean().default(false),
  }),
]);

export const stateSchema = z.discriminatedUnion("provider", [
  z.strictObject({ provider: z.literal("dynamodb"), table: z.string().min(3).max(255) }),
]);

export const alertsSchema = z.discriminatedUnion("provider", [
  z.strictObject({
    provider: z.literal("sns"),
    topicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/, {
      error: (issue) =>
        `expected an SNS topic ARN such as arn:aws:sns:eu-west-2:123456789012:vor-power, found ${JSON.stringify(issue.input)}; fix: copy the topic's ARN`,
    }),
  }),
]);

export const consulSchema = z.strictObject({
  address: httpUrl,
  token: secretRefSchema,
  service: z.string().min(1),
  datacenter: z.string().optional(),
});

const sshAddress = z.string().regex(/^(privateIp|publicIp|tag:.+)$/, {
  error: (issue) =>
    `expected privateIp, publicIp or tag:<key> (a tag holding host:port), found ${JSON.stringify(issue.input)}; fix: use one of those`,
});

export const bootstrapSchema = z.strictObject({
  vault: z
    .strictObject({
      address: httpUrl,
      namespace: z.string().optional(),
      approle: z.strictObject({ roleId: z.string().min(1), secretId: secretRefSchema }),
      sign: z.strictObject({
        mount: z.string().min(1),
        role: z.string().min(1),
        principals: z.array(z.string().min(1)).min(1),
        ttl: durationSchema.default(5 * 60_000),
      }),
    })
    .optional(),
  ssh: z
    .strictObject({
      user: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(22),
      address: sshAddress.default("privateIp"),
      hostKey: z.discriminatedUnion("mode", [
        z.strictObject({ mode: z.literal("ca"), mount: z.string().min(1) }),
        z.strictObject({ mode: z.literal("pinned") }),
      ]),
    })
    .optional(),
  playpens: z
    .array(
      z.strictObject({
        path: z.string().regex(/^\/\S*$/, {
          error: (issue) =>
            `expected an absolute path such as /data/playpen, found ${JSON.stringify(issue.input)}; fix: use the path the midtier mounts it at`,
        }),
        fsTypes: z.array(z.string().min(1)).min(1),
        source: z.string().min(1).optional(),
        runAs: z.string().min(1),
        marker: z.strictObject({
          file: z.string().regex(/^[^/]+$/, {
            error: (issue) =>
              `expected a file name inside the playpen such as .vor-playpen, found ${JSON.stringify(issue.input)}; fix: no slashes`,
          }),
          content: z.string().min(1),
        }),
      }),
    )
    .default([]),
});

const namedMap = <T extends z.ZodType>(what: string, value: T) =>
  z.record(nameText(what), value).default({});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  schedules: namedMap("schedule", scheduleSchema),
  runSchedules: namedMap("run schedule", runScheduleSchema),
  pools: z.record(nameText("pool"), poolSchema),
  signals: signalsSchema,
  cloud: cloudSchema,
  state: stateSchema,
  alerts: alertsSchema.optional(),
  consul: consulSchema.optional(),
  bootstrap: bootstrapSchema,
});

/** The sections `schedule eval` and `schedule preview` read, validated alone. */
export const scheduleSectionsSchema = z.strictObject({
  schedules: namedMap("schedule", scheduleSchema),
  runSchedules: namedMap("run schedule", runScheduleSchema),
});

/** What zod gives back; `Config` is it after normalisation (a pool's `busy` resolved). */
export type ParsedConfig = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
/** A pool after normalisation: durations in milliseconds, defaults applied, `busy` resolved. */
export type Pool = Omit<z.output<typeof poolSchema>, "busy"> & { busy: BusySource[] };
/** A validated, normalised config: the only shape the rest of vor-power reads. */
export type Config = Omit<ParsedConfig, "pools"> & { pools: Record<string, Pool> };
export type ScheduleConfig = z.output<typeof scheduleSchema>;
export type RunScheduleConfig = z.output<typeof runScheduleSchema>;
export type PeriodConfig = z.output<typeof periodSchema>;
export type ScheduleSections = z.output<typeof scheduleSectionsSchema>;

/** The keys an object accepts at `path` in `schema`, for "did you mean" hints on unknown keys. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let nodes: z.core.$ZodType[] = [schema];
  for (const part of [...path, undefined]) {
    const next: z.core.$ZodType[] = [];
    const keys = new Set<string>();
    const visit = (node: z.core.$ZodType): void => {
      const def = node._zod.def;
      switch (def.type) {
        case "optional":
        case "default":
        case "nullable":
        case "prefault":
          visit((def as z.core.$ZodOptionalDef).innerType);
          return;
        case "pipe":
          visit((def as z.core.$ZodPipeDef).in);
          return;
        case "union":
          for (const option of (def as z.core.$ZodUnionDef).options) visit(option);
          return;
        case "object": {
          const shape = (def as z.core.$ZodObjectDef).shape;
          if (part === undefined) Object.keys(shape).forEach((k) => keys.add(k));
          else if (typeof part === "string" && shape[part]) next.push(shape[part]);
          return;
        }
        case "record":
          if (part !== undefined) next.push((def as z.core.$ZodRecordDef).valueType);
          return;
        case "array":
          if (typeof part === "number") next.push((def as z.core.$ZodArrayDef).element);
          return;
        default:
          return;
      }
    };
    nodes.forEach(visit);
    if (part === undefined) return [...keys];
    nodes = next;
  }
  return [];
}
