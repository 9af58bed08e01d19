import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyPoolControl } from "../../shared/plan/snapshot.ts";
import { DynamoDbStateStore } from "../../shared/state/dynamodb-state-store.ts";
import { LeaseLostError, type Lease } from "../../shared/state/index.ts";
import { describeStateStoreContract } from "../support/state-store-contract.ts";
import { MOTO_CLIENT, missing, motoInstalled, startMoto, type Moto } from "../support/services.ts";

// The DynamoDB StateStore against moto: the contract suite the memory adapter passes, then the
// two concurrency proofs of the issue with two invocations (separate clients) on one table.

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it");

const T0 = new Date("2026-03-04T10:00:00Z");
const TTL_MS = 60_000;
const POOL = "risk";

/** T0 plus `seconds`. */
function at(seconds: number): Date {
  return new Date(T0.getTime() + seconds * 1000);
}

let moto: Moto | undefined;
let tables = 0;

function client(): DynamoDBClient {
  if (moto === undefined) throw new Error("arrange: moto is not running");
  return new DynamoDBClient({ ...MOTO_CLIENT, endpoint: moto.endpoint });
}

/** A fresh table with the store's key schema (pk, sk; on demand); its name. */
async function createTable(): Promise<string> {
  tables += 1;
  const table = `vor-power-state-${tables}`;
  await client().send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  return table;
}

