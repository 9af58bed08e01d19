import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
} from "@aws-sdk/client-ec2";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import type { Dependencies } from "../../functions/aws/runtime.ts";
import { formatIssue } from "../../shared/config/index.ts";
import { runOps } from "../../shared/ops/run-ops.ts";
import { loadConfigFromEnvironment, wireAws, type Environment } from "../../shared/wire.ts";
import { startAwsCallRecorder, type AwsCallRecorder } from "./aws-call-recorder.ts";
import { createStateTable, liveConfigChanges } from "./aws-fixture.ts";
import { rawConfigWith } from "./config-builder.ts";
import { startMidtierServer, type MidtierServer } from "./midtier-server.ts";
import { MOTO_CLIENT, startMoto, type Moto } from "./services.ts";
import { tempConfigFile } from "./temp-files.ts";

// The Lambda handlers against real services: EC2, DynamoDB, SNS and SQS on moto, the midtier on a
// loopback server. The handlers' Dependencies come from the production wiring (a config file
// through loadConfigFromEnvironment, then wireAws), with only the clock under the test's control,
// so that grace periods and timeouts pass without waiting.

export const MIDTIER_TOKEN = "midtier-token-handlers";

/** The live services of one test file. Each test uses a pool of its own, so tests share them. */
export interface LiveAws {
  moto: Moto;
  /** the proxy the wired adapters call moto through: it counts their calls */
  recorder: AwsCallRecorder;
  midtier: MidtierServer;
  /** the test's own EC2 client (direct to moto, not recorded) */
  ec2: EC2Client;
  /** the SNS topic the config's `alerts` names */
  topicArn: string;
  /** the environment the wiring reads (the SDK's standard variables, the secrets' sources) */
  env: Environment;
  close(): Promise<void>;
}

/** Starts moto, the recorder in front of it and the midtier; creates the state table and topic. */
export async function startLiveAws(extraEnv: Environment = {}): Promise<LiveAws> {
  // The SDK's credential chain reads process.env (moto accepts any key).
  process.env.AWS_ACCESS_KEY_ID = "testing";
  process.env.AWS_SECRET_ACCESS_KEY = "testing";
  const moto = await startMoto();
  const recorder = await startAwsCallRecorder(moto.endpoint);
  const midtier = await startMidtierServer({ token: MIDTIER_TOKEN });
  const client = { ...MOTO_CLIENT, endpoint: moto.endpoint };
  await createStateTable(client);
  const topic = await new SNSClient(client).send(new CreateTopicCommand({ Name: "vor-power" }));
  return {
    moto,
    recorder,
    midtier,
    ec2: new EC2Client(client),
    topicArn: topic.TopicArn ?? "",
    env: {
      AWS_ENDPOINT_URL: recorder.endpoint,
      AWS_REGION: MOTO_CLIENT.region,
      VOR_MIDTIER_TOKEN: MIDTIER_TOKEN,
      ...extraEnv,
    },
    close: async () => {
      await midtier.close();
      await recorder.close();
      await moto.stop();
    },
  };
}

/** The test's clock: it moves only when the test moves it, and never backwards. */
export class TestClock {
  #ms: number;

  constructor(start: string) {
    this.#ms = Date.parse(start);
  }

  readonly now = (): Date => new Date(this.#ms);

  /** Moves to `at` (ISO with a zone); moving backwards is a mistake in the test. */
  set(at: string): Date {
    const ms = Date.parse(at);
    if (Number.isNaN(ms) || ms < this.#ms)
      throw new Error(
        `TestClock.set(${at}): not an instant at or after ${this.now().toISOString()}`,
      );
    this.#ms = ms;
    return this.now();
  }

  advance(ms: number): Date {
    this.#ms += ms;
    return this.now();
  }
}

export const MINUTE = 60_000;

/**
 * A config with one pool, `pool`, and no power window or run schedule (no floor unless the test
 * gives one), the SSM channel (no Vault or SSH section), alerts to the live topic; `changes` go
 * on top (dotted paths, as rawConfigWith).
 */
export function poolConfig(
  live: LiveAws,
  pool: string,
  settings: Record<string, unknown> = {},
  ...changes: [string, unknown][]
): Record<string, unknown> {
  return rawConfigWith(
    ...liveConfigChanges(live.midtier.runsUrl),
    ["runSchedules", undefined],
    ["pools", { [pool]: { min: 0, max: 8, windows: [], channel: "ssm", ...settings } }],
    ["alerts.topicArn", live.topicArn],
    // moto's SSM accepts commands without running them: no playpen to prove here (the playpen
    // checks run for real in playpen-check, readiness and scale-out-path tests)
    ["bootstrap.playpens", []],
    ...changes,
  );
}

/**
 * The handlers' Dependencies built as a cold start builds them: the config read from a file by
 * loadConfigFromEnvironment, the ports by wireAws against the live services; the clock is the
 * test's. Lines for a log-only alerter (no `alerts` section) go to `logLines`.
 */
export async function wireLive(
  live: LiveAws,
  rawConfig: Record<string, unknown>,
  clock: TestClock,
  logLines: string[] = [],
): Promise<Dependencies> {
  const loaded = await loadConfigFromEnvironment(live.env, tempConfigFile(rawConfig));
  if (!loaded.ok) throw new Error(`bad test config: ${loaded.errors.map(formatIssue).join("; ")}`);
  const ports = await wireAws(loaded.config, live.env, (line) => logLines.push(line));
  return { config: loaded.config, ports, clock: clock.now, dryRun: false, runOps };
}

/** A Lambda context with a fresh request id, so each invocation owns its lease as its own. */
export function lambdaContext(functionName: string): Context {
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-west-2:123456789012:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "2026/03/04/[$LATEST]0123456789abcdef",
    getRemainingTimeInMillis: () => 60_000,
  } satisfies Omit<Context, "done" | "fail" | "succeed">;
  // The rest are the deprecated callback-style methods, which the handlers never call.
  return context as Context;
}

/** A recorded event from test/support/events (the caller says what it is). */
export function recordedEvent(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`events/${name}`, import.meta.url), "utf8"));
}

