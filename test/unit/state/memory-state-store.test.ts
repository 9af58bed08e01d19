import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeStateStoreContract } from "../../support/state-store-contract.ts";
import { LeaseLostError, MemoryStateStore, type Lease } from "../../../shared/state/index.ts";

describeStateStoreContract("MemoryStateStore", () => new MemoryStateStore());

const T0_MS = Date.parse("2026-03-04T10:00:00Z");
const TTL_MS = 60_000;
const POOL = "risk";

const stepArbitrary = fc.record({
  owner: fc.nat(2),
  op: fc.constantFrom("acquire", "renew", "release", "update", "request"),
  // Up to 1.5 ttl between steps, so leases expire (or not) mid-sequence.
  advanceMs: fc.integer({ min: 0, max: 90_000 }),
});

describe("MemoryStateStore lease fencing", () => {
  it("lets only the newest token write, whatever the interleaving of holders", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 3 }),
        fc.array(stepArbitrary, { minLength: 1, maxLength: 40 }),
        async (owners, steps) => {
          const store = new MemoryStateStore();
          const leases = new Map<string, Lease>();
          const writerOfToken = new Map<number, string>();
          const writes: string[] = [];
          let nowMs = T0_MS;
          let newestToken = 0;
          let lastWrittenToken = 0;

          for (const [index, step] of steps.entries()) {
            nowMs += step.advanceMs;
            const now = new Date(nowMs);
            const owner = `owner-${step.owner % owners}`;
            const lease = leases.get(owner);
            if (step.op === "acquire") {
              const acquired = await store.acquireLease(POOL, owner, now, TTL_MS);
              if (acquired !== null) {
                expect(acquired.token).toBe(newestToken + 1);
                newestToken = acquired.token;
                leases.set(owner, acquired);
              }
            } else if (step.op === "request") {
              await store.requestReconcile(POOL);
            } else if (lease === undefined) {
              continue;
            } else if (step.op === "renew") {
              const renewed = await store.renewLease(lease, now, TTL_MS);
              if (renewed !== null) leases.set(owner, renewed);
            } else if (step.op === "release") {
              await store.releaseLease(lease);
            } else {
              const key = `write-${index}`;
              try {
                await store.updatePool(lease, now, (control) => ({
                  ...control,
                  alertsSent: { ...control.alertsSent, [key]: now.toISOString() },
                }));
              } catch (error) {
                expect(error).toBeInstanceOf(LeaseLostError);
                continue;
              }
              expect(writerOfToken.get(lease.token) ?? owner).toBe(owner);
              expect(lease.token).toBeGreaterThanOrEqual(lastWrittenToken);
              expect(lease.token).toBe(newestToken);
              writerOfToken.set(lease.token, owner);
              lastWrittenToken = lease.token;
              writes.push(key);
            }
          }

          const stored = Object.keys((await store.readPool(POOL)).alertsSent);
          expect(stored.sort()).toEqual(writes.sort());
        },
      ),
    );
  });
});
