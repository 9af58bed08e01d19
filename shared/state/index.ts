// The StateStore port (per-pool control state, reconcile lease, bootstrap claims) and its
// in-memory adapter. Cloud adapters live next to their technology and run the same contract suite.
export type { Claim, ControlUpdate, Lease, StateStore } from "./state-store.ts";
export { ClaimLostError, LeaseLostError } from "./errors.ts";
export { MemoryStateStore } from "./memory-state-store.ts";
