import { CreateTagsCommand, EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ports } from "../../shared/act/ports.ts";
import { parseConfig } from "../../shared/config/index.ts";
import { wireAws } from "../../shared/wire.ts";
import { createStateTable } from "../support/aws-fixture.ts";
import { rawConfigWith } from "../support/config-builder.ts";
import {
  BAO_FIX,
  HOST_PRINCIPALS,
  PRINCIPAL,
  openBaoInstalled,
  startOpenBao,
  type OpenBao,
  sshAccessConfig,
} from "../support/openbao.ts";
import { MOTO_CLIENT, missing, motoInstalled, startMoto, type Moto } from "../support/services.ts";
import {
  createTestUser,
  sshdUnavailable,
  startSshd,
  type Sshd,
  type TestUser,
} from "../support/sshd.ts";

// The bootstrap step as wireAws builds it from a config: a pool on `channel: ssh` reaches its host
// with a certificate from OpenBao (AppRole in the namespace, the secret id from the environment)
// and a host certificate from OpenBao's host signer; a pool on `channel: ssm` goes through SSM Run
// Command with no Vault at all; hostKey mode pinned reads the keys from EC2's console output.
// EC2, SSM and DynamoDB are moto; the SSH host is a loopback sshd named by the tag vor:ssh (moto's
// private addresses are never dialled).

const skip =
  (!motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv")) ||
  (!openBaoInstalled() && missing("OpenBao (.venv/bin/bao)", BAO_FIX)) ||
  sshdUnavailable();

const AT = new Date("2026-03-04T10:00:00Z");

describe.skipIf(skip)("wireAws's bootstrap step (OpenBao, sshd, moto)", () => {
  let user: TestUser;
  let bao: OpenBao;
  let sshd: Sshd;
  let moto: Moto;
  let env: Record<string, string>;
  let sshHost: string;
  let ssmHost: string;
  const cleanups: (() => Promise<void>)[] = [];

  /** The live config: pool compute on SSH, pool agent on SSM, no playpen; `changes` on top. */
  const config = (...changes: [string, unknown][]) => {
    const parsed = parseConfig(
      rawConfigWith(
        ["runSchedules", undefined],
        ["signals.rabbitmq", undefined],
        ["signals.midtier.token", { fromEnv: "VOR_MIDTIER_TOKEN" }],
        ["alerts", undefined],
        [
          "pools",
          {
            compute: { min: 0, max: 2, channel: "ssh" },
            agent: { min: 0, max: 2, channel: "ssm" },
          },
        ],
        ...sshAccessConfig(bao, user.name),
        // moto's SSM runs no command: access alone is what these hosts can prove
        ["bootstrap.playpens", []],
        ...changes,
      ),
    );
    if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.errors)}`);
    return parsed.config;
  };

  /** The host's last recorded verdict (the state store keeps every attempt's results). */
  const verdict = async (ports: Ports, pool: string, host: string) => {
    const last = (await ports.store.readPool(pool)).bootstrapResults[host]?.at(-1);
    return last && `${last.step}:${last.outcome}:${last.code}`;
  };

  beforeAll(async () => {
    user = await createTestUser();
    cleanups.push(() => user.remove());
    bao = await startOpenBao({ allowedUsers: [PRINCIPAL, user.name] });
    cleanups.push(() => bao.stop());
    sshd = await startSshd({
      userCaKey: bao.userCaPublicKey,
      user: user.name,
      hostCertificate: (publicKey) => bao.signHostKey(publicKey, HOST_PRINCIPALS),
    });
    cleanups.push(() => sshd.stop());
    moto = await startMoto();
    cleanups.push(() => moto.stop());

    const client = { ...MOTO_CLIENT, endpoint: moto.endpoint };
    const ec2 = new EC2Client(client);
    const launch = async (pool: string, tags: Record<string, string>) => {
      const run = await ec2.send(
        new RunInstancesCommand({
          ImageId: "ami-12c6146b",
          MinCount: 1,
          MaxCount: 1,
          InstanceType: "t3.micro",
        }),
      );
      const id = run.Instances?.[0]?.InstanceId;
      if (id === undefined) throw new Error("moto started no instance");
      await ec2.send(
        new CreateTagsCommand({
          Resources: [id],
          Tags: Object.entries({ "vor:pool": pool, ...tags }).map(([Key, Value]) => ({
            Key,
            Value,
          })),
        }),
      );
      return id;
    };
    sshHost = await launch("compute", {
      "vor:lifecycle": "bootstrapping",
      "vor:ssh": `${sshd.host}:${sshd.port}`,
    });
    ssmHost = await launch("agent", { "vor:lifecycle": "bootstrapping" });
    await createStateTable(client);
    env = {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: "eu-west-2",
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      VOR_MIDTIER_TOKEN: "midtier-token-1",
      VOR_TEST_SECRET_ID: await bao.newSecretId(),
    };
    // The SDK's credential chain reads process.env; the endpoint and secrets come from `env`.
    process.env.AWS_ACCESS_KEY_ID = "testing";
    process.env.AWS_SECRET_ACCESS_KEY = "testing";
  }, 90_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("bootstraps a host of an SSH pool with a Vault-signed certificate, and one of an SSM pool over SSM", async () => {
    const lines: string[] = [];
    const ports = await wireAws(config(), env, (line) => lines.push(line));

    await ports.bootstrap.begin("compute", sshHost, { reference: false }, AT);
    await ports.bootstrap.begin("agent", ssmHost, { reference: false }, AT);

    expect(await verdict(ports, "compute", sshHost)).toBe("all:passed:ok");
    expect(await verdict(ports, "agent", ssmHost)).toBe("all:passed:ok");
    expect(sshd.log()).toMatch(
      new RegExp(`Accepted publickey for ${user.name} .*ID vor-power/${sshHost}/`),
    );
    expect(lines.join("\n")).not.toContain(env.VOR_TEST_SECRET_ID);
  });

  it("runs the configured playpen checks after access: a host without the playpen fails on it", async () => {
    const ports = await wireAws(
      config([
        "bootstrap.playpens",
        [
          {
            path: "/data/vor-absent-playpen",
            fsTypes: ["nfs4"],
            runAs: user.name,
            marker: { file: ".vor-playpen", content: "vor-test" },
          },
        ],
      ]),
      env,
      () => undefined,
    );

    await ports.bootstrap.begin("compute", sshHost, { reference: false }, AT);

    expect(await verdict(ports, "compute", sshHost)).toBe(
      "playpen:failed:playpen:/data/vor-absent-playpen:missing",
    );
  });

  it("records the signer's fault for the planner when the secret id cannot be read", async () => {
    const withoutSecret = { ...env, VOR_TEST_SECRET_ID: "" };
    const ports = await wireAws(config(), withoutSecret, () => undefined);

    await ports.bootstrap.begin("compute", sshHost, { reference: false }, AT);

    expect(await verdict(ports, "compute", sshHost)).toBe("access:failed:vault:secret-id");
  });

  it("hostKey mode pinned: reads the keys from the console output; none printed yet is still booting", async () => {
    const ports = await wireAws(
      config(["bootstrap.ssh.hostKey", { mode: "pinned" }]),
      env,
      () => undefined,
    );

    await ports.bootstrap.begin("compute", sshHost, { reference: false }, AT);

    // moto's console output is a boot log without the SSH HOST KEY KEYS block.
    expect(await verdict(ports, "compute", sshHost)).toBe("access:failed:ssh:host-keys-pending");
  });
});
