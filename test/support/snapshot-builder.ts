import { parseConfig, type Config } from "../../shared/config/index.ts";
import {
  snapshotSchema,
  TAG,
  type HostSnapshot,
  type Lifecycle,
  type PoolSnapshot,
  type Snapshot,
  type SnapshotInput,
} from "../../shared/plan/index.ts";
import { rawConfigWith } from "./config-builder.ts";

// Builders for planner fixtures: literal instants, hosts by lifecycle, pools with signals.

/** A literal UTC instant: at("2026-03-04T10:00") */
export const at = (text: string): Date => new Date(text.endsWith("Z") ? text : `${text}:00Z`);

/** A validated config from the config builder, with changes ("pools.compute.max", 4). */
export function plannerConfig(...changes: [string, unknown][]): Config {
  const result = parseConfig(rawConfigWith(...changes));
  if (!result.ok)
    throw new Error(`plannerConfig: invalid test config: ${JSON.stringify(result.errors)}`);
  return result.config;
}

/** A host: `host("i-1", "running", { lifecycle: "ready", since: "2026-03-04T09:00:00Z" })`. */
export function host(
  id: string,
  cloudState: HostSnapshot["cloudState"],
  tags: Partial<Record<keyof typeof TAG, string>> & { lifecycle?: Lifecycle } = {},
  launchedAt?: string,
): HostSnapshot {
  const out: Record<string, string> = { "vor:pool": "compute" };
  for (const [key, value] of Object.entries<string>(tags)) {
    if (!(key in TAG)) throw new Error(`host(): unknown tag field ${key}`);
    out[TAG[key as keyof typeof TAG]] = value;
  }
  return { id, cloudState, tags: out, ...(launchedAt ? { launchedAt } : {}) };
}

/** Signals where both sources read ok with the given runs and busy hosts. */
export function okSignals(
  options: {
    runs?: {
      id: string;
      state: "pending" | "assigned" | "running";
      hosts?: number;
      hostIds?: string[];
    }[];
    busy?: string[];
    readyMessages?: number;
  } = {},
): PoolSnapshot["signals"] {
  return {
    midtier: {
      status: "ok",
      ageMs: 5_000,
      data: { runs: (options.runs ?? []).map((r) => ({ hosts: 1, hostIds: [], ...r })) },
    },
    rabbitmq: {
      status: "ok",
      ageMs: 5_000,
      data: {
        readyMessages: options.readyMessages ?? 0,
        busy: (options.busy ?? []).map((h) => ({ host: h, why: "consumer on a run queue" })),
        unknownConsumers: [],
      },
    },
  };
}

/** A snapshot of the pool "compute" (validated, defaults filled). */
export function snapshotOf(observedAt: Date, pool: SnapshotInput["pools"][string]): Snapshot {
  return snapshotSchema.parse({ observedAt: observedAt.toISOString(), pools: { compute: pool } });
}
