// The run-submitted handler's latency against moto on loopback (issue 11): from the SQS event
// entering the handler (the middy-wrapped `handler`, what Lambda calls) to the StartInstances
// request leaving the SDK for the HTTP socket. Used by bench/handlers.ts; see bench/README.md.
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
} from "@aws-sdk/client-ec2";
import { DeleteItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context, SQSEvent } from "aws-lambda";
import { performance } from "node:perf_hooks";
import { handler } from "../functions/aws/run-submitted.ts";
import { setDependenciesForTests } from "../functions/aws/runtime.ts";
import type { Ports } from "../shared/act/ports.ts";
import { reconcilePool } from "../shared/act/reconcile.ts";
import { runOps } from "../shared/ops/run-ops.ts";
import { SkipBootstrap } from "../shared/bootstrap/skip-bootstrap.ts";
import { Ec2ComputeProvider, createEc2Client } from "../shared/cloud/aws-ec2.ts";
import { formatIssue, type Config } from "../shared/config/index.ts";
import { TAG } from "../shared/plan/tags.ts";
import { DynamoDbStateStore } from "../shared/state/dynamodb-state-store.ts";
import type { Lease } from "../shared/state/state-store.ts";
import { loadConfigFromEnvironment, wireAws } from "../shared/wire.ts";
import { createStateTable, liveConfigChanges } from "../test/support/aws-fixture.ts";
import { rawConfigWith } from "../test/support/config-builder.ts";
import { startMidtierServer, type MidtierServer } from "../test/support/midtier-server.ts";
import { MOTO_CLIENT, startMoto, type Moto } from "../test/support/services.ts";
import { tempConfigFile } from "../test/support/temp-files.ts";

const POOL = "compute";
const TABLE = "vor-power-state";
const POOL_HOSTS = 8;
const TOKEN = "bench-midtier-token";
/** How long the midtier takes to answer the slowed tick's first observe (scenario C). */
export const SLOW_MIDTIER_MS = 250;
/** Each event happens an hour after the last, so no submitted run, cooldown or lease carries over. */
const STEP_MS = 60 * 60_000;

/** One SDK call (or signal read) seen from inside the process: when it left and when it came back. */
export interface Call {
  who: "handler" | "tick";
  what: string;
  start: number;
  end: number;
  /** StartInstances only: the instances asked for */
  ids?: string[];
}

/** One measured event. Times are performance.now() milliseconds. */
export interface Sample {
  /** the event entered the handler */
  entered: number;
  /** the handler returned */
  returned: number;
  /** the StartInstances request left the SDK (undefined: no start was sent) */
  startSent?: number;
  /** who sent it */
  startedBy?: "handler" | "tick";
  /** contended: the tick's first releaseLease answered "again" (it plans once more from here) */
  again?: number;
  /** the handler's own SDK calls and signal reads before the start, in order */
  calls: Call[];
  /** contended: the tick's calls from its "again" to the start (its re-plan), in order */
  replan?: Call[];
  /** SQS batch item failures the handler returned */
  failures: number;
}

export interface LatencyResult {
  uncontended: Sample[];
  /** the tick holds the lease; its round ends as soon as the handler returned */
  contendedTight: Sample[];
  /** the tick holds the lease while it waits SLOW_MIDTIER_MS for the midtier */
  contendedSlow: Sample[];
  /** the first event of the process: fresh SDK clients, no connection yet */
  first: Sample;
}

