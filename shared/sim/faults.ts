// Faults the simulated world can inject into vor-power's run (DESIGN.md's fault handling under
// test): each is off unless asked for; rates are fixed so a report is reproducible for a seed.

export const FAULT_NAMES = ["boot", "bootstrap", "vault", "capacity", "lag"] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export interface FaultSettings {
  /** share of starts whose host fails to boot (reads stopped again) */
  bootFailureRate: number;
  /** one host per pool that always fails its bootstrap (ssh:key-refused), and a small random share */
  badHostPerPool: boolean;
  bootstrapFailureRate: number;
  /** a Vault outage (sealed) from this offset after the start, for this long: bootstraps fail outside the host */
  vaultOutage: { fromMin: number; forMin: number } | undefined;
  /** share of start calls refused for capacity */
  capacityErrorRate: number;
  /** the midtier dispatches from a ready list one tick old, between plan and act */
  lag: boolean;
}

export const NO_FAULTS: FaultSettings = {
  bootFailureRate: 0,
  badHostPerPool: false,
  bootstrapFailureRate: 0,
  vaultOutage: undefined,
  capacityErrorRate: 0,
  lag: false,
};

/** The settings for `--faults boot,bootstrap,vault,capacity,lag` (documented in the README). */
export function faultSettings(names: readonly FaultName[]): FaultSettings {
  const on = new Set(names);
  return {
    bootFailureRate: on.has("boot") ? 0.05 : 0,
    badHostPerPool: on.has("bootstrap"),
    bootstrapFailureRate: on.has("bootstrap") ? 0.03 : 0,
    // Day 2, 08:00-09:30 UTC when the trace starts on a Monday 00:00 UTC: a sealed Vault at the busiest time.
    vaultOutage: on.has("vault") ? { fromMin: (24 + 8) * 60, forMin: 90 } : undefined,
    capacityErrorRate: on.has("capacity") ? 0.1 : 0,
    lag: on.has("lag"),
  };
}
