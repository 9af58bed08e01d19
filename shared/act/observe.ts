import type { Config } from "../config/index.ts";
import type { PoolSnapshot, Snapshot } from "../plan/snapshot.ts";
import type { Ports } from "./ports.ts";

type TriggerEvent = PoolSnapshot["events"][number];

/** One pool's part of the Snapshot: its hosts, its signals' readings, its control state. */
export async function observePool(
  pool: string,
  ports: Pick<Ports, "compute" | "signals" | "store">,
  events: TriggerEvent[] = [{ type: "tick" }],
): Promise<PoolSnapshot> {
  const hosts = await ports.compute.listHosts(pool);
  const [signals, control] = await Promise.all([
    ports.signals.read(
      pool,
      hosts.map((h) => h.id),
    ),
    ports.store.readPool(pool),
  ]);
  return { hosts, signals, control, events };
}

/** The Snapshot of every configured pool at `now` (DESIGN.md, "The core flow"). */
export async function observe(
  config: Config,
  ports: Pick<Ports, "compute" | "signals" | "store">,
  now: Date,
  events?: TriggerEvent[],
): Promise<Snapshot> {
  const names = Object.keys(config.pools);
  const pools = await Promise.all(names.map((name) => observePool(name, ports, events)));
  return {
    observedAt: now.toISOString(),
    pools: Object.fromEntries(names.map((name, i) => [name, pools[i]])) as Snapshot["pools"],
  };
}
