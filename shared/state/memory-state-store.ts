import { emptyPoolControl, type BootstrapResult, type PoolControl } from "../plan/snapshot.ts";
import { ClaimLostError, LeaseLostError } from "./errors.ts";
import type { Claim, ControlUpdate, Lease, StateStore } from "./state-store.ts";

/** A host's bootstrap claim, if any, and the last token handed out for it (revoked or not). */
interface ClaimSlot {
  current: Claim | null;
  lastToken: number;
}

interface PoolRecord {
  control: PoolControl;
  lease: Lease | null;
  /** kept after a release so the next holder still gets a larger token */
  lastLeaseToken: number;
  reconcileRequested: boolean;
  claims: Map<string, ClaimSlot>;
}

/**
 * The StateStore in memory, for the simulator and tests. Each method runs to completion before
 * any other starts, which is the atomicity the DynamoDB and Table Storage adapters get from
 * conditional writes. Everything crossing the boundary is copied with `structuredClone`, so no
 * caller (and no updater that throws halfway) can change what is stored.
 */
export class MemoryStateStore implements StateStore {
  readonly #pools = new Map<string, PoolRecord>();

  readPool(pool: string): Promise<PoolControl> {
    return settle(() => structuredClone(this.#pools.get(pool)?.control ?? emptyPoolControl()));
  }

  updatePool(lease: Lease, now: Date, update: ControlUpdate): Promise<PoolControl> {
    return settle(() => {
      const record = this.#pools.get(lease.pool);
      if (record === undefined || !isCurrent(record.lease, lease.token, now)) {
        throw new LeaseLostError(
          `Lease ${lease.token} of pool ${lease.pool} is not held at ${now.toISOString()}; nothing was written.`,
        );
      }
      // The updater may keep a reference to what it returns: store a copy of it.
      record.control = structuredClone(update(structuredClone(record.control)));
      return structuredClone(record.control);
    });
  }

  addSubmitted(pool: string, run: PoolControl["submitted"][number]): Promise<void> {
    return settle(() => {
      const { control } = this.#record(pool);
      if (!control.submitted.some((known) => known.runId === run.runId)) {
        control.submitted.push(structuredClone(run));
      }
    });
  }

  acquireLease(pool: string, owner: string, now: Date, ttlMs: number): Promise<Lease | null> {
    return settle(() => {
      const record = this.#record(pool);
      if (record.lease !== null && now < record.lease.expiresAt) return null;
      record.lastLeaseToken += 1;
      // A new holder plans from scratch, so requests made for the previous one are served.
      record.reconcileRequested = false;
      record.lease = { pool, owner, token: record.lastLeaseToken, expiresAt: expiry(now, ttlMs) };
      return structuredClone(record.lease);
    });
  }

  renewLease(lease: Lease, now: Date, ttlMs: number): Promise<Lease | null> {
    return settle(() => {
      const record = this.#pools.get(lease.pool);
      if (record?.lease?.token !== lease.token) return null;
      record.lease = { ...record.lease, expiresAt: expiry(now, ttlMs) };
      return structuredClone(record.lease);
    });
  }

  requestReconcile(pool: string): Promise<void> {
    return settle(() => {
      this.#record(pool).reconcileRequested = true;
    });
  }

  releaseLease(lease: Lease): Promise<"released" | "again"> {
    return settle(() => {
      const record = this.#pools.get(lease.pool);
      // A stale holder's release must neither free nor consume anything of the new holder's.
      if (record?.lease?.token !== lease.token) return "released";
      if (record.reconcileRequested) {
        record.reconcileRequested = false;
        return "again";
      }
      record.lease = null;
      return "released";
    });
  }

  claimHost(
    pool: string,
    host: string,
    owner: string,
    now: Date,
    ttlMs: number,
  ): Promise<Claim | null> {
    return settle(() => {
      const slot = this.#slot(pool, host);
      if (slot.current !== null && now < slot.current.expiresAt) return null;
      slot.lastToken += 1;
      slot.current = { pool, host, owner, token: slot.lastToken, expiresAt: expiry(now, ttlMs) };
      return structuredClone(slot.current);
    });
  }

  renewClaim(claim: Claim, now: Date, ttlMs: number): Promise<Claim | null> {
    return settle(() => {
      const slot = this.#pools.get(claim.pool)?.claims.get(claim.host);
      if (slot?.current?.token !== claim.token) return null;
      slot.current = { ...slot.current, expiresAt: expiry(now, ttlMs) };
      return structuredClone(slot.current);
    });
  }

  releaseClaim(claim: Claim): Promise<void> {
    return settle(() => {
      const slot = this.#pools.get(claim.pool)?.claims.get(claim.host);
      if (slot?.current?.token === claim.token) slot.current = null;
    });
  }

  revokeClaim(pool: string, host: string): Promise<void> {
    return settle(() => {
      const slot = this.#pools.get(pool)?.claims.get(host);
      if (slot !== undefined) slot.current = null;
    });
  }

  recordBootstrapResults(
    claim: Claim,
    now: Date,
    results: readonly BootstrapResult[],
  ): Promise<void> {
    return settle(() => {
      const record = this.#pools.get(claim.pool);
      const slot = record?.claims.get(claim.host);
      if (record === undefined || !isCurrent(slot?.current ?? null, claim.token, now)) {
        throw new ClaimLostError(
          `Claim ${claim.token} on host ${claim.host} of pool ${claim.pool} is not held at ${now.toISOString()}; its results were dropped.`,
        );
      }
      const known = record.control.bootstrapResults[claim.host] ?? [];
      record.control.bootstrapResults[claim.host] = [...known, ...structuredClone(results)];
    });
  }

  #record(pool: string): PoolRecord {
    let record = this.#pools.get(pool);
    if (record === undefined) {
      record = {
        control: emptyPoolControl(),
        lease: null,
        lastLeaseToken: 0,
        reconcileRequested: false,
        claims: new Map(),
      };
      this.#pools.set(pool, record);
    }
    return record;
  }

  #slot(pool: string, host: string): ClaimSlot {
    const { claims } = this.#record(pool);
    let slot = claims.get(host);
    if (slot === undefined) {
      slot = { current: null, lastToken: 0 };
      claims.set(host, slot);
    }
    return slot;
  }
}

/** Whether `held` carries `token` and is unexpired at `now` (expired from `expiresAt` on). */
function isCurrent(held: Lease | Claim | null, token: number, now: Date): boolean {
  return held !== null && held.token === token && now < held.expiresAt;
}

function expiry(now: Date, ttlMs: number): Date {
  return new Date(now.getTime() + ttlMs);
}

/** Runs `work` as an async adapter would: its result, or what it throws, arrives as a promise. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(work());
  });
}
