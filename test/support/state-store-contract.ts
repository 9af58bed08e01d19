import { describe, expect, it } from "vitest";
import {
  emptyPoolControl,
  type BootstrapResult,
  type PoolControl,
} from "../../shared/plan/snapshot.ts";
import { ClaimLostError, LeaseLostError, type StateStore } from "../../shared/state/index.ts";

// The StateStore contract (DESIGN.md, "Concurrency"), run against every adapter: the memory one
// in test/unit/state, the DynamoDB one against moto. `makeStore` must return an empty store on
// every call. Time is always an instant passed in; the suite never reads the clock.

const T0 = new Date("2026-03-04T10:00:00Z");
const TTL_MS = 60_000;
const POOL = "risk";
const HOST = "i-0a1b2c3d";
const OTHER_HOST = "i-0e4f5a6b";

/** T0 plus `seconds`. */
function at(seconds: number): Date {
  return new Date(T0.getTime() + seconds * 1000);
}

function submittedRun(runId: string): PoolControl["submitted"][number] {
  return { runId, hosts: 1, at: at(0).toISOString(), expiresAt: at(600).toISOString() };
}

function bootstrapResult(code: string, outcome: BootstrapResult["outcome"]): BootstrapResult {
  return { at: at(30).toISOString(), outcome, step: "access", code, reference: false };
}

