import type { HostSnapshot } from "../plan/snapshot.ts";

/** The immediate result of a start or stop call for one host. */
export type CallOutcome =
  | { ok: true }
  /** `code` is short (capacity, throttled, incorrect-state, denied:<action>); never a secret */
  | { ok: false; code: string; why: string };

/**
 * The ComputeProvider port: the hosts of a pool and the calls that start and stop them. Adapters:
 * EC2 (AWS), Azure VMs (later), the simulator's world. Words like instance or deallocate stay in
 * the adapters.
 */
export interface ComputeProvider {
  /** Every host tagged into `pool` (shutting-down and terminated hosts left out). */
  listHosts(pool: string): Promise<HostSnapshot[]>;
  /** Removes `remove`, then writes `set`. Throws TransientError/PermanentError (cause: the SDK's). */
  writeTags(
    host: string,
    set: Readonly<Record<string, string>>,
    remove: readonly string[],
  ): Promise<void>;
  /** Starts the hosts; one outcome per host, never a throw for a host's own refusal. */
  start(hosts: readonly string[]): Promise<Map<string, CallOutcome>>;
  /** Stops the hosts (hibernating when asked and possible); one outcome per host. */
  stop(
    hosts: readonly string[],
    options: { hibernate: boolean },
  ): Promise<Map<string, CallOutcome>>;
}
