import type { Signals } from "../plan/snapshot.ts";

/**
 * The SignalSource port: what the midtier and RabbitMQ say about a pool. Adapters: RabbitMQ
 * management API and the midtier's runs API (AWS issue), the simulator's world.
 */
export interface SignalSource {
  /** Readings of the pool's sources; a source that cannot be read is `failed`, never a throw. */
  read(pool: string, hosts: readonly string[]): Promise<Signals>;
  /**
   * Act's last-moment re-read of one host, right before a stop: busy, idle, or "unknown" when it
   * could not be read (which act treats as busy, for hosts that can hold work).
   */
  isBusy(pool: string, host: string): Promise<boolean | "unknown">;
}