/** Records every call of a client; StartInstances also into `onStart`. */
function trace(
  client: EC2Client | DynamoDBClient,
  who: Call["who"],
  calls: Call[],
  onStart?: (call: Call) => void,
): void {
  // The deserialize step at low priority is the innermost middleware: what it calls next sends
  // the (serialized, signed) HTTP request. Once per attempt; retries would add calls.
  const middleware =
    <A extends { input: unknown }, R>(
      next: (args: A) => Promise<R>,
      context: { commandName?: string },
    ) =>
    async (args: A): Promise<R> => {
      const what = (context.commandName ?? "?").replace(/Command$/, "");
      const call: Call = { who, what, start: performance.now(), end: Number.NaN };
      if (what === "StartInstances") {
        const input = args.input;
        if (typeof input === "object" && input !== null && "InstanceIds" in input) {
          const ids = input.InstanceIds;
          call.ids = Array.isArray(ids) ? ids.map(String) : [];
        }
        onStart?.(call);
      }
      calls.push(call);
      try {
        return await next(args);
      } finally {
        call.end = performance.now();
      }
    };
  const options = { step: "deserialize", priority: "low", name: `bench-trace-${who}` } as const;
  if (client instanceof EC2Client) client.middlewareStack.add(middleware, options);
  else client.middlewareStack.add(middleware, options);
}

/** The tick's store: tells when its first read returned and when a release answered "again". */
class TickStore extends DynamoDbStateStore {
  onRead: (() => void) | undefined;
  onAgain: (() => void) | undefined;

  override async readPool(pool: string) {
    const control = await super.readPool(pool);
    const hook = this.onRead;
    this.onRead = undefined;
    hook?.();
    return control;
  }

  override async releaseLease(lease: Lease): Promise<"released" | "again"> {
    const answer = await super.releaseLease(lease);
    if (answer === "again") {
      const hook = this.onAgain;
      this.onAgain = undefined;
      hook?.();
    }
    return answer;
  }
}

const context = (n: number): Context =>
  ({
    functionName: "vor-power-run-submitted",
    awsRequestId: `bench-${String(n).padStart(6, "0")}`,
    getRemainingTimeInMillis: () => 60_000,
  }) as Context;

function sqsEvent(n: number): SQSEvent {
  return {
    Records: [
      {
        messageId: `m-${n}`,
        receiptHandle: "bench",
        body: JSON.stringify({ runId: `bench-run-${n}`, pool: POOL, hosts: 1 }),
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: "0",
          SenderId: "bench",
          ApproximateFirstReceiveTimestamp: "0",
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:eu-west-2:123456789012:vor-power-run-submitted",
        awsRegion: "eu-west-2",
      },
    ],
  };
}

