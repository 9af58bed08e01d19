import type { BootstrapResult, PoolControl } from "../plan/snapshot.ts";

// The StateStore port (DESIGN.md, "Per pool, in a small state store" and "Concurrency"). Adapters:
// memory (here, for the simulator and tests), DynamoDB (AWS), Table Storage (Azure). Every write
// is conditional, so two invocations never both act on a pool.

/** The reconcile lease of one pool. `token` fences every write made under it. */
export interface Lease {
  readonly pool: string;
  readonly owner: string;
  /** strictly increasing per pool: a later holder always has a larger token */
  readonly token: number;
  readonly expiresAt: Date;
}

/** A per-host bootstrap claim (bootstrap runs outside the lease, for minutes). */
export interface Claim {
  readonly pool: string;
  readonly host: string;
  readonly owner: string;
  readonly token: number;
  readonly expiresAt: Date;
}

/**
 * A change to a pool's control state, applied atomically by the store. Pure, and it may run more
 * than once: writes made outside the lease (`addSubmitted`, `recordBootstrapResults`) can race an
 * update, so real adapters check a version (DynamoDB condition, Table Storage ETag) and retry.
 */
export type ControlUpdate = (control: PoolControl) => PoolControl;

export interface StateStore {
  /** The pool's control state (an empty one for a pool never seen). */
  readPool(pool: string): Promise<PoolControl>;

  /**
   * Applies `update` under the lease: only if `lease` is still the pool's current lease (same
   * token, not expired at `now`). Throws LeaseLostError otherwise, writing nothing.
   */
  updatePool(lease: Lease, now: Date, update: ControlUpdate): Promise<PoolControl>;

  /**
   * Stores a submitted run (outside the lease: an invocation stores its runs first, then tries
   * the lease). Idempotent by run id.
   */
  addSubmitted(pool: string, run: PoolControl["submitted"][number]): Promise<void>;

  /**
   * Takes the pool's lease if it is free or expired at `now`; null while any holder has it (the
   * same owner included: a lease is never re-entered).
   */
  acquireLease(pool: string, owner: string, now: Date, ttlMs: number): Promise<Lease | null>;
  /** Extends a held lease; null when it was lost (expired and taken, or released). */
  renewLease(lease: Lease, now: Date, ttlMs: number): Promise<Lease | null>;
  /**
   * Records that a reconcile is wanted, for the current holder to run once more. A caller that
   * failed to acquire calls this, then tries `acquireLease` once more: the holder may have
   * released in between, and nobody else would see the request until the next tick.
   */
  requestReconcile(pool: string): Promise<void>;
  /**
   * Releases the lease unless a reconcile was requested meanwhile: then the request is consumed,
   * the lease is kept, and the caller must plan once more ("again").
   */
  releaseLease(lease: Lease): Promise<"released" | "again">;

  /** Claims a host for bootstrap if unclaimed or the claim expired at `now`; null otherwise. */
  claimHost(
    pool: string,
    host: string,
    owner: string,
    now: Date,
    ttlMs: number,
  ): Promise<Claim | null>;
  /** Extends a claim; null when it was revoked or lost. */
  renewClaim(claim: Claim, now: Date, ttlMs: number): Promise<Claim | null>;
  /** Ends a claim (the bootstrapper is done). A no-op when it is no longer held. */
  releaseClaim(claim: Claim): Promise<void>;
  /** Revokes any claim on the host (the planner stops or quarantines it): a late result is refused. */
  revokeClaim(pool: string, host: string): Promise<void>;
  /**
   * Records a bootstrap's raw results, conditional on `claim` still being held at `now`; throws
   * ClaimLostError otherwise, writing nothing.
   */
  recordBootstrapResults(
    claim: Claim,
    now: Date,
    results: readonly BootstrapResult[],
  ): Promise<void>;
}
