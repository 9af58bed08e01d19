import {
  AccessDeniedException,
  CancelCommandCommand,
  GetCommandInvocationCommand,
  InternalServerError,
  InvalidDocument,
  InvalidInstanceId,
  InvocationDoesNotExist,
  SendCommandCommand,
  ThrottlingException,
  type CancelCommandCommandInput,
  type CancelCommandCommandOutput,
  type GetCommandInvocationCommandOutput,
  type SendCommandCommandInput,
  type SendCommandCommandOutput,
} from "@aws-sdk/client-ssm";
import { describe, expect, it } from "vitest";
import type { HostTarget } from "../../../shared/bootstrap/host-channel.ts";
import { SsmChannel, type SsmCommandClient } from "../../../shared/bootstrap/ssm-channel.ts";
import { faultOf } from "../../support/access-fault.ts";

// The SSM channel against a scripted fake of the three SSM calls and a driven clock: every wait
// between polls advances the clock by exactly what the channel asked for, so deadlines and
// durations are exact and no test waits.

const HOST: HostTarget = { id: "i-0abc", pool: "compute", tags: {} };
const COMMAND_ID = "3f1c0d7e-0000-4000-8000-000000000001";
/** Stands in for anything a script may carry that must never reach a message. */
const SECRET = "s3cr3t-token";
const SCRIPT = `set -e\nexport TOKEN=${SECRET}\nid -un`;
const RUN = { timeoutMs: 60_000, runId: "i-0abc/attempt-1" };

type SsmCommand = SendCommandCommand | GetCommandInvocationCommand | CancelCommandCommand;
type SsmOutput =
  SendCommandCommandOutput | GetCommandInvocationCommandOutput | CancelCommandCommandOutput;
type Invocation = Omit<GetCommandInvocationCommandOutput, "$metadata">;
type Answer<T> = T | Error;

/** A fake SSM: SendCommand answers once, each poll takes the next invocation (the last repeats). */
class FakeSsm implements SsmCommandClient {
  readonly sent: SendCommandCommandInput[] = [];
  readonly cancelled: CancelCommandCommandInput[] = [];
  polls = 0;
  private readonly sendAnswer: Answer<SendCommandCommandOutput>;
  private readonly invocations: readonly Answer<Invocation>[];
  private readonly cancelAnswer: Answer<CancelCommandCommandOutput>;

  constructor(
    invocations: readonly Answer<Invocation>[],
    options: { send?: Answer<SendCommandCommandOutput>; cancel?: Error } = {},
  ) {
    this.invocations = invocations;
    this.sendAnswer = options.send ?? { Command: { CommandId: COMMAND_ID }, $metadata: {} };
    this.cancelAnswer = options.cancel ?? { $metadata: {} };
  }

  send(command: SendCommandCommand): Promise<SendCommandCommandOutput>;
  send(command: GetCommandInvocationCommand): Promise<GetCommandInvocationCommandOutput>;
  send(command: CancelCommandCommand): Promise<CancelCommandCommandOutput>;
  send(command: SsmCommand): Promise<SsmOutput> {
    // The executor's throw becomes the rejection, as an SDK call's refusal does.
    return new Promise((resolve) => resolve(this.answerFor(command)));
  }

  private answerFor(command: SsmCommand): SsmOutput {
    if (command instanceof SendCommandCommand) {
      this.sent.push(command.input);
      return answer(this.sendAnswer);
    }
    if (command instanceof CancelCommandCommand) {
      this.cancelled.push(command.input);
      return answer(this.cancelAnswer);
    }
    expect(command.input).toEqual({ CommandId: COMMAND_ID, InstanceId: HOST.id });
    const next = this.invocations[Math.min(this.polls, this.invocations.length - 1)];
    this.polls += 1;
    if (next === undefined) throw new Error("FakeSsm: no invocation scripted");
    return answer(next instanceof Error ? next : { ...next, $metadata: {} });
  }
}

function answer<T>(value: Answer<T>): T {
  if (value instanceof Error) throw value;
  return value;
}

