import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
  type Instance,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli/program.ts";
import type { StatusReport, WriteAnswer } from "../../shared/ops/run-ops.ts";
import { createStateTable, liveConfigChanges } from "../support/aws-fixture.ts";
import { memoryIo } from "../support/cli-io.ts";
import { rawConfigWith } from "../support/config-builder.ts";
import { startMidtierServer, type MidtierServer } from "../support/midtier-server.ts";
import { MOTO_CLIENT, missing, motoInstalled, startMoto, type Moto } from "../support/services.ts";
import { tempConfigFile } from "../support/temp-files.ts";

// The ops commands of the CLI through the wiring module: EC2 and DynamoDB on moto, the midtier on
// a loopback server. Each write is applied by an immediate reconcile, visible on moto.

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv");
const NOW = new Date("2026-03-04T10:00:00Z");

describe("vor-power ops commands: bad usage", () => {
  it("exits 2 naming --why when a write has none, before reading anything", async () => {
    const io = memoryIo(NOW);

    const code = await runCli(
      [
        "hold",
        "--config",
        "no-such-file.yaml",
        "--pool",
        "compute",
        "--hosts",
        "2",
        "--until",
        "2026-03-04T12:00:00Z",
      ],
      io,
    );

    expect(code).toBe(2);
    expect(io.stderr.join("\n")).toContain("--why: required for hold");
  });

  it("exits 2 naming --until when it carries no zone", async () => {
    const io = memoryIo(NOW);

    const code = await runCli(
      ["hold", "--pool", "compute", "--hosts", "2", "--until", "2026-03-04T12:00", "--why", "x"],
      io,
    );

    expect(code).toBe(2);
    expect(io.stderr.join("\n")).toContain("--until: expected an ISO instant");
  });
});

describe.skipIf(skip)("vor-power ops commands (moto, loopback midtier)", () => {
  let moto: Moto;
  let midtier: MidtierServer;
  let ec2: EC2Client;
  let configFile: string;
  let env: Record<string, string>;
  let ready = "";
  let off = "";

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
        MinCount: 2,
        MaxCount: 2,
        InstanceType: "t3.micro",
      }),
    );
    [ready = "", off = ""] = (run.Instances ?? []).map((i) => i.InstanceId ?? "");
    if (!ready || !off) throw new Error("moto started no instances");
    await ec2.send(
      new CreateTagsCommand({
        Resources: [ready, off],
        Tags: [
          { Key: "vor:pool", Value: "compute" },
          { Key: "vor:since", Value: "2026-03-04T08:00:00Z" },
        ],
      }),
    );
    await ec2.send(
      new CreateTagsCommand({
        Resources: [ready],
        Tags: [
          { Key: "vor:lifecycle", Value: "ready" },
          { Key: "vor:ready-at", Value: "2026-03-04T08:00:00Z" },
        ],
      }),
    );
    await ec2.send(
      new CreateTagsCommand({ Resources: [off], Tags: [{ Key: "vor:lifecycle", Value: "off" }] }),
    );
    await ec2.send(new StopInstancesCommand({ InstanceIds: [off] }));
    await createStateTable(client);
    configFile = tempConfigFile(
      rawConfigWith(
        ...liveConfigChanges(midtier.runsUrl),
        // Alerts go to the log (stderr), where the test reads the AUDIT line.
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
  const instance = async (id: string): Promise<Instance | undefined> =>
    (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]
      ?.Instances?.[0];
  const tag = (found: Instance | undefined, key: string) =>
    found?.Tags?.find((t) => t.Key === key)?.Value;

  it("status --json shows the pool's hosts from EC2 and the planner's numbers", async () => {
    const { code, io } = await cli("status", "--json");

    expect(code).toBe(0);
    const report = JSON.parse(io.stdout.join("\n")) as StatusReport;
    const pool = report.pools.compute;
    expect(pool?.numbers).toEqual({ desired: 1, demand: 0, floor: 1, capacity: 1 });
    expect(pool?.hosts.map((h) => [h.id, h.cloudState, h.lifecycle]).sort()).toEqual(
      [
        [ready, "running", "ready"],
        [off, "stopped", "off"],
      ].sort(),
    );
  });

  it("hold stores the hold in DynamoDB and starts the off host at once", async () => {
    const { code, io } = await cli(
      "hold",
      "--pool",
      "compute",
      "--hosts",
      "2",
      "--until",
      "2026-03-04T12:00:00Z",
      "--why",
      "month end",
      "--by",
      "alice",
    );

    expect(code).toBe(0);
    expect(io.stdout.join("\n")).toContain(
      "[audit: alice: hold compute at 2 hosts until 2026-03-04T12:00:00Z (why: month end)",
    );
    const started = await instance(off);
    expect(["pending", "running"]).toContain(started?.State?.Name);
    expect(tag(started, "vor:lifecycle")).toBe("starting");
    const status = await cli("status", "--pool", "compute", "--json");
    const pool = (JSON.parse(status.io.stdout.join("\n")) as StatusReport).pools.compute;
    expect(pool?.holds).toEqual([
      { hosts: 2, until: "2026-03-04T12:00:00Z", by: "alice", why: "month end", active: true },
    ]);
  });

  it("exclude tags the host vor:exclude; include removes it and adopts the running host", async () => {
    const excluded = await cli(
      "exclude",
      "--pool",
      "compute",
      "--host",
      ready,
      "--why",
      "maintenance",
    );
    const afterExclude = await instance(ready);
    const included = await cli(
      "include",
      "--pool",
      "compute",
      "--host",
      ready,
      "--why",
      "maintenance done",
      "--json",
    );
    const afterInclude = await instance(ready);

    expect(excluded.code).toBe(0);
    expect(tag(afterExclude, "vor:exclude")).toBe("true");
    expect(included.code).toBe(0);
    expect((JSON.parse(included.io.stdout.join("\n")) as WriteAnswer).audit.what).toBe(
      `include ${ready} in compute`,
    );
    expect(tag(afterInclude, "vor:exclude")).toBeUndefined();
    expect(tag(afterInclude, "vor:lifecycle")).toBe("adopted");
  });

  it("stop --force stops the host on EC2 at once, audited", async () => {
    const { code, io } = await cli(
      "stop",
      "--pool",
      "compute",
      "--host",
      ready,
      "--force",
      "--why",
      "kernel patch",
      "--by",
      "alice",
    );

    expect(code).toBe(0);
    const stopped = await instance(ready);
    expect(["stopping", "stopped"]).toContain(stopped?.State?.Name);
    expect(tag(stopped, "vor:stop-cause")).toBe("ops-force");
    expect(io.stderr.join("\n")).toContain(`AUDIT ${ready} force-stopped by alice: kernel patch`);
    expect(io.stdout.join("\n")).toContain(`${ready} stop done`);
  });

  it("answers a stop of an unknown host with exit 2, naming it", async () => {
    const { code, io } = await cli("stop", "--pool", "compute", "--host", "i-nope", "--why", "x");

    expect(code).toBe(2);
    expect(io.stderr.join("\n")).toContain("host i-nope is not in pool compute");
  });
});
