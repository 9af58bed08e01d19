import {
  CreateTagsCommand,
  DeleteTagsCommand,
  EC2Client,
  StartInstancesCommand,
  StopInstancesCommand,
  paginateDescribeInstances,
  type EC2ClientConfig,
  type Instance,
} from "@aws-sdk/client-ec2";
import { cloudStateSchema, type CloudState, type HostSnapshot } from "../plan/snapshot.ts";
import type { CallOutcome, ComputeProvider } from "./compute-provider.ts";
import { PermanentError, TransientError } from "./errors.ts";
import { AWS_DENIED, AWS_THROTTLED, factsOf } from "./aws-errors.ts";

// The ComputeProvider port on EC2. Only the EC2 API is called (Describe, tags, start, stop): this
// adapter never dials an instance's address. Hosts are instances tagged `poolTag`=pool.

const DEFAULT_BATCH_SIZE = 50;
/** EC2 accepts MaxResults from 5 to 1000 when no instance ids are given. */
const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_MAX_ATTEMPTS = 5;
const WHY_MAX_CHARS = 200;

/** The states vor-power acts on; shutting-down and terminated instances are never asked for. */
const LISTED_STATES: readonly CloudState[] = cloudStateSchema.options;

/**
 * An EC2 client for the adapter. Retries use the SDK's adaptive mode: EC2 throttles each API
 * action per account with a token bucket (RequestLimitExceeded), and adaptive mode both backs off
 * and slows this client's own sending rate, so a tick that starts 40 hosts does not keep hitting
 * the bucket; what still fails after `maxAttempts` surfaces as `throttled`.
 */
