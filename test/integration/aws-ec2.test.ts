import {
  DescribeInstancesCommand,
  EC2ServiceException,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEc2Client, Ec2ComputeProvider } from "../../shared/cloud/aws-ec2.ts";
import { PermanentError, TransientError } from "../../shared/cloud/errors.ts";
import { describeComputeProviderContract } from "../support/compute-provider-contract.ts";
import { MOTO_CLIENT, missing, motoInstalled, startMoto, type Moto } from "../support/services.ts";

// The EC2 adapter against moto on 127.0.0.1. Moto starts and stops at once and never refuses one
// instance of a batch for its state or capacity, so those refusals are injected with a client
// middleware that throws what the SDK throws for them (an EC2ServiceException with EC2's error code
// as `name`). Injected at "initialize", a refusal is one call the SDK does not retry; injected at
// "deserialize", it is inside the SDK's retry loop, as a real RequestLimitExceeded is.

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it");

const POOL_TAG = "vor:pool";
/** Any AMI id: moto runs instances from ids it does not know. */
const IMAGE_ID = "ami-12c6146b";

interface Call {
  command: string;
  ids: string[];
  hibernate: boolean;
}

function instanceIdsOf(input: object): string[] {
  if (!("InstanceIds" in input) || !Array.isArray(input.InstanceIds)) return [];
  return input.InstanceIds.filter((id): id is string => typeof id === "string");
}

function hibernateOf(input: object): boolean {
  return "Hibernate" in input && input.Hibernate === true;
}

/** What EC2's query protocol makes the SDK throw: its error code as `name`. */
function ec2Error(name: string, fault: "client" | "server" = "client"): EC2ServiceException {
  return new EC2ServiceException({
    name,
    $fault: fault,
    $metadata: { httpStatusCode: fault === "client" ? 400 : 500 },
    message: `${name} (injected by the test)`,
  });
}

/** Records every command the client sends, once per send (outside the SDK's retries). */
function recordCalls(client: EC2Client): Call[] {
  const calls: Call[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      calls.push({
        command: context.commandName ?? "?",
        ids: instanceIdsOf(args.input),
        hibernate: hibernateOf(args.input),
      });
      return next(args);
    },
    { step: "initialize", priority: "high", name: "recordCalls" },
  );
  return calls;
}

/** Fails each send of `command` for which `refuse` names an EC2 error code, before it leaves. */
function refuse(
  client: EC2Client,
  command: string,
  refusal: (call: Call) => EC2ServiceException | undefined,
): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      const call = {
        command: context.commandName ?? "?",
        ids: instanceIdsOf(args.input),
        hibernate: hibernateOf(args.input),
      };
      const error = call.command === command ? refusal(call) : undefined;
      if (error) throw error;
      return next(args);
    },
    { step: "initialize", priority: "low", name: "refuse" },
  );
}