beforeAll(async () => {
  if (!skip) moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

describe.skipIf(skip)("DynamoDbStateStore (moto)", () => {
  describeStateStoreContract(
    "DynamoDbStateStore on moto",
    async () => new DynamoDbStateStore({ client: client(), table: await createTable() }),
  );

  /** Two invocations of vor-power: each its own client, both on one table. */
  async function twoInvocations(): Promise<[DynamoDbStateStore, DynamoDbStateStore]> {
    const table = await createTable();
    return [
      new DynamoDbStateStore({ client: client(), table }),
      new DynamoDbStateStore({ client: client(), table }),
    ];
  }

  describe("two invocations on one table", () => {
    it("never lets two reconciles of one pool at once both act", async () => {
      const stores = await twoInvocations();
      const owners = ["tick", "event"] as const;
      const lastLease: (Lease | null)[] = [null, null];
      const landed: string[] = [];
      let refusals = 0;

      // Each round starts after the previous lease expired, so both race for a free pool; the
      // loser then writes under the lease it held last (stale by now), as a slow invocation would.
      for (let round = 0; round < 15; round += 1) {
        const now = at(round * 120);
        // Who sends first alternates: the store serves one request at a time, like DynamoDB's
        // atomic conditional writes, so the first to arrive wins; both must win some rounds.
        const order = round % 2 === 0 ? [0, 1] : [1, 0];
        const racing = new Map(
          order.map((i) => [
            i,
            stores[i]?.acquireLease(POOL, `${owners[i] ?? ""}-${round}`, now, TTL_MS),
          ]),
        );
        const acquired = await Promise.all(
          stores.map((_, i) => racing.get(i) ?? Promise.resolve(null)),
        );
        const winners = acquired.filter((lease) => lease !== null);
        acquired.forEach((lease, i) => {
          if (lease !== null) lastLease[i] = lease;
        });
        const outcomes = await Promise.all(
          stores.map(async (store, i) => {
            const lease = lastLease[i];
            if (lease == null) return "no lease";
            const key = `${lease.owner}-in-round-${round}`;
            try {
              await store.updatePool(lease, at(round * 120 + 10), (control) => ({
                ...control,
                alertsSent: { ...control.alertsSent, [key]: now.toISOString() },
              }));
            } catch (error) {
              if (error instanceof LeaseLostError) return "refused";
              throw error;
            }
            return key;
          }),
        );

        expect(winners).toHaveLength(1);
        const winnerKey = `${winners[0]?.owner ?? ""}-in-round-${round}`;
        const loser = acquired.findIndex((lease) => lease === null);
        // A loser that never held a lease cannot write; one that did writes with a stale one.
        const loserOutcome = lastLease[loser] == null ? "no lease" : "refused";
        expect(outcomes.sort()).toEqual([loserOutcome, winnerKey].sort());
        if (loserOutcome === "refused") refusals += 1;
        landed.push(winnerKey);
      }

      const stored = await stores[0].readPool(POOL);
      expect(Object.keys(stored.alertsSent).sort()).toEqual([...landed].sort());
      expect(refusals).toBeGreaterThan(0);
    });

    it("refuses a write from a lease holder that stalled past expiry after another took over", async () => {
      const [stalled, next] = await twoInvocations();
      const old = await stalled.acquireLease(POOL, "tick-1", at(0), TTL_MS);
      const current = await next.acquireLease(POOL, "tick-2", at(90), TTL_MS);
      if (old === null || current === null) throw new Error("arrange: no lease");
      await next.updatePool(current, at(95), (control) => ({
        ...control,
        alertsSent: { "by-tick-2": at(95).toISOString() },
      }));

      // The stalled holder wakes and writes: once with the real time, once with a clock that
      // lags and still thinks its lease runs; the token refuses both.
      const late = stalled.updatePool(old, at(100), (control) => ({
        ...control,
        alertsSent: { ...control.alertsSent, "by-tick-1": at(100).toISOString() },
      }));
      const lagging = stalled.updatePool(old, at(50), (control) => ({
        ...control,
        alertsSent: { ...control.alertsSent, "by-tick-1-lagging": at(50).toISOString() },
      }));

      await expect(late).rejects.toThrow(LeaseLostError);
      await expect(lagging).rejects.toThrow(LeaseLostError);
      await expect(late).rejects.toHaveProperty("cause", expect.any(TransactionCanceledException));
      expect(await stalled.renewLease(old, at(100), TTL_MS)).toBeNull();
      expect(await next.readPool(POOL)).toEqual({
        ...emptyPoolControl(),
        alertsSent: { "by-tick-2": at(95).toISOString() },
      });
    });

    it("keeps every run one invocation submits while the other updates under the lease", async () => {
      const [holder, submitter] = await twoInvocations();
      const lease = await holder.acquireLease(POOL, "tick-1", at(0), TTL_MS);
      if (lease === null) throw new Error("arrange: no lease");
      const runIds = ["run-1", "run-2", "run-3", "run-4"];

      await Promise.all([
        ...runIds.map((runId) =>
          submitter.addSubmitted(POOL, {
            runId,
            hosts: 1,
            at: at(5).toISOString(),
            expiresAt: at(605).toISOString(),
          }),
        ),
        ...[1, 2, 3].map(() =>
          holder.updatePool(lease, at(10), (control) => ({
            ...control,
            counters: { ...control.counters, startFailures: control.counters.startFailures + 1 },
          })),
        ),
      ]);

      const control = await holder.readPool(POOL);
      expect(control.submitted.map((run) => run.runId).sort()).toEqual(runIds);
      expect(control.counters.startFailures).toBe(3);
    });
  });

  describe("stored items", () => {
    it("keeps the control state as JSON with a version, and the lease beside it", async () => {
      const table = await createTable();
      const store = new DynamoDbStateStore({ client: client(), table });
      const lease = await store.acquireLease(POOL, "tick-1", at(0), TTL_MS);
      if (lease === null) throw new Error("arrange: no lease");

      await store.updatePool(lease, at(10), (control) => ({ ...control, learned: { "0": 2 } }));
      await store.releaseLease(lease);

      const item = async (sk: string) =>
        (
          await client().send(
            new GetItemCommand({
              TableName: table,
              Key: { pk: { S: `pool#${POOL}` }, sk: { S: sk } },
            }),
          )
        ).Item;
      const control = await item("control");
      const leaseItem = await item("lease");
      expect(JSON.parse(control?.control?.S ?? "null")).toEqual({
        ...emptyPoolControl(),
        learned: { "0": 2 },
      });
      expect(control?.version).toEqual({ N: "1" });
      expect(leaseItem).toEqual({
        pk: { S: `pool#${POOL}` },
        sk: { S: "lease" },
        lastToken: { N: String(lease.token) },
        reconcileRequested: { BOOL: false },
      });
    });

    it("refuses to read a control state that does not validate", async () => {
      const table = await createTable();
      const store = new DynamoDbStateStore({ client: client(), table });
      await client().send(
        new PutItemCommand({
          TableName: table,
          Item: {
            pk: { S: `pool#${POOL}` },
            sk: { S: "control" },
            control: { S: JSON.stringify({ paused: "yes" }) },
            version: { N: "3" },
          },
        }),
      );

      const read = store.readPool(POOL);

      await expect(read).rejects.toThrow(
        /control state of pool risk .* is not a valid PoolControl/,
      );
    });

    it("surfaces a DynamoDB failure with the SDK error as its cause", async () => {
      const store = new DynamoDbStateStore({ client: client(), table: "no-such-table" });

      const read = store.readPool(POOL);

      await expect(read).rejects.toThrow(
        /readPool: .*pool risk in table no-such-table \(ResourceNotFoundException\)/,
      );
      await expect(read).rejects.toHaveProperty(
        "cause",
        expect.objectContaining({ name: "ResourceNotFoundException" }),
      );
    });
  });
});
