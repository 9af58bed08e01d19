import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../bin/cli/program.ts";
import type { TraceEntry } from "../../shared/bootstrap/bootstrap-trace.ts";
import { createStateTable } from "../support/aws-fixture.ts";
import { memoryIo } from "../support/cli-io.ts";
import { rawConfigWith } from "../support/config-builder.ts";
import { canUnshare } from "../support/mount-namespace.ts";
import {
  BAO_FIX,
  HOST_PRINCIPALS,
  PRINCIPAL,
  SIGN_ROLE,
  USER_CA_MOUNT,
  fingerprintOf,
  openBaoInstalled,
  startCountingProxy,
  startOpenBao,
  type CountingProxy,
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
import { tempConfigFile } from "../support/temp-files.ts";

// `vor-power bootstrap --host` end to end: EC2 and DynamoDB on moto, OpenBao signing (behind a
// proxy that counts its calls), and two real sshd "hosts", each in a private mount namespace
// whose playpen is a tmpfs with a marker: one holds the midtier's marker, the other another
// file system's. The command prints each step; it records nothing and writes no tag.

const skip =
  (!motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv")) ||
  (!openBaoInstalled() && missing("OpenBao (.venv/bin/bao)", BAO_FIX)) ||
  sshdUnavailable() ||
  (!canUnshare() && missing("unshare -m as root", "run the tests as root on Linux"));

const NOW = new Date("2026-03-04T10:00:00Z");
const MARKER = { file: ".vor-playpen", content: "vor-test" };

/** A tmpfs at `dir` in sshd's own namespace, with `marker` as its marker's content. */
const playpenSetup = (dir: string, marker: string) =>
  [
    `mount -t tmpfs -o size=1m,mode=1777 vor-playpen '${dir}'`,
    `printf '%s\\n' '${marker}' > '${dir}/${MARKER.file}'`,
    `chmod 644 '${dir}/${MARKER.file}'`,
  ].join("\n");

describe("vor-power bootstrap: bad usage", () => {
  it("exits 2 without --host, before reading anything", async () => {
    const io = memoryIo(NOW);

    const code = await runCli(["bootstrap", "--config", "no-such-file.yaml"], io);

    expect(code).toBe(2);
    expect(io.stderr.join("\n")).toContain("--host");
  });

  it("exits 2 naming the file when the config does not load", async () => {
    const io = memoryIo(NOW);

    const code = await runCli(
      ["bootstrap", "--config", "no-such-file.yaml", "--host", "i-0abc"],
      io,
    );

    expect(code).toBe(2);
    expect(io.stderr.join("\n")).toContain("no-such-file.yaml");
  });
});

describe.skipIf(skip)(
  "vor-power bootstrap --host (moto, OpenBao, sshd with a tmpfs playpen)",
  () => {
    let user: TestUser;
    let bao: OpenBao;
    let proxy: CountingProxy;
    let good: Sshd;
    let wrong: Sshd;
    let uncertified: Sshd;
    let moto: Moto;
    let ec2: EC2Client;
    let dynamo: DynamoDBClient;
    let env: Record<string, string>;
    let configFile: string;
    let playpen: string;
    const hosts = { good: "", wrong: "", stopped: "", uncertified: "", ssm: "" };
    const cleanups: (() => Promise<void>)[] = [];

    const cli = async (...args: string[]) => cliWith(env, ...args);
    const cliWith = async (env: Record<string, string>, ...args: string[]) => {
      const io = { ...memoryIo(NOW), env };
      const code = await runCli(["bootstrap", "--config", configFile, ...args], io);
      return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
    };
    const tagsOf = async (id: string) =>
      (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]
        ?.Instances?.[0]?.Tags;
    const accepted = (sshd: Sshd, host: string) =>
      sshd.log().split(`ID vor-power/${host}/`).length - 1;

    beforeAll(async () => {
      user = await createTestUser();
      cleanups.push(() => user.remove());
      bao = await startOpenBao({ allowedUsers: [PRINCIPAL, user.name] });
      cleanups.push(() => bao.stop());
      proxy = await startCountingProxy(bao.address);
      cleanups.push(() => proxy.close());
      // The mount point exists on this machine, empty; only sshd's namespaces mount on it.
      playpen = mkdtempSync(join(tmpdir(), "vor-playpen-"));
      cleanups.push(() => rm(playpen, { recursive: true, force: true }));
      const sshd = (marker: string) =>
        startSshd({
          userCaKey: bao.userCaPublicKey,
          user: user.name,
          hostCertificate: (publicKey) => bao.signHostKey(publicKey, HOST_PRINCIPALS),
          mountSetup: playpenSetup(playpen, marker),
        });
      good = await sshd(MARKER.content);
      cleanups.push(() => good.stop());
      wrong = await sshd("another-file-system");
      cleanups.push(() => wrong.stop());
      // no host certificate: a host whose sshd lacks HostCertificate
      uncertified = await startSshd({ userCaKey: bao.userCaPublicKey, user: user.name });
      cleanups.push(() => uncertified.stop());
      moto = await startMoto();
      cleanups.push(() => moto.stop());

      const client = { ...MOTO_CLIENT, endpoint: moto.endpoint };
      ec2 = new EC2Client(client);
      dynamo = new DynamoDBClient(client);
      const launch = async (tags: Record<string, string>, pool = "compute") => {
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
            Tags: Object.entries({
              "vor:pool": pool,
              "vor:lifecycle": "bootstrapping",
              ...tags,
            }).map(([Key, Value]) => ({ Key, Value })),
          }),
        );
        return id;
      };
      hosts.good = await launch({ "vor:ssh": `${good.host}:${good.port}` });
      hosts.wrong = await launch({ "vor:ssh": `${wrong.host}:${wrong.port}` });
      hosts.uncertified = await launch({ "vor:ssh": `${uncertified.host}:${uncertified.port}` });
      hosts.ssm = await launch({}, "agent");
      hosts.stopped = await launch({ "vor:ssh": `${good.host}:${good.port}` });
      await ec2.send(new StopInstancesCommand({ InstanceIds: [hosts.stopped] }));
      await createStateTable(client);

      configFile = tempConfigFile(
        rawConfigWith(
          ["runSchedules", undefined],
          ["signals.rabbitmq", undefined],
          ["alerts", undefined],
          [
            "pools",
            {
              compute: { min: 0, max: 4, channel: "ssh" },
              agent: { min: 0, max: 2, channel: "ssm" },
            },
          ],
          ...sshAccessConfig({ ...bao, address: proxy.address }, user.name),
          [
            "bootstrap.playpens",
            [
              {
                path: playpen,
                fsTypes: ["tmpfs"],
                source: "vor-playpen",
                runAs: user.name,
                marker: MARKER,
              },
            ],
          ],
        ),
      );
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
    }, 120_000);

    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it("prints every step of a host that passes, exits 0, and records nothing and writes no tag", async () => {
      const tagsBefore = await tagsOf(hosts.good);

      const { code, out, err } = await cli("--host", hosts.good);

      expect(code, `${out}\n${err}\n${good.log()}`).toBe(0);
      const lines = out.split("\n");
      expect(lines[0]).toBe(
        `bootstrap of ${hosts.good} (pool compute): a diagnosis; nothing is recorded, no tag is written`,
      );
      const steps = lines.slice(1).map((line) => line.trim().split(/\s+/).slice(0, 2).join(" "));
      expect(steps).toEqual([
        "host passed",
        "vault-login passed",
        "vault-sign passed",
        "host-key passed",
        "ssh-login passed",
        "access passed",
        "vault-sign passed",
        "host-key passed",
        "ssh-login passed",
        "playpen passed",
        // the playpen's checks, one line
        "exists passed,",
        "verdict passed",
        "ready: every",
      ]);
      expect(out).toContain(`channel ssh to ${good.host}:${good.port}`);
      expect(out).toContain("vor:lifecycle=bootstrapping");
      expect(out).toContain(`id -un answered ${user.name}`);
      expect(out).toContain(`playpen:${playpen}:ok  ${playpen}: tmpfs from vor-playpen`);
      expect(out).toContain(
        "exists passed, mount point passed, fs type passed, source passed, read-write passed, run-as passed, write probe passed, marker passed",
      );
      expect(out).toContain(fingerprintOf(bao.hostCaPublicKey));
      expect(out + err).not.toContain(env.VOR_TEST_SECRET_ID);
      expect(out).not.toContain("-cert-v01@openssh.com");
      expect(await tagsOf(hosts.good)).toEqual(tagsBefore);
      const stored = await dynamo.send(new ScanCommand({ TableName: "vor-power-state" }));
      expect(stored.Items ?? []).toEqual([]);
    });

    it("names the failing playpen check of a host whose marker is another file system's: exit 1", async () => {
      const { code, out } = await cli("--host", hosts.wrong);

      expect(code).toBe(1);
      expect(out).toMatch(
        new RegExp(
          `playpen\\s+failed\\s+[\\d.]+ ms  playpen:${playpen}:marker  marker \\.vor-playpen does not hold the expected content`,
        ),
      );
      expect(out).toContain(
        "exists passed, mount point passed, fs type passed, source passed, read-write passed, run-as passed, write probe passed, marker failed",
      );
      expect(out.split("\n").at(-1)).toBe(
        `not ready: failed at playpen (playpen:${playpen}:marker); fix: mount the midtier's file system (not a look-alike) and have the midtier write the marker`,
      );
      expect(out).not.toContain(MARKER.content);
    });

    it("--json: every step with outcome, code, time, detail and facts; the failure named; results as they would be recorded", async () => {
      const { code, out } = await cli("--host", hosts.wrong, "--json");

      expect(code).toBe(1);
      const answer = JSON.parse(out) as {
        host: string;
        pool: string;
        dryRun: boolean;
        recorded: boolean;
        ok: boolean;
        failed: { step: string; code: string; detail: string };
        steps: TraceEntry[];
        results: { step: string; outcome: string; code: string }[];
      };
      expect(answer).toMatchObject({
        host: hosts.wrong,
        pool: "compute",
        dryRun: false,
        recorded: false,
        ok: false,
        failed: { step: "playpen", code: `playpen:${playpen}:marker` },
      });
      expect(answer.steps.map((s) => s.step)).toEqual([
        "host",
        "vault-login",
        "vault-sign",
        "host-key",
        "ssh-login",
        "access",
        "vault-sign",
        "host-key",
        "ssh-login",
        "playpen",
        "verdict",
      ]);
      for (const step of answer.steps.filter((s) => s.step !== "verdict"))
        expect(step.durationMs, step.step).toBeGreaterThanOrEqual(0);
      const sign = answer.steps.find((s) => s.step === "vault-sign");
      expect(sign?.facts).toEqual({
        keyId: `vor-power/${hosts.wrong}/${NOW.toISOString()}`,
        principals: [user.name],
        ttlS: 120,
        path: `${USER_CA_MOUNT}/sign/${SIGN_ROLE}`,
      });
      expect(answer.steps.find((s) => s.step === "host-key")?.facts).toMatchObject({
        mode: "ca",
        ca: fingerprintOf(bao.hostCaPublicKey),
        hostKey: fingerprintOf(wrong.hostKey),
      });
      expect(answer.steps.find((s) => s.step === "playpen")).toMatchObject({
        outcome: "failed",
        code: `playpen:${playpen}:marker`,
        facts: { path: playpen, fsType: "tmpfs", source: "vor-playpen", runAs: user.name },
      });
      expect(answer.results.map((r) => `${r.step}:${r.outcome}:${r.code}`)).toEqual([
        `playpen:failed:playpen:${playpen}:marker`,
      ]);
      expect(out).not.toContain(env.VOR_TEST_SECRET_ID);
    });

    it("--dry-run: prints the channel, address and checks, and neither signs nor logs in", async () => {
      const vaultCalls = proxy.calls.length;
      const logins = accepted(good, hosts.good);

      const { code, out } = await cli("--host", hosts.good, "--dry-run");

      expect(code).toBe(0);
      expect(out).toContain(`dry run: nothing is connected or signed`);
      expect(out).toContain(`channel ssh to ${good.host}:${good.port}`);
      expect(out).toContain(`would sign a new ed25519 key at ${USER_CA_MOUNT}/sign/${SIGN_ROLE}`);
      expect(out).toContain(`would log in over SSH as ${user.name} at ${good.host}:${good.port}`);
      expect(out).toContain(
        `would check playpen ${playpen} (exists, mount point, fs type, source, read-write, run-as, write probe, marker): fs type tmpfs, source vor-playpen, as ${user.name}, marker ${MARKER.file}`,
      );
      expect(proxy.calls.length).toBe(vaultCalls);
      expect(accepted(good, hosts.good)).toBe(logins);
    });

    it("fails at the host step of a stopped host, connecting nothing: exit 1", async () => {
      const vaultCalls = proxy.calls.length;

      const { code, out } = await cli("--host", hosts.stopped);

      expect(code).toBe(1);
      expect(out).toMatch(/host\s+failed\s+[\d.]+ ms {2}host:not-running {2}stopped;/);
      expect(out.split("\n").at(-1)).toContain("not ready: failed at host (host:not-running)");
      expect(proxy.calls.length).toBe(vaultCalls);
    });

    it("names the Vault login as the failing step when the secret id cannot be read: exit 1", async () => {
      const { code, out } = await cliWith({ ...env, VOR_TEST_SECRET_ID: "" }, "--host", hosts.good);

      expect(code).toBe(1);
      expect(out).toMatch(/vault-login\s+failed\s+[\d.]+ ms {2}vault:secret-id {2}AppRole login/);
      expect(out).not.toMatch(/ssh-login/);
      expect(out.split("\n").at(-1)).toContain(
        "not ready: failed at vault-login (vault:secret-id); fix:",
      );
    });

    it("names the host key check when the host presents no host certificate: exit 1", async () => {
      const { code, out } = await cli("--host", hosts.uncertified);

      expect(code).toBe(1);
      expect(out).toMatch(/host-key\s+failed\s+[\d.]+ ms {2}ssh:host-key-unknown {2}/);
      expect(out.split("\n").at(-1)).toContain(
        "not ready: failed at host-key (ssh:host-key-unknown); fix: sshd's HostCertificate",
      );
    });

    it("runs as the real binary (npx vor-power bootstrap) with the same steps and exit code", async () => {
      const answer = await promisify(execFile)(
        "npx",
        ["--no-install", "vor-power", "bootstrap", "--config", configFile, "--host", hosts.wrong],
        { encoding: "utf8", env: { ...process.env, ...env } },
      ).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: unknown) => {
          const failed = error as { code?: number; stdout?: string };
          return { code: failed.code ?? -1, stdout: failed.stdout ?? "" };
        },
      );

      expect(answer.code).toBe(1);
      expect(answer.stdout).toContain(`bootstrap of ${hosts.wrong} (pool compute): a diagnosis`);
      expect(answer.stdout.trimEnd().split("\n").at(-1)).toContain(
        `not ready: failed at playpen (playpen:${playpen}:marker)`,
      );
    });

    it("an SSM pool's host: access through Run Command, then the playpen script's answer (moto runs nothing)", async () => {
      const vaultCalls = proxy.calls.length;

      const { code, out } = await cli("--host", hosts.ssm, "--json");

      const answer = JSON.parse(out) as { steps: TraceEntry[] };
      expect(code).toBe(1);
      expect(answer.steps.map((s) => `${s.step}:${s.outcome}:${s.code}`)).toEqual([
        "host:passed:ok",
        "access:passed:ok",
        // moto's SSM answers success with no output: no report to read
        "playpen:failed:playpen:check-failed",
        "verdict:failed:playpen:check-failed",
      ]);
      expect(answer.steps[0]?.facts).toMatchObject({
        pool: "agent",
        channel: "ssm",
        address: `instance ${hosts.ssm}`,
      });
      expect(proxy.calls.length).toBe(vaultCalls);
    });

    it("exits 2 naming --host for a host in no pool", async () => {
      const { code, err } = await cli("--host", "i-00000000000000000");

      expect(code).toBe(2);
      expect(err).toContain("--host: no host i-00000000000000000 in any pool (compute, agent)");
    });
  },
);