describe.skipIf(skip)("Ec2ComputeProvider (moto)", () => {
  let moto: Moto;
  let admin: EC2Client;

  /** A client of the adapter's own making, pointed at moto. */
  const newClient = (maxAttempts = 3): EC2Client =>
    createEc2Client({
      region: MOTO_CLIENT.region,
      endpoint: moto.endpoint,
      credentials: MOTO_CLIENT.credentials,
      maxAttempts,
    });

  /** Runs `count` instances tagged into `pool`, one reservation each (moto pages by reservation). */
  async function launch(
    pool: string,
    count: number,
    state: "running" | "stopped" = "stopped",
  ): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const reservation = await admin.send(
        new RunInstancesCommand({
          ImageId: IMAGE_ID,
          InstanceType: "t3.micro",
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [
            {
              ResourceType: "instance",
              Tags: [
                { Key: POOL_TAG, Value: pool },
                { Key: "Name", Value: `${pool}-${i + 1}` },
              ],
            },
          ],
        }),
      );
      ids.push(...(reservation.Instances ?? []).flatMap((x) => x.InstanceId ?? []));
    }
    if (state === "stopped") await admin.send(new StopInstancesCommand({ InstanceIds: ids }));
    return ids;
  }

  async function statesOf(ids: readonly string[]): Promise<Record<string, string | undefined>> {
    const page = await admin.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }));
    return Object.fromEntries(
      (page.Reservations ?? [])
        .flatMap((r) => r.Instances ?? [])
        .map((x) => [x.InstanceId ?? "?", x.State?.Name]),
    );
  }

  const provider = (client: EC2Client, batchSize?: number, pageSize?: number) =>
    new Ec2ComputeProvider({
      client,
      poolTag: POOL_TAG,
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(pageSize === undefined ? {} : { pageSize }),
    });

  beforeAll(async () => {
    moto = await startMoto();
    admin = newClient();
  });

  afterAll(async () => {
    await moto.stop();
  });

  // Batches of 2 and pages of 5, so the contract's five-host start crosses batches.
  describeComputeProviderContract("Ec2ComputeProvider on moto", () => ({
    provider: provider(newClient(), 2, 5),
    poolTag: POOL_TAG,
    createHosts: (pool, count) => launch(pool, count),
    settle: () => Promise.resolve(), // moto moves instances to running or stopped at once
  }));

  describe("createEc2Client", () => {
    it("configures the SDK's adaptive retries with the attempts asked for", async () => {
      const client = createEc2Client({ region: "eu-west-2", maxAttempts: 4 });

      const retryMode = client.config.retryMode;

      expect(typeof retryMode === "string" ? retryMode : await retryMode()).toBe("adaptive");
      expect(await client.config.maxAttempts()).toBe(4);
    });
  });

  describe("listHosts", () => {
    it("pages through the pool with EC2-side filters, never through other pools", async () => {
      await launch("paged-other", 6, "running");
      const ours = await launch("paged", 7);
      const client = newClient();
      const calls = recordCalls(client);

      const hosts = await provider(client, undefined, 5).listHosts("paged");

      expect(hosts.map((h) => h.id)).toEqual([...ours].sort());
      // 7 hosts in pages of 5: two pages. Without EC2-side filters the other pools add pages.
      expect(calls.filter((c) => c.command === "DescribeInstancesCommand")).toHaveLength(2);
    });

    it("leaves terminated hosts out", async () => {
      const [gone = "", kept = ""] = await launch("terminating", 2);
      await admin.send(new TerminateInstancesCommand({ InstanceIds: [gone] }));

      const hosts = await provider(newClient()).listHosts("terminating");

      expect(hosts.map((h) => h.id)).toEqual([kept]);
    });

    it("reports each host's state, tags, LaunchTime as launchedAt and private address", async () => {
      const [stopped = ""] = await launch("states", 1, "stopped");
      const [running = ""] = await launch("states", 1, "running");
      const described = await admin.send(new DescribeInstancesCommand({ InstanceIds: [running] }));
      const launchTime = described.Reservations?.[0]?.Instances?.[0]?.LaunchTime;
      // Read, never dialled: tests reach only loopback.
      const privateIp = described.Reservations?.[0]?.Instances?.[0]?.PrivateIpAddress;

      const hosts = await provider(newClient()).listHosts("states");

      expect(new Map(hosts.map((h) => [h.id, h.cloudState]))).toEqual(
        new Map([
          [stopped, "stopped"],
          [running, "running"],
        ]),
      );
      expect(hosts.find((h) => h.id === running)).toMatchObject({
        launchedAt: launchTime?.toISOString(),
        address: privateIp,
        tags: { [POOL_TAG]: "states", Name: "states-1" },
      });
    });

    it("names ec2:DescribeInstances when the role may not describe instances", async () => {
      const client = newClient();
      refuse(client, "DescribeInstancesCommand", () => ec2Error("UnauthorizedOperation"));

      const listing = provider(client).listHosts("states");

      await expect(listing).rejects.toThrow(PermanentError);
      await expect(listing).rejects.toThrow(
        "ec2:DescribeInstances is not allowed for this role: add it to the policy (see the README's IAM section)",
      );
    });

    it("throws a TransientError carrying the SDK's error when EC2 fails on its side", async () => {
      const client = newClient();
      const cause = ec2Error("InternalError", "server");
      refuse(client, "DescribeInstancesCommand", () => cause);

      const error: unknown = await provider(client)
        .listHosts("states")
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(TransientError);
      expect(error).toMatchObject({ name: "TransientError", cause });
    });
  });

  describe("writeTags", () => {
    it("deletes the tags to remove before it creates the tags to set", async () => {
      const [host = ""] = await launch("tagging", 1);
      const client = newClient();
      const calls = recordCalls(client);

      await provider(client).writeTags(host, { "vor:lifecycle": "starting" }, ["vor:failure"]);

      expect(calls.map((c) => c.command)).toEqual(["DeleteTagsCommand", "CreateTagsCommand"]);
    });

    it.each([
      [{ "vor:lifecycle": "off" }, [], ["CreateTagsCommand"]],
      [{}, ["vor:idle-since"], ["DeleteTagsCommand"]],
      [{}, [], []],
    ])("skips the empty side (set %o, remove %o)", async (set, remove, commands) => {
      const [host = ""] = await launch("tagging", 1);
      const client = newClient();
      const calls = recordCalls(client);

      await provider(client).writeTags(host, set, remove);

      expect(calls.map((c) => c.command)).toEqual(commands);
    });

    it("names ec2:CreateTags when the role may not tag", async () => {
      const [host = ""] = await launch("tagging", 1);
      const client = newClient();
      refuse(client, "CreateTagsCommand", () => ec2Error("UnauthorizedOperation"));

      const writing = provider(client).writeTags(host, { "vor:lifecycle": "off" }, []);

      await expect(writing).rejects.toThrow(
        /^ec2:CreateTags is not allowed for this role: add it to the policy/,
      );
    });
  });

  describe("start and stop", () => {
    it("sends one call per batch of batchSize", async () => {
      const ids = await launch("batches", 7, "running");
      const client = newClient();
      const calls = recordCalls(client);

      const outcomes = await provider(client, 3).stop(ids, { hibernate: false });

      expect(outcomes.size).toBe(7);
      expect(calls.map((c) => c.ids.length)).toEqual([3, 3, 1]);
      expect(Object.values(await statesOf(ids))).toEqual(ids.map(() => "stopped"));
    });

    it("isolates one refused host of five in O(log n) calls: four start, one reports capacity", async () => {
      const ids = await launch("one-bad", 5);
      const bad = ids[3] ?? "";
      const client = newClient();
      const calls = recordCalls(client);
      refuse(client, "StartInstancesCommand", (call) =>
        call.ids.includes(bad) ? ec2Error("InsufficientInstanceCapacity", "server") : undefined,
      );

      const outcomes = await provider(client).start(ids);

      expect(outcomes.get(bad)).toMatchObject({ ok: false, code: "capacity" });
      expect(ids.filter((id) => outcomes.get(id)?.ok)).toEqual(ids.filter((id) => id !== bad));
      expect(calls.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(5)));
      const states = await statesOf(ids);
      expect(states[bad]).toBe("stopped");
      expect(ids.filter((id) => states[id] === "running")).toHaveLength(4);
    });

    it("isolates an instance moto itself refuses (InvalidInstanceID.NotFound) as not-found", async () => {
      const ids = await launch("missing-one", 3);
      const ghost = "i-0123456789abcdef0";

      const outcomes = await provider(newClient()).start([...ids, ghost]);

      expect(outcomes.get(ghost)).toMatchObject({ ok: false, code: "not-found" });
      expect(ids.map((id) => outcomes.get(id))).toEqual(ids.map(() => ({ ok: true })));
    });

    it.each([
      ["IncorrectInstanceState", "client", "incorrect-state"],
      ["InsufficientInstanceCapacity", "server", "capacity"],
      ["OperationNotPermitted", "client", "refused"],
      ["InternalError", "server", "unavailable"],
    ] as const)("maps %s to the outcome code %s", async (name, fault, code) => {
      const [host = ""] = await launch("mapping", 1);
      const client = newClient();
      refuse(client, "StartInstancesCommand", () => ec2Error(name, fault));

      const outcomes = await provider(client).start([host]);

      expect(outcomes.get(host)).toEqual({
        ok: false,
        code,
        why: `${name}: ${name} (injected by the test)`,
      });
    });

    it("does not split a batch EC2 failed on its side: every host shares the outcome", async () => {
      const ids = await launch("outage", 4);
      const client = newClient();
      const calls = recordCalls(client);
      refuse(client, "StartInstancesCommand", () => ec2Error("InternalError", "server"));

      const outcomes = await provider(client).start(ids);

      expect(calls).toHaveLength(1);
      expect([...outcomes.values()].map((o) => !o.ok && o.code)).toEqual(
        ids.map(() => "unavailable"),
      );
    });

    it.each([
      {
        throttled: "once",
        result: "starts",
        throttles: 1,
        maxAttempts: 3,
        outcome: { ok: true },
      },
      {
        throttled: "on every attempt",
        result: "reports throttled",
        throttles: Infinity,
        maxAttempts: 2,
        outcome: { ok: false, code: "throttled" },
      },
    ])(
      "lets the SDK retry RequestLimitExceeded: a start throttled $throttled $result",
      async ({ throttles, maxAttempts, outcome }) => {
        const [host = ""] = await launch("throttled", 1);
        const client = newClient(maxAttempts);
        let attempts = 0;
        client.middlewareStack.add(
          (next) => (args) => {
            attempts++;
            if (attempts <= throttles) throw ec2Error("RequestLimitExceeded");
            return next(args);
          },
          { step: "deserialize", name: "throttle" },
        );

        const outcomes = await provider(client).start([host]);

        expect(outcomes.get(host)).toMatchObject(outcome);
        expect(attempts).toBe(Math.min(throttles + 1, maxAttempts));
      },
    );

    it("stops a host that cannot hibernate plainly, and hibernates the others", async () => {
      const ids = await launch("hibernate", 3, "running");
      const plainOnly = ids[1] ?? "";
      const client = newClient();
      const calls = recordCalls(client);
      refuse(client, "StopInstancesCommand", (call) =>
        call.hibernate && call.ids.includes(plainOnly)
          ? ec2Error("UnsupportedHibernationConfiguration")
          : undefined,
      );

      const outcomes = await provider(client).stop(ids, { hibernate: true });

      expect(ids.map((id) => outcomes.get(id))).toEqual(ids.map(() => ({ ok: true })));
      expect(calls.filter((c) => !c.hibernate)).toEqual([
        { command: "StopInstancesCommand", ids: [plainOnly], hibernate: false },
      ]);
      expect(Object.values(await statesOf(ids))).toEqual(ids.map(() => "stopped"));
    });

    it("hibernates a whole batch in one call when every host can", async () => {
      const ids = await launch("hibernate-all", 3, "running");
      const client = newClient();
      const calls = recordCalls(client);

      await provider(client).stop(ids, { hibernate: true });

      expect(calls).toEqual([{ command: "StopInstancesCommand", ids, hibernate: true }]);
    });

    it.each([
      ["start", "StartInstancesCommand", "ec2:StartInstances"],
      ["stop", "StopInstancesCommand", "ec2:StopInstances"],
    ] as const)(
      "throws a PermanentError naming %s's IAM action when the role lacks it",
      async (method, command, action) => {
        const ids = await launch("denied", 2, method === "start" ? "stopped" : "running");
        const client = newClient();
        const calls = recordCalls(client);
        const cause = ec2Error("UnauthorizedOperation");
        refuse(client, command, () => cause);

        const error: unknown = await (
          method === "start"
            ? provider(client).start(ids)
            : provider(client).stop(ids, { hibernate: false })
        ).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(PermanentError);
        expect(error).toMatchObject({
          message: `${action} is not allowed for this role: add it to the policy (see the README's IAM section)`,
          cause,
        });
        expect(calls).toHaveLength(1); // a denial is not split: no host could pass
      },
    );

    it("gives one outcome per host when a host is named twice", async () => {
      const [host = ""] = await launch("twice", 1);
      const client = newClient();
      const calls = recordCalls(client);

      const outcomes = await provider(client).start([host, host]);

      expect([...outcomes.keys()]).toEqual([host]);
      expect(calls.map((c) => c.ids)).toEqual([[host]]);
    });
  });
});