/** Registers the StateStore contract for one adapter. */
export function describeStateStoreContract(
  name: string,
  makeStore: () => Promise<StateStore> | StateStore,
): void {
  const fresh = async (): Promise<StateStore> => makeStore();

  describe(`StateStore contract: ${name}`, () => {
    describe("readPool", () => {
      it("returns an empty control state for a pool never seen", async () => {
        const store = await fresh();

        const control = await store.readPool("never-seen");

        expect(control).toEqual(emptyPoolControl());
      });

      it("returns a copy that cannot change what is stored", async () => {
        const store = await fresh();
        await store.addSubmitted(POOL, submittedRun("run-1"));

        const control = await store.readPool(POOL);
        control.submitted.length = 0;
        control.alertsSent["blind"] = at(0).toISOString();

        expect(await store.readPool(POOL)).toEqual({
          ...emptyPoolControl(),
          submitted: [submittedRun("run-1")],
        });
      });
    });

    describe("lease", () => {
      it("grants a free pool's lease to an owner until ttl after now", async () => {
        const store = await fresh();

        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);

        expect(lease).toMatchObject({ pool: POOL, owner: "tick-1", expiresAt: at(60) });
        expect(lease?.token).toBeGreaterThan(0);
      });

      it.each([
        [59.999, "refuses", false],
        [60, "grants", true],
      ])("at %ss after acquisition %s the lease to another owner", async (seconds, _, granted) => {
        const store = await fresh();
        await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);

        const lease = await store.acquireLease(POOL, "tick-2", at(seconds), TTL_MS);

        expect(lease !== null).toBe(granted);
      });

      it("hands an expired lease to a new owner with a larger token", async () => {
        const store = await fresh();
        const first = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);

        const second = await store.acquireLease(POOL, "tick-2", at(90), TTL_MS);

        expect(second).toMatchObject({ owner: "tick-2", expiresAt: at(150) });
        expect(second?.token).toBeGreaterThan(first?.token ?? Infinity);
      });

      it("gives the lease to exactly one of two concurrent acquirers", async () => {
        const store = await fresh();

        const leases = await Promise.all([
          store.acquireLease(POOL, "tick-1", at(0), TTL_MS),
          store.acquireLease(POOL, "event-1", at(0), TTL_MS),
        ]);

        expect(leases.filter((lease) => lease !== null)).toHaveLength(1);
      });

      it("keeps leases of different pools apart", async () => {
        const store = await fresh();
        await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);

        const other = await store.acquireLease("batch", "tick-2", at(0), TTL_MS);

        expect(other).not.toBeNull();
      });

      it("renews a held lease with the same token and a later expiry", async () => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");

        const renewed = await store.renewLease(lease, at(45), TTL_MS);
        const rival = await store.acquireLease(POOL, "tick-2", at(90), TTL_MS);

        expect(renewed).toMatchObject({ token: lease.token, owner: "tick-1", expiresAt: at(105) });
        expect(rival).toBeNull();
      });

      it("renews a lease that expired while nobody took it over", async () => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");

        const renewed = await store.renewLease(lease, at(75), TTL_MS);

        expect(renewed).toMatchObject({ token: lease.token, expiresAt: at(135) });
      });

      it("refuses to renew a lease another owner took over", async () => {
        const store = await fresh();
        const stale = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (stale === null) throw new Error("arrange: no lease");
        await store.acquireLease(POOL, "tick-2", at(90), TTL_MS);

        const renewed = await store.renewLease(stale, at(95), TTL_MS);

        expect(renewed).toBeNull();
      });

      it("refuses to renew a released lease", async () => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");
        await store.releaseLease(lease);

        const renewed = await store.renewLease(lease, at(10), TTL_MS);

        expect(renewed).toBeNull();
      });

      it("frees a released lease at once and gives the next holder a larger token", async () => {
        const store = await fresh();
        const first = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (first === null) throw new Error("arrange: no lease");

        const released = await store.releaseLease(first);
        const next = await store.acquireLease(POOL, "tick-2", at(10), TTL_MS);

        expect(released).toBe("released");
        expect(next?.token).toBeGreaterThan(first.token);
      });
    });

    describe("updatePool", () => {
      it("applies an update under the current lease and returns the new state", async () => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");

        const returned = await store.updatePool(lease, at(10), (control) => ({
          ...control,
          alertsSent: { blind: at(10).toISOString() },
        }));

        const expected = { ...emptyPoolControl(), alertsSent: { blind: at(10).toISOString() } };
        expect(returned).toEqual(expected);
        expect(await store.readPool(POOL)).toEqual(expected);
      });

      it("refuses a write from a holder whose lease expired and was taken over", async () => {
        const store = await fresh();
        const stale = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        const current = await store.acquireLease(POOL, "tick-2", at(90), TTL_MS);
        if (stale === null || current === null) throw new Error("arrange: no lease");

        const write = store.updatePool(stale, at(95), (control) => ({
          ...control,
          alertsSent: { stale: at(95).toISOString() },
        }));

        await expect(write).rejects.toThrow(LeaseLostError);
        expect(await store.readPool(POOL)).toEqual(emptyPoolControl());
        await expect(store.updatePool(current, at(95), (control) => control)).resolves.toEqual(
          emptyPoolControl(),
        );
      });

      it("refuses a write from a holder whose lease was taken over and released again", async () => {
        const store = await fresh();
        const stale = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        const current = await store.acquireLease(POOL, "tick-2", at(90), TTL_MS);
        if (stale === null || current === null) throw new Error("arrange: no lease");
        await store.releaseLease(current);

        const write = store.updatePool(stale, at(100), (control) => control);

        await expect(write).rejects.toThrow(LeaseLostError);
      });

      it.each([
        [59.999, "applies"],
        [60, "refuses"],
      ])("at %ss after acquisition %s a write under the lease", async (seconds, verdict) => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");

        const write = store.updatePool(lease, at(seconds), (control) => control);

        if (verdict === "applies") await expect(write).resolves.toEqual(emptyPoolControl());
        else await expect(write).rejects.toThrow(LeaseLostError);
      });

      it("refuses a write under a released lease", async () => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");
        await store.releaseLease(lease);

        const write = store.updatePool(lease, at(10), (control) => control);

        await expect(write).rejects.toThrow(LeaseLostError);
      });

      it("leaves the state unchanged when the updater mutates its argument and throws", async () => {
        const store = await fresh();
        await store.addSubmitted(POOL, submittedRun("run-1"));
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");
        const before = await store.readPool(POOL);
        const failure = new Error("planner bug");

        const write = store.updatePool(lease, at(10), (control) => {
          control.submitted.length = 0;
          control.counters.consecutiveFailures = 7;
          throw failure;
        });

        await expect(write).rejects.toBe(failure);
        expect(await store.readPool(POOL)).toEqual(before);
      });

      it("keeps the updater's and the caller's objects from changing what is stored", async () => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");
        let kept = emptyPoolControl();

        const returned = await store.updatePool(lease, at(10), (control) => (kept = control));
        returned.counters.startFailures = 3;
        kept.counters.consecutiveFailures = 4;

        expect(await store.readPool(POOL)).toEqual(emptyPoolControl());
      });

      it("keeps every run submitted while updates under the lease are applied", async () => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");
        const runIds = ["run-1", "run-2", "run-3", "run-4", "run-5", "run-6"];
        const alerts = ["alert-1", "alert-2", "alert-3"];

        await Promise.all([
          ...runIds.map((runId) => store.addSubmitted(POOL, submittedRun(runId))),
          ...alerts.map((key) =>
            store.updatePool(lease, at(10), (control) => ({
              ...control,
              alertsSent: { ...control.alertsSent, [key]: at(10).toISOString() },
            })),
          ),
        ]);

        const control = await store.readPool(POOL);
        expect(control.submitted.map((run) => run.runId).sort()).toEqual(runIds);
        expect(Object.keys(control.alertsSent).sort()).toEqual(alerts);
      });
    });

    describe("reconcile requests", () => {
      it("answers the first release after a request with again, keeping the lease", async () => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");
        await store.requestReconcile(POOL);

        const first = await store.releaseLease(lease);
        const rival = await store.acquireLease(POOL, "event-1", at(10), TTL_MS);
        const second = await store.releaseLease(lease);

        expect(first).toBe("again");
        expect(rival).toBeNull();
        expect(second).toBe("released");
      });

      it("keeps the lease usable for the extra round that again asks for", async () => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");
        await store.requestReconcile(POOL);
        await store.releaseLease(lease);

        const write = store.updatePool(lease, at(20), (control) => control);

        await expect(write).resolves.toEqual(emptyPoolControl());
      });

      it("answers again once for several requests made during one round", async () => {
        const store = await fresh();
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");
        await Promise.all([store.requestReconcile(POOL), store.requestReconcile(POOL)]);

        const answers = [await store.releaseLease(lease), await store.releaseLease(lease)];

        expect(answers).toEqual(["again", "released"]);
      });

      it("ignores a release from a holder whose lease was taken over", async () => {
        const store = await fresh();
        const stale = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        const current = await store.acquireLease(POOL, "tick-2", at(90), TTL_MS);
        if (stale === null || current === null) throw new Error("arrange: no lease");
        await store.requestReconcile(POOL);

        const staleAnswer = await store.releaseLease(stale);
        const rival = await store.acquireLease(POOL, "event-1", at(95), TTL_MS);
        const currentAnswer = await store.releaseLease(current);

        expect(staleAnswer).toBe("released");
        expect(rival).toBeNull();
        expect(currentAnswer).toBe("again");
      });

      it("does not hand a request made before an acquisition to the new holder", async () => {
        const store = await fresh();
        await store.requestReconcile(POOL);
        const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        if (lease === null) throw new Error("arrange: no lease");

        const answer = await store.releaseLease(lease);

        expect(answer).toBe("released");
      });
    });

    describe("submitted runs", () => {
      it("stores a submitted run without any lease", async () => {
        const store = await fresh();

        await store.addSubmitted(POOL, submittedRun("run-1"));

        expect((await store.readPool(POOL)).submitted).toEqual([submittedRun("run-1")]);
      });

      it("stores a run submitted twice once", async () => {
        const store = await fresh();
        await store.addSubmitted(POOL, submittedRun("run-1"));

        await store.addSubmitted(POOL, submittedRun("run-1"));
        await store.addSubmitted(POOL, submittedRun("run-2"));

        const runIds = (await store.readPool(POOL)).submitted.map((run) => run.runId);
        expect(runIds).toEqual(["run-1", "run-2"]);
      });
    });

    describe("bootstrap claims", () => {
      it("claims an unclaimed host until ttl after now", async () => {
        const store = await fresh();

        const claim = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);

        expect(claim).toMatchObject({ pool: POOL, host: HOST, owner: "boot-1", expiresAt: at(60) });
      });

      it("refuses a second bootstrapper while the claim is held", async () => {
        const store = await fresh();
        await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);

        const second = await store.claimHost(POOL, HOST, "boot-2", at(59.999), TTL_MS);

        expect(second).toBeNull();
      });

      it("gives the host to exactly one of two concurrent claimers", async () => {
        const store = await fresh();

        const claims = await Promise.all([
          store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS),
          store.claimHost(POOL, HOST, "boot-2", at(0), TTL_MS),
        ]);

        expect(claims.filter((claim) => claim !== null)).toHaveLength(1);
      });

      it("claims hosts independently of each other and of the pool lease", async () => {
        const store = await fresh();
        await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
        await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);

        const other = await store.claimHost(POOL, OTHER_HOST, "boot-2", at(0), TTL_MS);

        expect(other).not.toBeNull();
      });

      it("hands an expired claim to a new bootstrapper with a larger token", async () => {
        const store = await fresh();
        const first = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);

        const second = await store.claimHost(POOL, HOST, "boot-2", at(60), TTL_MS);

        expect(second).toMatchObject({ owner: "boot-2", expiresAt: at(120) });
        expect(second?.token).toBeGreaterThan(first?.token ?? Infinity);
      });

      it("renews a held claim with the same token and a later expiry", async () => {
        const store = await fresh();
        const claim = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);
        if (claim === null) throw new Error("arrange: no claim");

        const renewed = await store.renewClaim(claim, at(50), TTL_MS);
        const rival = await store.claimHost(POOL, HOST, "boot-2", at(100), TTL_MS);

        expect(renewed).toMatchObject({ token: claim.token, expiresAt: at(110) });
        expect(rival).toBeNull();
      });

      it("refuses to renew a revoked claim", async () => {
        const store = await fresh();
        const claim = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);
        if (claim === null) throw new Error("arrange: no claim");
        await store.revokeClaim(POOL, HOST);

        const renewed = await store.renewClaim(claim, at(10), TTL_MS);

        expect(renewed).toBeNull();
      });

      it("appends results recorded under a held claim to the host's earlier ones", async () => {
        const store = await fresh();
        const claim = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);
        if (claim === null) throw new Error("arrange: no claim");
        const failed = bootstrapResult("ssh:unreachable", "failed");
        const passed = bootstrapResult("ok", "passed");

        await store.recordBootstrapResults(claim, at(10), [failed]);
        await store.recordBootstrapResults(claim, at(20), [passed]);

        expect((await store.readPool(POOL)).bootstrapResults).toEqual({ [HOST]: [failed, passed] });
      });

      it("refuses a late result after the claim was revoked and stores nothing", async () => {
        const store = await fresh();
        const claim = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);
        if (claim === null) throw new Error("arrange: no claim");
        await store.revokeClaim(POOL, HOST);

        const record = store.recordBootstrapResults(claim, at(10), [
          bootstrapResult("ok", "passed"),
        ]);

        await expect(record).rejects.toThrow(ClaimLostError);
        expect(await store.readPool(POOL)).toEqual(emptyPoolControl());
      });

      it("refuses results at or after the claim's expiry even when nobody took it over", async () => {
        const store = await fresh();
        const claim = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);
        if (claim === null) throw new Error("arrange: no claim");

        const record = store.recordBootstrapResults(claim, at(60), [
          bootstrapResult("ok", "passed"),
        ]);

        await expect(record).rejects.toThrow(ClaimLostError);
        expect(await store.readPool(POOL)).toEqual(emptyPoolControl());
      });

      it("refuses results from a bootstrapper whose claim was taken over", async () => {
        const store = await fresh();
        const stale = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);
        if (stale === null) throw new Error("arrange: no claim");
        await store.claimHost(POOL, HOST, "boot-2", at(70), TTL_MS);

        const record = store.recordBootstrapResults(stale, at(75), [
          bootstrapResult("ok", "passed"),
        ]);

        await expect(record).rejects.toThrow(ClaimLostError);
        expect(await store.readPool(POOL)).toEqual(emptyPoolControl());
      });

      it("lets another bootstrapper claim a released host at once, with a larger token", async () => {
        const store = await fresh();
        const first = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);
        if (first === null) throw new Error("arrange: no claim");
        await store.releaseClaim(first);

        const second = await store.claimHost(POOL, HOST, "boot-2", at(10), TTL_MS);

        expect(second?.token).toBeGreaterThan(first.token);
      });

      it("gives a claim made after a revocation a larger token", async () => {
        const store = await fresh();
        const first = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);
        if (first === null) throw new Error("arrange: no claim");
        await store.revokeClaim(POOL, HOST);

        const second = await store.claimHost(POOL, HOST, "boot-2", at(10), TTL_MS);

        expect(second?.token).toBeGreaterThan(first.token);
      });

      it("ignores a release of a claim another bootstrapper took over", async () => {
        const store = await fresh();
        const stale = await store.claimHost(POOL, HOST, "boot-1", at(0), TTL_MS);
        if (stale === null) throw new Error("arrange: no claim");
        await store.claimHost(POOL, HOST, "boot-2", at(70), TTL_MS);

        await store.releaseClaim(stale);
        const rival = await store.claimHost(POOL, HOST, "boot-3", at(80), TTL_MS);

        expect(rival).toBeNull();
      });
    });
  });
}