/** Runs `work` with stdout and stderr dropped (the handlers' JSON logs are still built). */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  if (process.env.BENCH_LOGS === "true") return work();
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const drop = (() => true) as typeof process.stdout.write;
  process.stdout.write = drop;
  process.stderr.write = drop;
  try {
    return await work();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/**
 * The world on moto: the state table, a pool of stopped hosts, a loopback midtier listing no runs,
 * the config loaded from a file, and the handler's dependencies built by the wiring module with
 * the EC2 and DynamoDB clients replaced by traced ones. Returns the measurements; stops moto and
 * the midtier whatever happens.
 */
export async function measureLatency(options: {
  warmup: number;
  samples: number;
}): Promise<LatencyResult> {
  let moto: Moto | undefined;
  let midtier: MidtierServer | undefined;
  try {
    moto = await startMoto();
    midtier = await startMidtierServer({ token: TOKEN });
    midtier.answer({ kind: "json", body: [] });
    return await measure(moto, midtier, options);
  } finally {
    setDependenciesForTests(undefined);
    await midtier?.close();
    await moto?.stop();
  }
}

async function measure(
  moto: Moto,
  midtier: MidtierServer,
  options: { warmup: number; samples: number },
): Promise<LatencyResult> {
  // The SDK's credential chain reads process.env; moto accepts any credentials.
  process.env.AWS_ACCESS_KEY_ID = "testing";
  process.env.AWS_SECRET_ACCESS_KEY = "testing";
  const admin = { ...MOTO_CLIENT, endpoint: moto.endpoint };
  const ec2Admin = new EC2Client(admin);
  const ddbAdmin = new DynamoDBClient(admin);

  await createStateTable(admin, TABLE);
  const image =
    (await ec2Admin.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId ?? "ami-12c6146b";
  const run = await ec2Admin.send(
    new RunInstancesCommand({
      ImageId: image,
      MinCount: POOL_HOSTS,
      MaxCount: POOL_HOSTS,
      InstanceType: "t3.micro",
    }),
  );
  const hosts = (run.Instances ?? []).map((i) => i.InstanceId ?? "");
  await ec2Admin.send(
    new CreateTagsCommand({ Resources: hosts, Tags: [{ Key: "vor:pool", Value: POOL }] }),
  );
  await ec2Admin.send(new StopInstancesCommand({ InstanceIds: hosts }));

  // The pool has no window and there is no run schedule: only the submitted run asks for a host.
  const file = tempConfigFile(
    rawConfigWith(
      ...liveConfigChanges(midtier.runsUrl),
      ["pools.compute.windows", []],
      ["runSchedules", undefined],
      ["alerts", undefined],
    ),
  );
  const env = {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: MOTO_CLIENT.region,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_LAMBDA_FUNCTION_NAME: "vor-power-run-submitted",
    VOR_MIDTIER_TOKEN: TOKEN,
  };
  const loaded = await loadConfigFromEnvironment(env, file);
  if (!loaded.ok) throw new Error(`bench config: ${loaded.errors.map(formatIssue).join("; ")}`);
  const config: Config = loaded.config;
  const wired = await wireAws(config, env, () => undefined);

  // The handler's ports: the wired signals (midtier) and alerter; EC2 and DynamoDB adapters built
  // as wireAws builds them, on clients of our own that carry the tracing middleware.
  const at = { region: env.AWS_REGION, endpoint: moto.endpoint };
  let current: Sample | undefined;
  const handlerCalls: Call[] = [];
  const tickCalls: Call[] = [];
  const noteStart = (call: Call) => {
    const sample = current;
    if (sample && sample.startSent === undefined) {
      sample.startSent = call.start;
      sample.startedBy = call.who;
      sample.calls = handlerCalls.filter((c) => c.start >= sample.entered && c.start < call.start);
      const again = sample.again;
      if (call.who === "tick" && again !== undefined)
        sample.replan = tickCalls.filter((c) => c.start >= again && c.start < call.start);
    }
  };

  /** The handler's and the tick's ports: the wired signals (the midtier) and alerter, and EC2 and
   * DynamoDB adapters built as wireAws builds them but on clients of our own, traced. Each has its
   * own clients, so a start is known to be the handler's or the tick's; they share the table. */
  const portsOf = (who: Call["who"], calls: Call[], store: DynamoDbStateStore): Ports => {
    const ec2 = createEc2Client(at);
    trace(ec2, who, calls, noteStart);
    return {
      ...wired,
      compute: new Ec2ComputeProvider({ client: ec2, poolTag: config.cloud.poolTag }),
      store,
      signals: {
        read: async (pool, ids) => {
          const call: Call = { who, what: "signals.read", start: performance.now(), end: 0 };
          calls.push(call);
          try {
            return await wired.signals.read(pool, ids);
          } finally {
            call.end = performance.now();
          }
        },
        isBusy: (pool, host) => wired.signals.isBusy(pool, host),
      },
      bootstrap: new SkipBootstrap(store, `vor-power-${who}`),
    };
  };
  const handlerDdb = new DynamoDBClient(at);
  trace(handlerDdb, "handler", handlerCalls);
  const ports = portsOf(
    "handler",
    handlerCalls,
    new DynamoDbStateStore({ client: handlerDdb, table: config.state.table }),
  );
  const tickDdb = new DynamoDBClient(at);
  trace(tickDdb, "tick", tickCalls);
  const tickStore = new TickStore({ client: tickDdb, table: config.state.table });
  const tickPorts = portsOf("tick", tickCalls, tickStore);

  let now = new Date("2026-03-07T12:00:00Z"); // a Saturday; the pool has no window anyway
  setDependenciesForTests({
    config,
    ports,
    clock: () => now,
    dryRun: false,
    runOps,
  });

  /** Back to "every host off, no history": stop what started, reset its tags, drop the control. */
  const reset = async (started: string[]) => {
    if (started.length > 0) {
      await ec2Admin.send(new StopInstancesCommand({ InstanceIds: started }));
      const keys = Object.values(TAG).filter((k) => k !== TAG.exclude);
      await ec2Admin.send(
        new DeleteTagsCommand({ Resources: started, Tags: keys.map((Key) => ({ Key })) }),
      );
    }
    now = new Date(now.getTime() + STEP_MS);
    await ec2Admin.send(
      new CreateTagsCommand({
        Resources: started.length > 0 ? started : hosts,
        Tags: [
          { Key: TAG.lifecycle, Value: "off" },
          { Key: TAG.since, Value: new Date(now.getTime() - 24 * STEP_MS).toISOString() },
        ],
      }),
    );
    await ddbAdmin.send(
      new DeleteItemCommand({
        TableName: config.state.table,
        Key: { pk: { S: `pool#${POOL}` }, sk: { S: "control" } },
      }),
    );
  };

  let n = 0;
  const newSample = (): Sample => ({
    entered: 0,
    returned: 0,
    calls: [],
    failures: 0,
  });
  const startedIds = (sample: Sample) => {
    const all = [...handlerCalls, ...tickCalls].filter(
      (c) => c.what === "StartInstances" && c.start >= sample.entered,
    );
    return [...new Set(all.flatMap((c) => c.ids ?? []))];
  };
  const invoke = async (sample: Sample) => {
    n += 1;
    sample.entered = performance.now();
    const answer = await handler(sqsEvent(n), context(n));
    sample.returned = performance.now();
    sample.failures = answer.batchItemFailures.length;
  };

  /** A run arrives, nobody holds the lease: the handler itself starts a host. */
  const uncontended = async (): Promise<Sample> => {
    const sample = newSample();
    await new Promise((r) => setTimeout(r, Number(process.env.BENCH_IDLE ?? 0)));
    current = sample;
    handlerCalls.length = 0;
    await invoke(sample);
    current = undefined;
    await reset(startedIds(sample));
    return sample;
  };

  /**
   * A tick holds the lease when the run arrives. `slow`: the tick waits SLOW_MIDTIER_MS for the
   * midtier in its first observe and the event arrives as soon as the tick has read the pool's
   * control (so its first plan cannot see the run); otherwise the event arrives after the tick's
   * first plan, just before it acts, and the tick waits for the handler to return before acting.
   */
  const contended = async (slow: boolean): Promise<Sample> => {
    const sample = newSample();
    handlerCalls.length = 0;
    tickCalls.length = 0;
    let handled: Promise<void> | undefined;
    tickStore.onAgain = () => (sample.again = performance.now());
    const arrive = () => {
      current = sample;
      handled = invoke(sample);
      return handled;
    };
    let round = 0;
    if (slow) {
      const asked = midtier.authorizations.length;
      midtier.answer({ kind: "slow", delayMs: SLOW_MIDTIER_MS, body: [] });
      tickStore.onRead = () => {
        void (async () => {
          // The slow answer is taken when the request arrives; later ones are quick again.
          while (midtier.authorizations.length === asked)
            await new Promise((resolve) => setTimeout(resolve, 1));
          midtier.answer({ kind: "json", body: [] });
          await arrive();
        })();
      };
    }
    const report = await reconcilePool(config, POOL, tickPorts, now, "tick", {
      beforeAct: async () => {
        if (round++ === 0 && !slow) await arrive();
      },
    });
    await handled;
    current = undefined;
    if (!report.acted) throw new Error("the simulated tick did not get the lease");
    await reset(startedIds(sample));
    return sample;
  };

  return quietly(async () => {
    await reset([]);
    const first = await uncontended();
    for (let i = 1; i < options.warmup; i++) await uncontended();
    const result: LatencyResult = {
      first,
      uncontended: [],
      contendedTight: [],
      contendedSlow: [],
    };
    for (let i = 0; i < options.samples; i++) result.uncontended.push(await uncontended());
    for (let i = 0; i < options.warmup; i++) await contended(false);
    for (let i = 0; i < options.samples; i++) result.contendedTight.push(await contended(false));
    for (let i = 0; i < options.samples; i++) result.contendedSlow.push(await contended(true));
    return result;
  });
}
