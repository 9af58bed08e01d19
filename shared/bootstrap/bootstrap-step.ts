/**
 * The bootstrap step as one port (DESIGN.md, "Concurrency"): it begins the bootstrap of a host
 * (or, with `reference`, re-runs the playpen checks on a ready host) outside the pool's lease,
 * under the host's claim, and its raw results reach the StateStore later. The planner classifies
 * them on a following plan. Adapters: the simulator's world; `skip-bootstrap.ts` until the
 * host-access issue lands; then Vault-signed SSH and SSM.
 */
export interface BootstrapStep {
  begin(pool: string, host: string, options: { reference: boolean }, now: Date): Promise<void>;
}
