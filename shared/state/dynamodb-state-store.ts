import {
  ConditionalCheckFailedException,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from "@aws-sdk/client-dynamodb";
import {
  emptyPoolControl,
  poolControlSchema,
  type BootstrapResult,
  type PoolControl,
} from "../plan/snapshot.ts";
import { ClaimLostError, LeaseLostError } from "./errors.ts";
import type { Claim, ControlUpdate, Lease, StateStore } from "./state-store.ts";

type Item = Record<string, AttributeValue>;

/**
 * Attempts of one read-modify-write of a control item before giving up. Writers outside the lease
 * (`addSubmitted`, `recordBootstrapResults`) race it: a burst of ten submitted runs is ten writers
 * at once, and each round of the race lets only one of them through, so "a few" must cover a burst.
 */
const CONTROL_WRITE_ATTEMPTS = 12;
/** Full-jitter backoff between those attempts: up to 10, 20, 40 ... ms, at most 500 ms. */
const BACKOFF_BASE_MS = 10;
const BACKOFF_CAP_MS = 500;

/** Names used in every expression, so none collides with a DynamoDB reserved word (`owner`, `token`). */
const NAMES = {
  "#owner": "owner",
  "#token": "token",
  "#expiresAt": "expiresAt",
  "#lastToken": "lastToken",
  "#requested": "reconcileRequested",
} as const;

/**
 * The StateStore on one DynamoDB table. Every write is conditional, so two invocations never both
 * act on a pool; DynamoDB applies each conditional write to an item atomically.
 *
 * Key schema (for the CDK table): partition key `pk` (string), sort key `sk` (string), on-demand
 * billing, no GSI, no TTL attribute (expiry is compared with the caller's `now`, never deleted).
 * Items, all under `pk` = `pool#<name>`:
 *
 * - `sk` = `control`: `control` (the PoolControl as a JSON string, validated with
 *   `poolControlSchema` on every read and before every write) and `version` (number, +1 per write).
 *   Absent for a pool never written: it reads as an empty control state at version 0.
 * - `sk` = `lease`: `owner`, `token` and `expiresAt` (epoch ms) while the lease is held, all three
 *   removed on release; `lastToken`, the last token handed out, kept forever; `reconcileRequested`
 *   (bool).
 * - `sk` = `claim#<host>`: `owner`, `token`, `expiresAt` while claimed (removed on release and
 *   revocation) and `lastToken`, kept forever.
 *
 * Why each condition exists:
 *
 * - acquire/claim: only when nobody holds it (`token` absent: never taken, released or revoked) or
 *   the holder's `expiresAt` <= now. The new token is `lastToken` + 1 in the same update, so a
 *   later holder always has a larger token, even after a release or revocation.
 * - renew: the token still matches, so a lease taken over (new token) or released (no token) is
 *   not resurrected. A lease that merely expired with nobody taking it is renewed, as the port
 *   promises: nobody else acted in between, since any acquisition changes the token.
 * - updatePool: a `ConditionCheck` on the lease item (token matches and `expiresAt` > now) and a
 *   `Put` of the control item conditional on the `version` read, in one `TransactWriteItems`: a
 *   lease lost between the check and the write cannot slip through, and a writer outside the lease
 *   that got in first makes the update run again on what it wrote instead of overwriting it.
 * - addSubmitted: the version only (it runs outside the lease, by design).
 * - recordBootstrapResults: like updatePool, but the `ConditionCheck` is on the host's claim, so a
 *   revoked, released, expired or taken-over claim's late results are refused.
 * - release: the token matches, so a stale holder frees nothing of the next holder's; and
 *   `reconcileRequested` decides between consuming the request (keeping the lease, "again") and
 *   releasing, each as its own conditional write, so a request that lands in between is never lost.
 * - requestReconcile: only while a lease item has a token (someone holds or held it unreleased);
 *   with no holder the request has nobody to serve it, and the requester's next `acquireLease`
 *   would clear it anyway.
 * - releaseClaim / revokeClaim: the token matches / a token exists, so neither creates an item.
 *
 * Errors: a lost lease or claim is LeaseLostError / ClaimLostError with DynamoDB's refusal as
 * `cause`. Anything else DynamoDB answers (throttling once the SDK's own retries are spent, 5xx,
 * a missing table, denied access) is an Error naming the operation, pool and table, with the SDK
 * error as `cause`; so is a stored control state that does not validate. Nothing is logged.
 */
export class DynamoDbStateStore implements StateStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(options: { client: DynamoDBClient; table: string }) {
    this.#client = options.client;
    this.#table = options.table;
  }

  async readPool(pool: string): Promise<PoolControl> {
    return (await this.#readControl(pool)).control;
  }

  async updatePool(lease: Lease, now: Date, update: ControlUpdate): Promise<PoolControl> {
    const lost = (cause: unknown): LeaseLostError =>
      new LeaseLostError(
        `Lease ${lease.token} of pool ${lease.pool} is not held at ${now.toISOString()}; nothing was written.`,
        { cause },
      );
    return this.#writeControl(lease.pool, "updatePool", update, {
      ConditionCheck: {
        TableName: this.#table,
        Key: key(lease.pool, "lease"),
        ConditionExpression: "#token = :token AND #expiresAt > :now",
        ExpressionAttributeNames: { "#token": NAMES["#token"], "#expiresAt": NAMES["#expiresAt"] },
        ExpressionAttributeValues: { ":token": num(lease.token), ":now": num(now.getTime()) },
      },
      lost,
    });
  }

  async addSubmitted(pool: string, run: PoolControl["submitted"][number]): Promise<void> {
    await this.#writeControl(pool, "addSubmitted", (control) =>
      control.submitted.some((known) => known.runId === run.runId)
        ? null
        : { ...control, submitted: [...control.submitted, run] },
    );
  }

  async acquireLease(pool: string, owner: string, now: Date, ttlMs: number): Promise<Lease | null> {
    const item = await this.#take(pool, "lease", owner, now, ttlMs, "acquireLease");
    return item === null ? null : toLease(pool, item);
  }

  async renewLease(lease: Lease, now: Date, ttlMs: number): Promise<Lease | null> {
    const item = await this.#extend(lease.pool, "lease", lease.token, now, ttlMs, "renewLease");
    return item === null ? null : toLease(lease.pool, item);
  }

  async requestReconcile(pool: string): Promise<void> {
    await this.#ifCondition("requestReconcile", pool, () =>
      this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(pool, "lease"),
          UpdateExpression: "SET #requested = :true",
          ConditionExpression: "attribute_exists(#token)",
          ExpressionAttributeNames: {
            "#requested": NAMES["#requested"],
            "#token": NAMES["#token"],
          },
          ExpressionAttributeValues: { ":true": { BOOL: true } },
        }),
      ),
    );
  }

  async releaseLease(lease: Lease): Promise<"released" | "again"> {
    const names = { "#token": NAMES["#token"], "#requested": NAMES["#requested"] };
    const values = {
      ":token": num(lease.token),
      ":true": { BOOL: true },
      ":false": { BOOL: false },
    };
    // Two conditional writes, since one update cannot branch: a request arriving between them makes
    // both fail, and the loop then consumes it. A request only ever goes from false to true, and
    // only the holder sets it back, so the second round ends it.
    for (let round = 0; round < 3; round += 1) {
      const consumed = await this.#ifCondition("releaseLease", lease.pool, () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: key(lease.pool, "lease"),
            UpdateExpression: "SET #requested = :false",
            ConditionExpression: "#token = :token AND #requested = :true",
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      );
      if (consumed !== null) return "again";
      const released = await this.#ifCondition("releaseLease", lease.pool, () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: key(lease.pool, "lease"),
            UpdateExpression: "REMOVE #owner, #token, #expiresAt",
            ConditionExpression:
              "#token = :token AND (attribute_not_exists(#requested) OR #requested <> :true)",
            ExpressionAttributeNames: {
              ...names,
              "#owner": NAMES["#owner"],
              "#expiresAt": NAMES["#expiresAt"],
            },
            ExpressionAttributeValues: { ":token": values[":token"], ":true": values[":true"] },
          }),
        ),
      );
      if (released !== null) return "released";
      // Neither held: either the lease is no longer this holder's (a stale release frees nothing
      // and consumes nothing of the next holder's), or a request arrived in between.
      const item = await this.#getItem(lease.pool, "lease", "releaseLease");
      if (item?.token?.N !== String(lease.token)) return "released";
    }
    throw new Error(
      `releaseLease: lease ${lease.token} of pool ${lease.pool} in table ${this.#table} changed under every attempt; the lease is still held until it expires, so retry the release.`,
    );
  }

  async claimHost(
    pool: string,
    host: string,
    owner: string,
    now: Date,
    ttlMs: number,
  ): Promise<Claim | null> {
    const item = await this.#take(pool, claimKey(host), owner, now, ttlMs, "claimHost");
    return item === null ? null : toClaim(pool, host, item);
  }

  async renewClaim(claim: Claim, now: Date, ttlMs: number): Promise<Claim | null> {
    const item = await this.#extend(
      claim.pool,
      claimKey(claim.host),
      claim.token,
      now,
      ttlMs,
      "renewClaim",
    );
    return item === null ? null : toClaim(claim.pool, claim.host, item);
  }

  async releaseClaim(claim: Claim): Promise<void> {
    await this.#endClaim(claim.pool, claim.host, "releaseClaim", claim.token);
  }

  async revokeClaim(pool: string, host: string): Promise<void> {
    await this.#endClaim(pool, host, "revokeClaim", null);
  }

  async recordBootstrapResults(
    claim: Claim,
    now: Date,
    results: readonly BootstrapResult[],
  ): Promise<void> {
    const lost = (cause: unknown): ClaimLostError =>
      new ClaimLostError(
        `Claim ${claim.token} on host ${claim.host} of pool ${claim.pool} is not held at ${now.toISOString()}; its results were dropped.`,
        { cause },
      );
    await this.#writeControl(
      claim.pool,
      "recordBootstrapResults",
      (control) => ({
        ...control,
        bootstrapResults: {
          ...control.bootstrapResults,
          [claim.host]: [...(control.bootstrapResults[claim.host] ?? []), ...results],
        },
      }),
      {
        ConditionCheck: {
          TableName: this.#table,
          Key: key(claim.pool, claimKey(claim.host)),
          ConditionExpression: "#token = :token AND #expiresAt > :now",
          ExpressionAttributeNames: {
            "#token": NAMES["#token"],
            "#expiresAt": NAMES["#expiresAt"],
          },
          ExpressionAttributeValues: { ":token": num(claim.token), ":now": num(now.getTime()) },
        },
        lost,
      },
    );
  }

  /** The control state and its version (0 when the item does not exist yet). */
  async #readControl(pool: string): Promise<{ control: PoolControl; version: number }> {
    const item = await this.#getItem(pool, "control", "readPool");
    if (item === null) return { control: emptyPoolControl(), version: 0 };
    const version = readNumber(item, "version");
    const text = item.control?.S;
    if (version === undefined || text === undefined) {
      throw new Error(
        `The control item of pool ${pool} in table ${this.#table} lacks its control or version attribute; fix: delete the item (the pool starts from an empty state) or restore it.`,
      );
    }
    let stored: unknown;
    try {
      stored = JSON.parse(text);
    } catch (error) {
      throw new Error(
        `The control state of pool ${pool} in table ${this.#table} is not JSON; fix: delete the item (the pool starts from an empty state) or restore it.`,
        { cause: error },
      );
    }
    return { control: this.#validControl(pool, stored), version };
  }

  /**
   * Read-modify-write of the control item, conditional on its version and, when `guard` is given,
   * on the guard's item in the same transaction. `change` returns null when nothing is to be
   * written. Retries on a version conflict with the freshly read state.
   */
  async #writeControl(
    pool: string,
    operation: string,
    change: (control: PoolControl) => PoolControl | null,
    guard?: {
      ConditionCheck: NonNullable<TransactWriteItem["ConditionCheck"]>;
      lost: (cause: unknown) => Error;
    },
  ): Promise<PoolControl> {
    let conflict: unknown;
    for (let attempt = 0; attempt < CONTROL_WRITE_ATTEMPTS; attempt += 1) {
      if (attempt > 0) await backoff(attempt);
      const { control, version } = await this.#readControl(pool);
      const changed = change(control);
      if (changed === null) return control;
      // Validated before it is stored: a state readPool would refuse would stop the pool for good.
      const next = this.#validControl(pool, changed);
      const put: TransactWriteItem = {
        Put: {
          TableName: this.#table,
          Item: {
            ...key(pool, "control"),
            control: { S: JSON.stringify(next) },
            version: num(version + 1),
          },
          ...(version === 0
            ? { ConditionExpression: "attribute_not_exists(#version)" }
            : {
                ConditionExpression: "#version = :version",
                ExpressionAttributeValues: { ":version": num(version) },
              }),
          ExpressionAttributeNames: { "#version": "version" },
        },
      };
      const items = guard === undefined ? [put] : [{ ConditionCheck: guard.ConditionCheck }, put];
      try {
        await this.#client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return next;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) {
          throw this.#failure(operation, pool, error);
        }
        const reasons = error.CancellationReasons ?? [];
        const guardReason = guard === undefined ? undefined : reasons[0]?.Code;
        const putReason = reasons[guard === undefined ? 0 : 1]?.Code;
        if (guard !== undefined && guardReason === "ConditionalCheckFailed") {
          throw guard.lost(error);
        }
        // A version conflict, or another transaction on one of the items at that moment: both
        // mean "someone else wrote first"; read again and re-apply.
        const retry = [putReason, guardReason].some(
          (code) => code === "ConditionalCheckFailed" || code === "TransactionConflict",
        );
        if (!retry) throw this.#failure(operation, pool, error);
        conflict = error;
      }
    }
    throw new Error(
      `${operation}: the control state of pool ${pool} in table ${this.#table} changed under each of ${CONTROL_WRITE_ATTEMPTS} attempts; nothing was written; retry the operation.`,
      { cause: conflict },
    );
  }

  /** Takes the lease or a claim if free or expired at `now`; the item as written, or null. */
  #take(
    pool: string,
    sk: string,
    owner: string,
    now: Date,
    ttlMs: number,
    operation: string,
  ): Promise<Item | null> {
    return this.#updated(operation, pool, {
      Key: key(pool, sk),
      // Both right-hand sides read the item as it was, so token and lastToken get the same value.
      UpdateExpression:
        "SET #owner = :owner, #expiresAt = :expiresAt, " +
        "#token = if_not_exists(#lastToken, :zero) + :one, " +
        "#lastToken = if_not_exists(#lastToken, :zero) + :one" +
        (sk === "lease" ? ", #requested = :false" : ""),
      ConditionExpression: "attribute_not_exists(#token) OR #expiresAt <= :now",
      ExpressionAttributeNames: {
        "#owner": NAMES["#owner"],
        "#token": NAMES["#token"],
        "#expiresAt": NAMES["#expiresAt"],
        "#lastToken": NAMES["#lastToken"],
        ...(sk === "lease" ? { "#requested": NAMES["#requested"] } : {}),
      },
      ExpressionAttributeValues: {
        ":owner": { S: owner },
        ":expiresAt": num(now.getTime() + ttlMs),
        ":now": num(now.getTime()),
        ":zero": num(0),
        ":one": num(1),
        // A new holder plans from scratch, so requests made for the previous one are served.
        ...(sk === "lease" ? { ":false": { BOOL: false } } : {}),
      },
    });
  }

  /** Extends the lease or a claim still carrying `token`; the item as written, or null. */
  #extend(
    pool: string,
    sk: string,
    token: number,
    now: Date,
    ttlMs: number,
    operation: string,
  ): Promise<Item | null> {
    return this.#updated(operation, pool, {
      Key: key(pool, sk),
      UpdateExpression: "SET #expiresAt = :expiresAt",
      ConditionExpression: "#token = :token",
      ExpressionAttributeNames: { "#token": NAMES["#token"], "#expiresAt": NAMES["#expiresAt"] },
      ExpressionAttributeValues: { ":token": num(token), ":expiresAt": num(now.getTime() + ttlMs) },
    });
  }

  /** Ends a host's claim: the one carrying `token`, or whichever is held when `token` is null. */
  async #endClaim(
    pool: string,
    host: string,
    operation: string,
    token: number | null,
  ): Promise<void> {
    await this.#ifCondition(operation, pool, () =>
      this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(pool, claimKey(host)),
          UpdateExpression: "REMOVE #owner, #token, #expiresAt",
          ConditionExpression: token === null ? "attribute_exists(#token)" : "#token = :token",
          ExpressionAttributeNames: {
            "#owner": NAMES["#owner"],
            "#token": NAMES["#token"],
            "#expiresAt": NAMES["#expiresAt"],
          },
          ...(token === null ? {} : { ExpressionAttributeValues: { ":token": num(token) } }),
        }),
      ),
    );
  }

  /** A conditional UpdateItem; the whole item after it, or null when the condition failed. */
  async #updated(
    operation: string,
    pool: string,
    input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], "TableName" | "ReturnValues">,
  ): Promise<Item | null> {
    const output = await this.#ifCondition(operation, pool, () =>
      this.#client.send(
        new UpdateItemCommand({ ...input, TableName: this.#table, ReturnValues: "ALL_NEW" }),
      ),
    );
    if (output === null) return null;
    if (output.Attributes === undefined) {
      throw new Error(
        `${operation}: DynamoDB returned no item for pool ${pool} in table ${this.#table}.`,
      );
    }
    return output.Attributes;
  }

  async #getItem(pool: string, sk: string, operation: string): Promise<Item | null> {
    try {
      const output = await this.#client.send(
        new GetItemCommand({ TableName: this.#table, Key: key(pool, sk), ConsistentRead: true }),
      );
      return output.Item ?? null;
    } catch (error) {
      throw this.#failure(operation, pool, error);
    }
  }

  /** Runs a conditional write: its output, or null when its condition failed. */
  async #ifCondition<T>(
    operation: string,
    pool: string,
    write: () => Promise<T>,
  ): Promise<T | null> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw this.#failure(operation, pool, error);
    }
  }

  #failure(operation: string, pool: string, error: unknown): Error {
    const code = error instanceof Error ? error.name : "error";
    return new Error(
      `${operation}: DynamoDB refused or failed the request for pool ${pool} in table ${this.#table} (${code}); the SDK already retried throttling and 5xx, so retry the invocation later, or fix the table or its permissions.`,
      { cause: error },
    );
  }

  #validControl(pool: string, value: unknown): PoolControl {
    const parsed = poolControlSchema.safeParse(value);
    if (!parsed.success) {
      throw new Error(
        `The control state of pool ${pool} in table ${this.#table} is not a valid PoolControl: ${parsed.error.message}`,
        { cause: parsed.error },
      );
    }
    return parsed.data;
  }
}