/** A clock that moves only when the channel sleeps. */
function drivenClock() {
  const clock = {
    at: 1_000_000,
    sleeps: [] as number[],
    now: () => clock.at,
    sleep: (ms: number) => {
      clock.sleeps.push(ms);
      clock.at += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

function channelOver(ssm: FakeSsm, clock = drivenClock()) {
  return { channel: new SsmChannel({ client: ssm, now: clock.now, sleep: clock.sleep }), clock };
}

const invocation = (
  Status: Invocation["Status"] | (string & {}),
  StatusDetails: string,
  extra: Invocation = {},
): Invocation => ({ Status, StatusDetails, ...extra }) as Invocation;

const meta = { $metadata: {} };
const notYet = () => new InvocationDoesNotExist({ message: "Invocation does not exist", ...meta });
const throttled = () =>
  new ThrottlingException({ message: "Rate exceeded", Message: "Rate exceeded", ...meta });
const denied = () =>
  new AccessDeniedException({
    message: "User is not authorized",
    Message: "User is not authorized",
    ...meta,
  });

describe("SsmChannel", () => {
  it("sends the script as one AWS-RunShellScript command to the host, with the run id as comment", async () => {
    const ssm = new FakeSsm([invocation("Success", "Success", { ResponseCode: 0 })]);
    const { channel } = channelOver(ssm);

    await channel.run(HOST, SCRIPT, RUN);

    expect(ssm.sent).toEqual([
      {
        InstanceIds: ["i-0abc"],
        DocumentName: "AWS-RunShellScript",
        Parameters: { commands: [SCRIPT], executionTimeout: ["60"] },
        TimeoutSeconds: 60,
        Comment: "i-0abc/attempt-1",
      },
    ]);
  });

  it.each([
    { timeoutMs: 90_000, executionTimeout: "90", deliverySeconds: 90 },
    { timeoutMs: 5_000, executionTimeout: "5", deliverySeconds: 30 },
    { timeoutMs: 1_500, executionTimeout: "2", deliverySeconds: 30 },
    { timeoutMs: 200, executionTimeout: "1", deliverySeconds: 30 },
    { timeoutMs: 200_000_000, executionTimeout: "172800", deliverySeconds: 200_000 },
  ])(
    "keeps the timeouts of a $timeoutMs ms run within SSM's limits",
    async ({ timeoutMs, executionTimeout, deliverySeconds }) => {
      const ssm = new FakeSsm([invocation("Success", "Success", { ResponseCode: 0 })]);
      const { channel } = channelOver(ssm);

      await channel.run(HOST, SCRIPT, { ...RUN, timeoutMs });

      expect(ssm.sent[0]?.Parameters?.executionTimeout).toEqual([executionTimeout]);
      expect(ssm.sent[0]?.TimeoutSeconds).toBe(deliverySeconds);
    },
  );

  it("cuts a run id longer than SSM's 100-character comment", async () => {
    const ssm = new FakeSsm([invocation("Success", "Success", { ResponseCode: 0 })]);
    const { channel } = channelOver(ssm);

    await channel.run(HOST, SCRIPT, { ...RUN, runId: "r".repeat(150) });

    expect(ssm.sent[0]?.Comment).toBe("r".repeat(100));
  });

  it("answers exit 0 and the output on Success, with the time it took", async () => {
    const ssm = new FakeSsm([
      invocation("Success", "Success", {
        ResponseCode: 0,
        StandardOutputContent: "vor\n",
        StandardErrorContent: "",
      }),
    ]);
    const { channel } = channelOver(ssm);

    const result = await channel.run(HOST, SCRIPT, RUN);

    expect(result).toEqual({ exitCode: 0, stdout: "vor\n", stderr: "", durationMs: 500 });
  });

  it("keeps polling while the invocation does not exist yet or is not terminal, backing off", async () => {
    const ssm = new FakeSsm([
      notYet(),
      notYet(),
      {},
      invocation("Pending", "Pending"),
      invocation("Delayed", "Delayed"),
      invocation("InProgress", "InProgress"),
      invocation("InProgress", "In Progress"),
      invocation("Success", "Success", { ResponseCode: 0, StandardOutputContent: "vor\n" }),
    ]);
    const { channel, clock } = channelOver(ssm);

    const result = await channel.run(HOST, SCRIPT, RUN);

    expect(result).toEqual({ exitCode: 0, stdout: "vor\n", stderr: "", durationMs: 27_500 });
    expect(clock.sleeps).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000, 5_000]);
    expect(ssm.cancelled).toEqual([]);
  });

  it("answers a Failed invocation's exit code and output as a result", async () => {
    const ssm = new FakeSsm([
      invocation("Failed", "Failed", {
        ResponseCode: 3,
        StandardOutputContent: "checking\n",
        StandardErrorContent: "playpen not mounted\n",
      }),
    ]);
    const { channel } = channelOver(ssm);

    const result = await channel.run(HOST, SCRIPT, RUN);

    expect(result).toEqual({
      exitCode: 3,
      stdout: "checking\n",
      stderr: "playpen not mounted\n",
      durationMs: 500,
    });
  });

  it.each([
    { status: "TimedOut", details: "DeliveryTimedOut", code: "ssm:timeout" },
    { status: "Failed", details: "Execution Timed Out", code: "ssm:timeout" },
    { status: "TimedOut", details: "ExecutionTimedOut", code: "ssm:timeout" },
    { status: "Failed", details: "ExecutionTimedOut", code: "ssm:timeout" },
    { status: "TimedOut", details: "", code: "ssm:timeout" },
    { status: "Cancelled", details: "Cancelled", code: "ssm:cancelled" },
    { status: "Cancelling", details: "Cancelling", code: "ssm:cancelled" },
    { status: "Failed", details: "Undeliverable", code: "ssm:not-registered" },
    { status: "Failed", details: "InvalidInstanceId", code: "ssm:not-registered" },
    { status: "Failed", details: "Terminated", code: "ssm:terminated" },
    { status: "Failed", details: "Failed", code: "ssm:failed" },
    { status: "Failed", details: "InvalidPlatform", code: "ssm:failed" },
    { status: "Exploded", details: "Exploded", code: "ssm:error" },
  ])(
    "fails with $code on a terminal $status/$details invocation, without cancelling it",
    async ({ status, details, code }) => {
      const ssm = new FakeSsm([notYet(), invocation(status, details, { ResponseCode: -1 })]);
      const { channel } = channelOver(ssm);

      const fault = await faultOf(channel.run(HOST, SCRIPT, RUN));

      expect(fault.code).toBe(code);
      expect(fault.message).toContain("i-0abc");
      expect(fault.message).toContain(COMMAND_ID);
      expect(fault.message).not.toContain(SECRET);
      expect(ssm.cancelled).toEqual([]);
    },
  );

  it("cancels the command and fails with ssm:timeout when the run's deadline passes first", async () => {
    const ssm = new FakeSsm([notYet(), invocation("InProgress", "InProgress")]);
    const { channel, clock } = channelOver(ssm);

    const fault = await faultOf(channel.run(HOST, SCRIPT, { ...RUN, timeoutMs: 10_000 }));

    expect(fault.code).toBe("ssm:timeout");
    expect(fault.message).toContain("10000 ms");
    expect(clock.sleeps).toEqual([500, 1_000, 2_000, 4_000, 2_500]);
    expect(ssm.polls).toBe(5);
    expect(ssm.cancelled).toEqual([{ CommandId: COMMAND_ID, InstanceIds: ["i-0abc"] }]);
  });

  it("fails with ssm:timeout when the invocation never appears", async () => {
    const ssm = new FakeSsm([notYet()]);
    const { channel, clock } = channelOver(ssm);

    const fault = await faultOf(channel.run(HOST, SCRIPT, { ...RUN, timeoutMs: 3_000 }));

    expect(fault.code).toBe("ssm:timeout");
    expect(clock.at - 1_000_000).toBe(3_000);
    expect(ssm.cancelled).toHaveLength(1);
  });

  it("still fails with ssm:timeout when cancelling the command fails too", async () => {
    const ssm = new FakeSsm([invocation("InProgress", "InProgress")], {
      cancel: denied(),
    });
    const { channel } = channelOver(ssm);

    const fault = await faultOf(channel.run(HOST, SCRIPT, { ...RUN, timeoutMs: 2_000 }));

    expect(fault.code).toBe("ssm:timeout");
    expect(ssm.cancelled).toHaveLength(1);
  });

  it("polls on through throttling and answers the result once SSM answers", async () => {
    const ssm = new FakeSsm([
      throttled(),
      throttled(),
      invocation("Success", "Success", { ResponseCode: 0 }),
    ]);
    const { channel } = channelOver(ssm);

    const result = await channel.run(HOST, SCRIPT, RUN);

    expect(result.exitCode).toBe(0);
    expect(ssm.polls).toBe(3);
  });

  it("fails with throttled when polls are throttled until the deadline", async () => {
    const ssm = new FakeSsm([notYet(), throttled()]);
    const { channel } = channelOver(ssm);

    const fault = await faultOf(channel.run(HOST, SCRIPT, { ...RUN, timeoutMs: 4_000 }));

    expect(fault.code).toBe("throttled");
    expect(fault.message).toContain("ssm:GetCommandInvocation");
    expect(fault.cause).toBeInstanceOf(ThrottlingException);
    expect(ssm.cancelled).toHaveLength(1);
  });

  it.each([
    {
      error: () => new InvalidInstanceId({ message: "Instances not in a valid state", ...meta }),
      code: "ssm:not-registered",
    },
    { error: throttled, code: "throttled" },
    {
      error: denied,
      code: "channel:ssm-denied",
    },
    {
      error: () => new InvalidDocument({ message: "Document not found", ...meta }),
      code: "ssm:error",
    },
    {
      error: () => new InternalServerError({ message: "Internal error", ...meta }),
      code: "channel:ssm-unavailable",
    },
    { error: () => new Error("connect ECONNREFUSED"), code: "channel:ssm-unavailable" },
  ])("fails with $code when SendCommand is refused so", async ({ error, code }) => {
    const refusal = error();
    const ssm = new FakeSsm([], { send: refusal });
    const { channel } = channelOver(ssm);

    const fault = await faultOf(channel.run(HOST, SCRIPT, RUN));

    expect(fault.code).toBe(code);
    expect(fault.cause).toBe(refusal);
    expect(fault.message).toContain("i-0abc");
    expect(fault.message).not.toContain(SECRET);
    expect(ssm.polls).toBe(0);
  });

  it("names ssm:SendCommand when the role may not send commands", async () => {
    const ssm = new FakeSsm([], {
      send: denied(),
    });
    const { channel } = channelOver(ssm);

    const fault = await faultOf(channel.run(HOST, SCRIPT, RUN));

    expect(fault.message).toMatch(/^ssm:SendCommand is not allowed for this role/);
  });

  it("names ssm:GetCommandInvocation and cancels the command when the role may not poll", async () => {
    const ssm = new FakeSsm([denied()]);
    const { channel } = channelOver(ssm);

    const fault = await faultOf(channel.run(HOST, SCRIPT, RUN));

    expect(fault.code).toBe("channel:ssm-denied");
    expect(fault.message).toMatch(/^ssm:GetCommandInvocation is not allowed for this role/);
    expect(ssm.cancelled).toHaveLength(1);
  });

  it("fails with ssm:error when SendCommand answers without a command id", async () => {
    const ssm = new FakeSsm([], { send: { Command: {}, $metadata: {} } });
    const { channel } = channelOver(ssm);

    const fault = await faultOf(channel.run(HOST, SCRIPT, RUN));

    expect(fault.code).toBe("ssm:error");
    expect(ssm.polls).toBe(0);
  });
});
