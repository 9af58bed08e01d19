import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
  type Instance,
} from "@aws-sdk/client-ec2";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli/program.ts";
import { DynamoDbStateStore } from "../../shared/state/dynamodb-state-store.ts";
import { createStateTable, liveConfigChanges } from "../support/aws-fixture.ts";
import { memoryIo } from "../support/cli-io.ts";
import { rawConfigWith } from "../support/config-builder.ts";
import { startMidtierServer, type MidtierServer } from "../support/midtier-server.ts";
import { MOTO_CLIENT, missing, motoInstalled, startMoto, type Moto } from "../support/services.ts";
import { tempConfigFile } from "../support/temp-files.ts";

// `vor-power submit` and `vor-power tick` through the wiring module: EC2 and DynamoDB on moto, the
// midtier on a loopback server that lists no runs. The pool has no window, so only submitted runs
// ask for hosts: every start seen on moto is the submitted run's.

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv");
const NOW = new Date("2026-03-04T10:00:00Z");

describe("vor-power submit: bad usage", () => {
  it("exits 2 naming --run-id when there is none, before reading anything", async () => {
    const io = memoryIo(NOW);

    const code = await runCli(["submit", "--config", "no-such-file.yaml", "--pool", "x"], io);

    expect(code).toBe(2);
    expect(io.stderr.join("\n")).toContain("--run-id: required");
  });

  it("exits 2 naming --hosts when it is not a whole number", async () => {
    const io = memoryIo(NOW);

    const code = await runCli(["submit", "--run-id", "r", "--hosts", "two"], io);

    expect(code).toBe(2);
    expect(io.stderr.join("\n")).toContain('--hosts: expected a whole number, found "two"');
  });
});

describe.skipIf(skip)("vor-power submit and tick (moto, loopback midtier)", () => {
  let moto: Moto;
  let midtier: MidtierServer;
  let ec2: EC2Client;
  let store: DynamoDbStateStore;
  let configFile: string;
  let env: Record<string, string>;
  let hosts: string[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    midtier = await startMidtierServer({ token: "midtier-token-1" });
    midtier.answer({ kind: "json", body: [] });
    const client = { ...MOTO_CLIENT, endpoint: moto.endpoint };
    ec2 = new EC2Client(client);
    const image =
      (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId ?? "ami-12c6146b";
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: image,
        MinCount: 3,
        MaxCount: 3,
        InstanceType: "t3.micro",
      }),
    );
    hosts = (run.Instances ?? []).map((i) => i.InstanceId ?? "");
    await ec2.send(
      new CreateTagsCommand({
        Resources: hosts,
        Tags: [
          { Key: "vor:pool", Value: "compute" },
          { Key: "vor:lifecycle", Value: "off" },
          { Key: "vor:since", Value: "2026-03-04T08:00:00Z" },
        ],
      }),
    );
    await ec2.send(new StopInstancesCommand({ InstanceIds: hosts }));
    await createStateTable(client);
    store = new DynamoDbStateStore({
      client: new DynamoDBClient(client),
      table: "vor-power-state",
    });
    configFile = tempConfigFile(
      rawConfigWith(
        ...liveConfigChanges(midtier.runsUrl),
        ["pools.compute.windows", []],
        ["runSchedules", undefined],
        ["alerts", undefined],
      ),
    );
    env = {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: "eu-west-2",
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      VOR_MIDTIER_TOKEN: "midtier-token-1",
    };
    // The SDK's credential chain reads process.env; the endpoint and secrets come from `env`.
    process.env.AWS_ACCESS_KEY_ID = "testing";
    process.env.AWS_SECRET_ACCESS_KEY = "testing";
  }, 60_000);

  afterAll(async () => {
    await midtier.close();
    await moto.stop();
  });

  const cli = async (...args: string[]) => {
    const io = { ...memoryIo(NOW), env };
    const code = await runCli([...args, "--config", configFile], io);
    return { code, io };
  };
  const instances = async (): Promise<Instance[]> =>
    (
      (await ec2.send(new DescribeInstancesCommand({ InstanceIds: hosts }))).Reservations ?? []
    ).flatMap((r) => r.Instances ?? []);
  const started = async () =>
    (await instances()).filter((i) => i.State?.Name === "pending" || i.State?.Name === "running");

  it("submit --dry-run shows the starts the run would make, and stores and starts nothing", async () => {
    const { code, io } = await cli("submit", "--pool", "compute", "--run-id", "r0", "--dry-run");

    expect(code).toBe(0);
    const out = io.stdout.join("\n");
    expect(out).toContain("Planned (dry run: nothing done)");
    expect(out).toMatch(/scale-out\.\S+ i-\S+ \[dry-run\]/);
    expect(await started()).toEqual([]);
    expect((await store.readPool("compute")).submitted).toEqual([]);
  });

  it("submit stores the run and starts as many hosts as it needs, tagged starting", async () => {
    const { code, io } = await cli("submit", "--pool", "compute", "--run-id", "r1", "--hosts", "2");

    expect(code).toBe(0);
    expect(io.stdout.join("\n")).toContain("run r1 stored for pool compute (2 hosts)");
    const on = await started();
    expect(on).toHaveLength(2);
    expect(on.map((i) => i.Tags?.find((t) => t.Key === "vor:lifecycle")?.Value)).toEqual([
      "starting",
      "starting",
    ]);
    expect((await store.readPool("compute")).submitted).toEqual([
      { runId: "r1", hosts: 2, at: NOW.toISOString(), expiresAt: "2026-03-04T10:10:00.000Z" },
    ]);
  });

  it("submit of the same run again stores it once and starts nothing more", async () => {
    const { code } = await cli("submit", "--pool", "compute", "--run-id", "r1", "--hosts", "2");

    expect(code).toBe(0);
    expect(await started()).toHaveLength(2);
    expect((await store.readPool("compute")).submitted).toHaveLength(1);
  });

  it("tick --json reconciles the pool: the run is served, nothing more starts", async () => {
    const { code, io } = await cli("tick", "--json");

    expect(code).toBe(0);
    const answer = JSON.parse(io.stdout.join("\n")) as {
      failed: boolean;
      pools: { pool: string; acted: boolean; decisions: { rule: string; outcome: string }[] }[];
    };
    expect(answer.failed).toBe(false);
    expect(answer.pools.map((p) => [p.pool, p.acted])).toEqual([["compute", true]]);
    expect(answer.pools[0]?.decisions.filter((d) => d.rule.startsWith("scale-out"))).toEqual([]);
    expect(await started()).toHaveLength(2);
  });

  it("submit to a pool the config lacks exits 2 naming it, and stores nothing", async () => {
    const { code, io } = await cli("submit", "--pool", "gpu", "--run-id", "r2");

    expect(code).toBe(2);
    expect(io.stderr.join("\n")).toContain(
      "run r2 names pool gpu, which the config does not have (compute)",
    );
    expect((await store.readPool("gpu")).submitted).toEqual([]);
  });
});
