import { RunInstancesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { ListCommandsCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleHostKeys } from "../../shared/bootstrap/console-host-keys.ts";
import type { HostTarget } from "../../shared/bootstrap/host-channel.ts";
import { SsmChannel } from "../../shared/bootstrap/ssm-channel.ts";
import { createEc2Client } from "../../shared/cloud/aws-ec2.ts";
import { MOTO_CLIENT, missing, motoInstalled, startMoto, type Moto } from "../support/services.ts";
import { faultOf } from "../support/access-fault.ts";

// The SSM channel and the console host keys against moto on 127.0.0.1, over the real SDK wire.
// Moto runs nothing: SendCommand records the command and GetCommandInvocation answers Success,
// ResponseCode 0 and empty output at once, for any instance id (it checks no registration).
// CancelCommand is not implemented (an HTML 404 the SDK cannot parse), which the channel's
// best-effort cancel must survive. GetConsoleOutput answers a fixed Xen boot log without keys
// for a known instance, and InvalidInstanceID.NotFound otherwise. Addresses are never dialled.

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it");

/** Any AMI id: moto runs instances from ids it does not know. */
const IMAGE_ID = "ami-12c6146b";
const SCRIPT = "set -e\nid -un\necho ready";

interface Call {
  command: string;
  input: object;
}

/** Records each command the client sends (before the SDK's retries). */
function recordCalls(client: SSMClient): Call[] {
  const calls: Call[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      calls.push({ command: context.commandName ?? "?", input: args.input });
      return next(args);
    },
    { step: "initialize", priority: "high", name: "recordCalls" },
  );
  return calls;
}

/**
 * Asks for the first `polls` invocations of another instance, so that moto answers its own
 * InvocationDoesNotExist, as SSM does right after SendCommand.
 */
function hideInvocation(client: SSMClient, polls: number): void {
  let seen = 0;
  client.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName !== "GetCommandInvocationCommand" || seen++ >= polls)
        return next(args);
      return next({ ...args, input: { ...args.input, InstanceId: "i-0000000000000000f" } });
    },
    { step: "initialize", priority: "low", name: "hideInvocation" },
  );
}

describe.skipIf(skip)("SsmChannel on moto", () => {
  let moto: Moto;
  let ec2: EC2Client;
  let host: HostTarget;

  const ssmClient = () =>
    new SSMClient({ ...MOTO_CLIENT, endpoint: moto.endpoint, maxAttempts: 1 });
  const channelOver = (client: SSMClient) =>
    new SsmChannel({ client, firstPollMs: 20, maxPollMs: 100 });

  beforeAll(async () => {
    moto = await startMoto();
    ec2 = createEc2Client({ ...MOTO_CLIENT, endpoint: moto.endpoint, maxAttempts: 1 });
    const run = await ec2.send(
      new RunInstancesCommand({ ImageId: IMAGE_ID, MinCount: 1, MaxCount: 1 }),
    );
    const id = run.Instances?.[0]?.InstanceId;
    if (id === undefined) throw new Error("moto ran no instance");
    host = { id, pool: "compute", tags: {} };
  });

  afterAll(async () => {
    await moto.stop();
  });

  it("sends the command, finds its invocation and answers moto's Success as exit 0", async () => {
    const ssm = ssmClient();
    const calls = recordCalls(ssm);

    const result = await channelOver(ssm).run(host, SCRIPT, {
      timeoutMs: 90_000,
      runId: `${host.id}/attempt-1`,
    });

    expect(result).toMatchObject({ exitCode: 0, stdout: "", stderr: "" });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    const listed = await ssm.send(new ListCommandsCommand({ InstanceId: host.id }));
    expect(listed.Commands).toHaveLength(1);
    const command = listed.Commands?.[0];
    expect(command).toMatchObject({
      DocumentName: "AWS-RunShellScript",
      Comment: `${host.id}/attempt-1`,
      Parameters: { commands: [SCRIPT], executionTimeout: ["90"] },
      TimeoutSeconds: 90,
    });
    expect(calls.map((c) => c.command)).toEqual([
      "SendCommandCommand",
      "GetCommandInvocationCommand",
      "ListCommandsCommand",
    ]);
    expect(calls[1]?.input).toEqual({ CommandId: command?.CommandId, InstanceId: host.id });
  });

  it("polls through moto's InvocationDoesNotExist until the invocation appears", async () => {
    const ssm = ssmClient();
    hideInvocation(ssm, 2);
    const calls = recordCalls(ssm);

    const result = await channelOver(ssm).run(host, SCRIPT, {
      timeoutMs: 10_000,
      runId: `${host.id}/attempt-2`,
    });

    expect(result.exitCode).toBe(0);
    expect(calls.filter((c) => c.command === "GetCommandInvocationCommand")).toHaveLength(3);
  });

  it("fails with ssm:timeout when the invocation never appears, surviving a failed cancel", async () => {
    const ssm = ssmClient();
    hideInvocation(ssm, Number.POSITIVE_INFINITY);
    const calls = recordCalls(ssm);

    const fault = await faultOf(
      channelOver(ssm).run(host, SCRIPT, { timeoutMs: 300, runId: `${host.id}/attempt-3` }),
    );

    expect(fault.code).toBe("ssm:timeout");
    expect(fault.message).toContain(host.id);
    expect(calls.at(-1)?.command).toBe("CancelCommandCommand");
  });

  it("answers no pinned key from moto's console output, which has no keys block", async () => {
    const keys = await consoleHostKeys(ec2, host.id);

    expect(keys).toEqual([]);
  });

  it("fails with console:error for an instance EC2 does not know", async () => {
    const fault = await faultOf(consoleHostKeys(ec2, "i-0123456789abcdef0"));

    expect(fault.code).toBe("console:error");
    expect(fault.message).toContain("InvalidInstanceID.NotFound");
  });
});