function key(pool: string, sk: string): Item {
  return { pk: { S: `pool#${pool}` }, sk: { S: sk } };
}

function claimKey(host: string): string {
  return `claim#${host}`;
}

function num(value: number): AttributeValue {
  return { N: String(value) };
}

function readNumber(item: Item, name: string): number | undefined {
  const text = item[name]?.N;
  return text === undefined ? undefined : Number(text);
}

function held(item: Item, what: string): { owner: string; token: number; expiresAt: Date } {
  const owner = item.owner?.S;
  const token = readNumber(item, "token");
  const expiresAt = readNumber(item, "expiresAt");
  if (owner === undefined || token === undefined || expiresAt === undefined) {
    throw new Error(`DynamoDB returned ${what} without owner, token or expiresAt.`);
  }
  return { owner, token, expiresAt: new Date(expiresAt) };
}

function toLease(pool: string, item: Item): Lease {
  return { pool, ...held(item, `the lease of pool ${pool}`) };
}

function toClaim(pool: string, host: string, item: Item): Claim {
  return { pool, host, ...held(item, `the claim on host ${host} of pool ${pool}`) };
}

/** Waits a random time up to BACKOFF_BASE_MS * 2^attempt (capped), so racing writers spread out. */
function backoff(attempt: number): Promise<void> {
  const ceilingMs = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}
