/**
 * The bootstrap step as one port (DESIGN.md, "Concurrency"): it begins the bootstrap of a host
 * (or, with `reference`, re-runs the playpen checks on a ready host) outside the pool's lease,
 * under the host's claim, and its raw results reach the StateStore later. The planner classifies
 * them on a following plan. Adapters: the simulator's world; `pool-bootstrap.ts` for a live
 * installation (each pool's channel: Vault-signed SSH or SSM, through `channel-bootstrap.ts`), and
 * `skip-bootstrap.ts` for a pool whose channel is not configured.
 */
export interface BootstrapStep {
  begin(pool: string, host: string, options: { reference: boolean }, now: Date): Promise<void>;
}
