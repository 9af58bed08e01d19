import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli/program.ts";
import { reconcilePool } from "../../shared/act/reconcile.ts";
import { parseConfig } from "../../shared/config/index.ts";
import { wireAws } from "../../shared/wire.ts";
import { planSchema, snapshotSchema } from "../../shared/plan/index.ts";
import { createStateTable, liveConfigChanges } from "../support/aws-fixture.ts";
import { memoryIo } from "../support/cli-io.ts";
import { rawConfigWith } from "../support/config-builder.ts";
import { startMidtierServer, type MidtierServer } from "../support/midtier-server.ts";
import { MOTO_CLIENT, missing, motoInstalled, startMoto, type Moto } from "../support/services.ts";
import { tempConfigFile } from "../support/temp-files.ts";

// `vor-power observe` and live `vor-power plan` through the wiring module: EC2 and DynamoDB on
// moto, the midtier on a loopback server, the standard SDK environment pointing at moto.

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv");

describe.skipIf(skip)("vor-power observe and live plan (moto, loopback midtier)", () => {
  let moto: Moto;
  let midtier: MidtierServer;
  let configFile: string;
  let env: Record<string, string>;
  const ids: string[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    midtier = await startMidtierServer({ token: "midtier-token-1" });
    midtier.answer({
      kind: "json",
      body: [{ id: "r-1", status: "pending", pool: "compute", hosts: 1, hostIds: [] }],
    });
    const client = { ...MOTO_CLIENT, endpoint: moto.endpoint };
    const ec2 = new EC2Client(client);
    const image =
      (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId ?? "ami-12c6146b";
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: image,
        MinCount: 2,
        MaxCount: 2,
        InstanceType: "t3.micro",
      }),
    );
    for (const instance of run.Instances ?? [])
      if (instance.InstanceId) ids.push(instance.InstanceId);
    const [ready, idle] = ids;
    if (!ready || !idle) throw new Error("moto started no instances");
    await ec2.send(
      new CreateTagsCommand({ Resources: ids, Tags: [{ Key: "vor:pool", Value: "compute" }] }),
    );
    await ec2.send(
      new CreateTagsCommand({
        Resources: [ready],
        Tags: [
          { Key: "vor:lifecycle", Value: "ready" },
          { Key: "vor:ready-at", Value: "2026-03-04T09:00:00Z" },
        ],
      }),
    );
    await ec2.send(new StopInstancesCommand({ InstanceIds: [idle] }));
    await createStateTable(client);
    configFile = tempConfigFile(rawConfigWith(...liveConfigChanges(midtier.runsUrl)));
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

  it("prints the live Snapshot: the pool's hosts from EC2, the midtier's runs, the state store's control", async () => {
    const io = { ...memoryIo(new Date("2026-03-04T10:00:00Z")), env };

    const code = await runCli(["observe", "--config", configFile, "--json"], io);

    expect(io.stderr.filter((line) => !line.startsWith("{"))).toEqual([]);
    expect(code).toBe(0);
    const snapshot = snapshotSchema.parse(JSON.parse(io.stdout.join("\n")));
    const pool = snapshot.pools.compute;
    expect(pool?.hosts.map((h) => [h.id, h.cloudState]).sort()).toEqual(
      [
        [ids[0], "running"],
        [ids[1], "stopped"],
      ].sort(),
    );
    expect(pool?.signals.midtier).toMatchObject({
      status: "ok",
      data: { runs: [{ id: "r-1", state: "pending" }] },
    });
    expect(midtier.authorizations).toContain("Bearer midtier-token-1");
  });

  it("plans live without acting: a pending run on a ready host is steady, the untagged stopped host is to be marked off", async () => {
    const io = { ...memoryIo(new Date("2026-03-04T10:00:00Z")), env };

    const code = await runCli(["plan", "--config", configFile, "--json"], io);

    expect(code).toBe(0);
    const plan = planSchema.parse(JSON.parse(io.stdout.join("\n")));
    expect(plan.decisions[0]).toMatchObject({
      rule: "pool.steady",
      numbers: { demand: 1, capacity: 1 },
    });
    expect(plan.decisions).toContainEqual(
      expect.objectContaining({ host: ids[1], rule: "lifecycle.mark-off" }),
    );
    const again = { ...memoryIo(new Date("2026-03-04T10:00:00Z")), env };
    await runCli(["observe", "--config", configFile, "--json"], again);
    const after = snapshotSchema.parse(JSON.parse(again.stdout.join("\n")));
    expect(
      after.pools.compute?.hosts.find((h) => h.id === ids[1])?.tags["vor:lifecycle"],
    ).toBeUndefined();
  });
});

describe.skipIf(skip)("reconcile through the wired AWS adapters (moto, loopback midtier)", () => {
  let moto: Moto;
  let midtier: MidtierServer;
  let ec2: EC2Client;
  let env: Record<string, string>;
  let host = "";

  beforeAll(async () => {
    moto = await startMoto();
    midtier = await startMidtierServer({ token: "t-2" });
    const client = { ...MOTO_CLIENT, endpoint: moto.endpoint };
    ec2 = new EC2Client(client);
    const image =
      (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId ?? "ami-12c6146b";
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: image,
        MinCount: 1,
        MaxCount: 1,
        InstanceType: "t3.micro",
      }),
    );
    host = run.Instances?.[0]?.InstanceId ?? "";
    await ec2.send(
      new CreateTagsCommand({
        Resources: [host],
        Tags: [
          { Key: "vor:pool", Value: "compute" },
          { Key: "vor:lifecycle", Value: "off" },
        ],
      }),
    );
    await ec2.send(new StopInstancesCommand({ InstanceIds: [host] }));
    await createStateTable(client);
    env = { AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: "eu-west-2", VOR_MIDTIER_TOKEN: "t-2" };
    process.env.AWS_ACCESS_KEY_ID = "testing";
    process.env.AWS_SECRET_ACCESS_KEY = "testing";
  }, 60_000);

  afterAll(async () => {
    await midtier.close();
    await moto.stop();
  });

  it("starts a host for a pending run: the starting tag before the call, the start recorded in DynamoDB", async () => {
    midtier.answer({
      kind: "json",
      body: [{ id: "r-9", status: "pending", pool: "compute", hosts: 1, hostIds: [] }],
    });
    const raw = rawConfigWith(...liveConfigChanges(midtier.runsUrl));
    const parsed = parseConfig(raw);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const ports = await wireAws(parsed.config, env, () => undefined);
    const now = new Date("2026-03-04T10:00:00Z");

    const result = await reconcilePool(parsed.config, "compute", ports, now, "test-tick");

    expect(result.outcomes.find((o) => o.decision.host === host)).toMatchObject({
      status: "done",
      decision: { rule: "scale-out.pending" },
    });
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [host] }));
    const instance = described.Reservations?.[0]?.Instances?.[0];
    expect(["pending", "running"]).toContain(instance?.State?.Name);
    expect(instance?.Tags?.find((t) => t.Key === "vor:lifecycle")?.Value).toBe("starting");
    expect((await ports.store.readPool("compute")).startRecords[host]).toEqual({
      at: now.toISOString(),
      result: "ok",
    });
  });
});