export function createEc2Client(options: {
  region: string;
  /** an EC2-compatible endpoint (tests: moto on 127.0.0.1); AWS's own when absent */
  endpoint?: string;
  /** when absent, the SDK's default chain (the Lambda role) */
  credentials?: EC2ClientConfig["credentials"];
  /** attempts per call, retries included (default 5) */
  maxAttempts?: number;
}): EC2Client {
  return new EC2Client({
    region: options.region,
    retryMode: "adaptive",
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
}

/** A start or stop call that may be split, and what to try instead for one instance that refuses. */
interface BatchCall {
  action: string;
  send(ids: readonly string[]): Promise<unknown>;
  /** a call to make instead for a single instance refused with `errorName`, if there is one */
  insteadFor?(errorName: string): BatchCall | undefined;
}

/** What an EC2 error means for the instances of the call that got it. */
type Refusal =
  /** the role lacks the action: nothing in this call (or any other) can succeed */
  | { kind: "denied" }
  /** about the call, not an instance (throttled, 5xx, network): every instance shares it */
  | { kind: "shared"; outcome: FailedOutcome }
  /** may be one instance's own refusal: worth splitting the batch to find it */
  | { kind: "instance"; name: string; outcome: FailedOutcome };

type FailedOutcome = Extract<CallOutcome, { ok: false }>;

const OK: CallOutcome = { ok: true };

const HIBERNATION_UNSUPPORTED = new Set([
  "UnsupportedHibernationConfiguration",
  "UnsupportedOperation",
]);
/** Instance-specific EC2 error codes and the short outcome codes they become. */
const INSTANCE_CODES: ReadonlyMap<string, string> = new Map([
  ["IncorrectInstanceState", "incorrect-state"],
  ["UnsupportedHibernationConfiguration", "unsupported"],
  ["UnsupportedOperation", "unsupported"],
  ["InvalidInstanceID.NotFound", "not-found"],
  ["InvalidInstanceID.Malformed", "not-found"],
]);
/** InsufficientInstanceCapacity, InsufficientHostCapacity, ...: EC2 lists them as server errors. */
const CAPACITY = /^Insufficient\w*Capacity$/;

export class Ec2ComputeProvider implements ComputeProvider {
  private readonly client: EC2Client;
  private readonly poolTag: string;
  private readonly batchSize: number;
  private readonly pageSize: number;

  /**
   * @param options.batchSize instances per StartInstances/StopInstances call (default 50)
   * @param options.pageSize MaxResults per DescribeInstances page (default 1000, EC2's largest)
   * @throws RangeError when a size is not a positive integer
   */
  constructor(options: {
    client: EC2Client;
    poolTag: string;
    batchSize?: number;
    pageSize?: number;
  }) {
    this.client = options.client;
    this.poolTag = options.poolTag;
    this.batchSize = positiveInteger("batchSize", options.batchSize ?? DEFAULT_BATCH_SIZE);
    this.pageSize = positiveInteger("pageSize", options.pageSize ?? DEFAULT_PAGE_SIZE);
  }

  /**
   * Every instance tagged `poolTag`=`pool` in a listed state, by id. The filters run on EC2's side,
   * page by page, so a large account costs pages of this pool only.
   * @throws PermanentError (denied: names ec2:DescribeInstances) or TransientError; cause: the SDK's
   */
  async listHosts(pool: string): Promise<HostSnapshot[]> {
    const hosts: HostSnapshot[] = [];
    const pages = paginateDescribeInstances(
      { client: this.client, pageSize: this.pageSize },
      {
        Filters: [
          { Name: `tag:${this.poolTag}`, Values: [pool] },
          { Name: "instance-state-name", Values: [...LISTED_STATES] },
        ],
      },
    );
    try {
      for await (const page of pages) {
        for (const reservation of page.Reservations ?? []) {
          for (const instance of reservation.Instances ?? []) {
            const host = hostOf(instance);
            if (host) hosts.push(host);
          }
        }
      }
    } catch (error) {
      throw portError(error, "ec2:DescribeInstances", `listing the hosts of pool ${pool}`);
    }
    return hosts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * DeleteTags for `remove`, then CreateTags for `set`; an empty side makes no call.
   * @throws PermanentError (denied: names the action) or TransientError; cause: the SDK's
   */
  async writeTags(
    host: string,
    set: Readonly<Record<string, string>>,
    remove: readonly string[],
  ): Promise<void> {
    if (remove.length > 0) {
      try {
        // A tag given without a value is deleted whatever its value.
        await this.client.send(
          new DeleteTagsCommand({ Resources: [host], Tags: remove.map((Key) => ({ Key })) }),
        );
      } catch (error) {
        throw portError(error, "ec2:DeleteTags", `removing tags from ${host}`);
      }
    }
    const entries = Object.entries(set);
    if (entries.length > 0) {
      try {
        await this.client.send(
          new CreateTagsCommand({
            Resources: [host],
            Tags: entries.map(([Key, Value]) => ({ Key, Value })),
          }),
        );
      } catch (error) {
        throw portError(error, "ec2:CreateTags", `writing tags on ${host}`);
      }
    }
  }

  /**
   * StartInstances in batches; one outcome per host.
   * @throws PermanentError when the role may not start instances (names ec2:StartInstances)
   */
  start(hosts: readonly string[]): Promise<Map<string, CallOutcome>> {
    return this.inBatches(hosts, {
      action: "ec2:StartInstances",
      send: (ids) => this.client.send(new StartInstancesCommand({ InstanceIds: [...ids] })),
    });
  }

  /**
   * StopInstances in batches; with `hibernate`, each instance that cannot hibernate is stopped
   * plainly instead. One outcome per host.
   * @throws PermanentError when the role may not stop instances (names ec2:StopInstances)
   */
  stop(
    hosts: readonly string[],
    options: { hibernate: boolean },
  ): Promise<Map<string, CallOutcome>> {
    const plain: BatchCall = {
      action: "ec2:StopInstances",
      send: (ids) => this.client.send(new StopInstancesCommand({ InstanceIds: [...ids] })),
    };
    if (!options.hibernate) return this.inBatches(hosts, plain);
    return this.inBatches(hosts, {
      action: "ec2:StopInstances",
      send: (ids) =>
        this.client.send(new StopInstancesCommand({ InstanceIds: [...ids], Hibernate: true })),
      insteadFor: (errorName) => (HIBERNATION_UNSUPPORTED.has(errorName) ? plain : undefined),
    });
  }

  private async inBatches(
    hosts: readonly string[],
    call: BatchCall,
  ): Promise<Map<string, CallOutcome>> {
    const ids = [...new Set(hosts)];
    const outcomes = new Map<string, CallOutcome>();
    // One batch after another: parallel calls would only meet EC2's rate limit sooner.
    for (let i = 0; i < ids.length; i += this.batchSize) {
      await settleBatch(ids.slice(i, i + this.batchSize), call, outcomes);
    }
    return outcomes;
  }
}

/**
 * One call for `ids`. EC2 refuses a whole StartInstances call when one instance cannot start
 * (say, one of 50 is still stopping), so a refusal that may be an instance's own splits the batch
 * in halves until the refusing instance stands alone: k bad instances among n cost about
 * 2k·log2(n) extra calls, and the others still start.
 */
async function settleBatch(
  ids: readonly string[],
  call: BatchCall,
  outcomes: Map<string, CallOutcome>,
): Promise<void> {
  try {
    await call.send(ids);
    for (const id of ids) outcomes.set(id, OK);
    return;
  } catch (error) {
    const refusal = refusalOf(error);
    if (refusal.kind === "denied") throw deniedError(call.action, error);
    if (refusal.kind === "instance" && ids.length > 1) {
      const half = Math.ceil(ids.length / 2);
      await settleBatch(ids.slice(0, half), call, outcomes);
      await settleBatch(ids.slice(half), call, outcomes);
      return;
    }
    const instead = refusal.kind === "instance" ? call.insteadFor?.(refusal.name) : undefined;
    if (instead) {
      await settleBatch(ids, instead, outcomes);
      return;
    }
    for (const id of ids) outcomes.set(id, refusal.outcome);
  }
}

function hostOf(instance: Instance): HostSnapshot | undefined {
  const state = cloudStateSchema.safeParse(instance.State?.Name);
  if (instance.InstanceId === undefined || !state.success) return undefined;
  const tags: Record<string, string> = {};
  for (const tag of instance.Tags ?? []) {
    if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? "";
  }
  return {
    id: instance.InstanceId,
    cloudState: state.data,
    ...(instance.LaunchTime ? { launchedAt: instance.LaunchTime.toISOString() } : {}),
    ...(instance.PrivateIpAddress ? { address: instance.PrivateIpAddress } : {}),
    ...(instance.PublicIpAddress ? { publicAddress: instance.PublicIpAddress } : {}),
    tags,
  };
}

function refusalOf(error: unknown): Refusal {
  const { name, message, fault } = factsOf(error);
  const why = `${name}: ${message}`.slice(0, WHY_MAX_CHARS);
  if (AWS_DENIED.has(name)) return { kind: "denied" };
  if (AWS_THROTTLED.has(name))
    return { kind: "shared", outcome: { ok: false, code: "throttled", why } };
  if (CAPACITY.test(name))
    return { kind: "instance", name, outcome: { ok: false, code: "capacity", why } };
  const code = INSTANCE_CODES.get(name);
  if (code !== undefined) return { kind: "instance", name, outcome: { ok: false, code, why } };
  // Any other client error (OperationNotPermitted: stop protection, ...) may be one instance's.
  if (fault === "client")
    return { kind: "instance", name, outcome: { ok: false, code: "refused", why } };
  // 5xx after the SDK's retries, timeouts, refused connections: about the call, not an instance.
  return { kind: "shared", outcome: { ok: false, code: "unavailable", why } };
}

function deniedError(action: string, cause: unknown): PermanentError {
  return new PermanentError(
    `${action} is not allowed for this role: add it to the policy (see the README's IAM section)`,
    { cause },
  );
}

/** An error of listHosts or writeTags as the port's classes. */
function portError(error: unknown, action: string, doing: string): Error {
  const refusal = refusalOf(error);
  const { name, message } = factsOf(error);
  if (refusal.kind === "denied") return deniedError(action, error);
  if (refusal.kind === "shared")
    return new TransientError(
      `EC2 ${action} failed ${doing} (${name}: ${message}); the next tick tries again`,
      { cause: error },
    );
  return new PermanentError(`EC2 ${action} refused ${doing} (${name}: ${message})`, {
    cause: error,
  });
}

function positiveInteger(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`Ec2ComputeProvider: ${what} must be a positive integer, got ${value}`);
  return value;
}