/** How a test wants a host: its cloud state and its tags besides vor:pool. */
export interface HostSpec {
  state: "running" | "stopped";
  tags?: Record<string, string>;
}

/** Launches one instance per spec in moto, tagged vor:pool=`pool` and the spec's tags. */
export async function launchHosts(
  ec2: EC2Client,
  pool: string,
  specs: readonly HostSpec[],
): Promise<string[]> {
  const image =
    (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId ?? "ami-12c6146b";
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: image,
      MinCount: specs.length,
      MaxCount: specs.length,
      InstanceType: "t3.micro",
      TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "vor:pool", Value: pool }] }],
    }),
  );
  const ids = (run.Instances ?? []).map((i) => i.InstanceId ?? "");
  if (ids.length !== specs.length || ids.includes(""))
    throw new Error(`moto started ${ids.length} instances, not ${specs.length}`);
  for (const [i, spec] of specs.entries()) {
    const tags = Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    if (tags.length > 0)
      await ec2.send(new CreateTagsCommand({ Resources: [ids[i] ?? ""], Tags: tags }));
  }
  const stopped = ids.filter((_, i) => specs[i]?.state === "stopped");
  if (stopped.length > 0) await ec2.send(new StopInstancesCommand({ InstanceIds: stopped }));
  return ids;
}

/** A host as moto reports it: its state and its tags. */
export interface HostView {
  state: string;
  tags: Record<string, string>;
}

/** Reads each host back from moto (not through the code under test). */
export async function readHosts(ec2: EC2Client, ids: readonly string[]): Promise<HostView[]> {
  const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }));
  const byId = new Map<string, HostView>();
  for (const reservation of described.Reservations ?? []) {
    for (const instance of reservation.Instances ?? []) {
      byId.set(instance.InstanceId ?? "", {
        state: instance.State?.Name ?? "unknown",
        tags: Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""])),
      });
    }
  }
  return ids.map((id) => {
    const view = byId.get(id);
    if (!view) throw new Error(`moto does not know ${id}`);
    return view;
  });
}

/** One host read back from moto. */
export async function readHost(ec2: EC2Client, id: string): Promise<HostView> {
  const [view] = await readHosts(ec2, [id]);
  if (!view) throw new Error(`moto does not know ${id}`);
  return view;
}

/** An alert as SNS delivered it to a subscribed SQS queue. */
export interface ReceivedAlert {
  subject: string;
  message: string;
  key: string;
}

/** An SQS queue subscribed to the alerts topic, as an operator's inbox. */
export interface AlertInbox {
  /** every alert delivered since the last call (each is deleted once read) */
  take(): Promise<ReceivedAlert[]>;
}

/** Subscribes a new SQS queue to the topic. moto delivers SNS to SQS at once. */
export async function subscribeInbox(live: LiveAws, name: string): Promise<AlertInbox> {
  const sqs = new SQSClient({ ...MOTO_CLIENT, endpoint: live.moto.endpoint });
  const sns = new SNSClient({ ...MOTO_CLIENT, endpoint: live.moto.endpoint });
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl;
  const arn = (
    await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
    )
  ).Attributes?.QueueArn;
  await sns.send(new SubscribeCommand({ TopicArn: live.topicArn, Protocol: "sqs", Endpoint: arn }));
  return {
    take: async () => {
      const alerts: ReceivedAlert[] = [];
      for (;;) {
        const received = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) return alerts;
        for (const message of messages) {
          const envelope = JSON.parse(message.Body ?? "{}") as {
            Subject?: string;
            Message?: string;
            MessageAttributes?: Record<string, { Value?: string }>;
          };
          alerts.push({
            subject: envelope.Subject ?? "",
            message: envelope.Message ?? "",
            key: envelope.MessageAttributes?.key?.Value ?? "",
          });
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
        }
      }
    },
  };
}
