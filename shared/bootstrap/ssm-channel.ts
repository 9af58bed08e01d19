import { setTimeout as delay } from "node:timers/promises";
import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  type CancelCommandCommandOutput,
  type GetCommandInvocationCommandOutput,
  type SendCommandCommandOutput,
} from "@aws-sdk/client-ssm";
import {
  AccessFault,
  type CommandResult,
  type HostChannel,
  type HostTarget,
  type RunOptions,
} from "./host-channel.ts";
import { AWS_DENIED, AWS_THROTTLED, factsOf } from "../cloud/aws-errors.ts";

// The HostChannel port over SSM Run Command (AWS-RunShellScript), for AWS installations that do
// not allow SSH: SendCommand, then GetCommandInvocation until the invocation reaches a terminal
// status. No address is ever dialled: the host's SSM agent pulls the command.

/** The SSM calls the channel makes; an SSMClient fits, and so does a test's fake. */
export interface SsmCommandClient {
  send(command: SendCommandCommand): Promise<SendCommandCommandOutput>;
  send(command: GetCommandInvocationCommand): Promise<GetCommandInvocationCommandOutput>;
  send(command: CancelCommandCommand): Promise<CancelCommandCommandOutput>;
}

const DOCUMENT = "AWS-RunShellScript";
/** SSM limits: Comment ≤ 100 chars; delivery TimeoutSeconds 30..2592000; the document's
 * executionTimeout 1..172800 seconds. */
const COMMENT_MAX_CHARS = 100;
const DELIVERY_TIMEOUT_SECONDS = { min: 30, max: 2_592_000 } as const;
const EXECUTION_TIMEOUT_SECONDS = { min: 1, max: 172_800 } as const;
const DEFAULT_FIRST_POLL_MS = 500;
const DEFAULT_MAX_POLL_MS = 5_000;
const WHY_MAX_CHARS = 200;

/** Statuses that only say "not yet". */
const PENDING = new Set(["Pending", "InProgress", "Delayed"]);

/** What one GetCommandInvocation told us. */
type Poll =
  | { kind: "done"; result: CommandResult }
  | { kind: "fault"; fault: AccessFault }
  | { kind: "pending"; throttledBy?: unknown };

export class SsmChannel implements HostChannel {
  private readonly client: SsmCommandClient;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly firstPollMs: number;
  private readonly maxPollMs: number;

  /**
   * @param options.now the clock for the run's deadline and durationMs (default Date.now)
   * @param options.sleep waits between polls (default a timer); tests drive both
   * @param options.firstPollMs the first wait after sending (default 500), doubled per poll up
   *   to `maxPollMs` (default 5000), never past the deadline
   */
  constructor(options: {
    client: SsmCommandClient;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
    firstPollMs?: number;
    maxPollMs?: number;
  }) {
    this.client = options.client;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.firstPollMs = options.firstPollMs ?? DEFAULT_FIRST_POLL_MS;
    this.maxPollMs = options.maxPollMs ?? DEFAULT_MAX_POLL_MS;
  }

  /**
   * Sends `script` to `host.id` with AWS-RunShellScript and polls until a terminal status or
   * `options.timeoutMs` (sending included). A Failed invocation with an exit code is a result.
   * stdout holds at most SSM's first 24,000 characters and stderr its first 8,000: SSM truncates
   * GetCommandInvocation's output (the rest goes only to S3/CloudWatch, which this channel does
   * not configure), so a script must put what it reports near the start of its output.
   * @throws AccessFault `ssm:not-registered` (no online SSM agent yet: booting), `ssm:timeout`
   *   (SSM's or our deadline; on ours the command is cancelled), `ssm:cancelled`,
   *   `ssm:terminated`, `ssm:failed` (failed without an exit code), `throttled`,
   *   `channel:ssm-denied` (the role lacks an ssm: action), `channel:ssm-unavailable` (SSM 5xx or
   *   network), `ssm:error` (any other refusal); cause: the SDK's error when there is one
   */
  async run(host: HostTarget, script: string, options: RunOptions): Promise<CommandResult> {
    const startedAt = this.now();
    const deadline = startedAt + options.timeoutMs;
    const commandId = await this.sendCommand(host, script, options);
    let waitMs = this.firstPollMs;
    for (;;) {
      await this.sleep(Math.max(0, Math.min(waitMs, deadline - this.now())));
      waitMs = Math.min(waitMs * 2, this.maxPollMs);
      const poll = await this.poll(host, commandId);
      if (poll.kind === "done") return { ...poll.result, durationMs: this.now() - startedAt };
      if (poll.kind === "fault") throw poll.fault;
      if (this.now() >= deadline) {
        await this.cancel(host, commandId);
        throw poll.throttledBy === undefined
          ? new AccessFault(
              "ssm:timeout",
              `SSM command ${commandId} on ${host.id} did not finish within ${options.timeoutMs} ms; cancelled it`,
            )
          : new AccessFault(
              "throttled",
              `SSM throttled ssm:GetCommandInvocation for command ${commandId} on ${host.id} until the run's ${options.timeoutMs} ms passed; cancelled it`,
              { cause: poll.throttledBy },
            );
      }
    }
  }

  private async sendCommand(
    host: HostTarget,
    script: string,
    options: RunOptions,
  ): Promise<string> {
    const seconds = Math.ceil(options.timeoutMs / 1000);
    let output: SendCommandCommandOutput;
    try {
      output = await this.client.send(
        new SendCommandCommand({
          InstanceIds: [host.id],
          DocumentName: DOCUMENT,
          // One element: the agent writes the commands, one per line, into a script file it runs
          // with sh, so the whole script runs as one, as written (`set -e` and functions hold).
          // Run Command resolves `{{ssm:name}}` in parameters, so a script must not contain it.
          Parameters: {
            commands: [script],
            executionTimeout: [String(clamp(seconds, EXECUTION_TIMEOUT_SECONDS))],
          },
          // Delivery: a command not yet picked up by then never runs (DeliveryTimedOut).
          TimeoutSeconds: clamp(seconds, DELIVERY_TIMEOUT_SECONDS),
          Comment: options.runId.slice(0, COMMENT_MAX_CHARS),
        }),
      );
    } catch (error) {
      throw sdkFault(error, "ssm:SendCommand", `sending a command to ${host.id}`);
    }
    const commandId = output.Command?.CommandId;
    if (commandId === undefined)
      throw new AccessFault(
        "ssm:error",
        `SSM answered SendCommand for ${host.id} without a command id`,
      );
    return commandId;
  }

  private async poll(host: HostTarget, commandId: string): Promise<Poll> {
    let invocation: GetCommandInvocationCommandOutput;
    try {
      invocation = await this.client.send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: host.id }),
      );
    } catch (error) {
      const { name } = factsOf(error);
      // Right after SendCommand, SSM may not know the invocation yet: eventual consistency.
      if (name === "InvocationDoesNotExist") return { kind: "pending" };
      // The command is already running: keep asking (with backoff) rather than lose its result.
      if (AWS_THROTTLED.has(name)) return { kind: "pending", throttledBy: error };
      // We stop asking, but the command may still run: cancel it rather than leave it behind.
      await this.cancel(host, commandId);
      return {
        kind: "fault",
        fault: sdkFault(
          error,
          "ssm:GetCommandInvocation",
          `polling command ${commandId} on ${host.id}`,
        ),
      };
    }
    return invocationOutcome(host, commandId, invocation);
  }

  /** Best effort: the fault being thrown matters more than whether the cancel went through. */
  private async cancel(host: HostTarget, commandId: string): Promise<void> {
    try {
      await this.client.send(
        new CancelCommandCommand({ CommandId: commandId, InstanceIds: [host.id] }),
      );
    } catch {
      // Already terminal, denied, or throttled: SSM's own executionTimeout still ends the run.
    }
  }
}

/**
 * A terminal invocation as a result or a fault. StatusDetails is read first: it tells the causes
 * Status lumps together (Status TimedOut may be DeliveryTimedOut or ExecutionTimedOut; Status
 * Failed may be Undeliverable or Terminated). The docs spell details with spaces ("Delivery Timed
 * Out"), the API without, so spaces are ignored.
 */
function invocationOutcome(
  host: HostTarget,
  commandId: string,
  invocation: GetCommandInvocationCommandOutput,
): Poll {
  const status = invocation.Status;
  const details = (invocation.StatusDetails ?? "").replace(/\s+/g, "");
  const where = `SSM command ${commandId} on ${host.id}`;
  const fault = (code: string, what: string): Poll => ({
    kind: "fault",
    fault: new AccessFault(code, `${where} ${what} (${status ?? "?"}/${details || "?"})`),
  });
  switch (details) {
    case "DeliveryTimedOut":
    case "ExecutionTimedOut":
      return fault("ssm:timeout", "timed out in SSM");
    case "Undeliverable":
    case "InvalidInstanceId":
      return fault(
        "ssm:not-registered",
        "could not be delivered: its SSM agent is not registered or not online yet",
      );
    case "Terminated":
      return fault("ssm:terminated", "was terminated by SSM");
  }
  if (status === undefined || PENDING.has(status)) return { kind: "pending" };
  const exitCode = invocation.ResponseCode;
  const output = {
    stdout: invocation.StandardOutputContent ?? "",
    stderr: invocation.StandardErrorContent ?? "",
    durationMs: 0,
  };
  switch (status) {
    case "Success":
      return { kind: "done", result: { exitCode: exitCode ?? 0, ...output } };
    case "Failed":
      // -1 (or none): the script never ran, so there is no exit code to report.
      if (exitCode === undefined || exitCode < 0)
        return fault("ssm:failed", "failed before the script ran");
      return { kind: "done", result: { exitCode, ...output } };
    case "TimedOut":
      return fault("ssm:timeout", "timed out in SSM");
    case "Cancelled":
    case "Cancelling":
      return fault("ssm:cancelled", "was cancelled");
    default:
      return fault("ssm:error", "reached a status this channel does not know");
  }
}

/** An SSM API error as the port's fault; `action` is the IAM action named when denied. */
function sdkFault(error: unknown, action: string, doing: string): AccessFault {
  const { name, message, fault } = factsOf(error);
  const why = `${name}: ${message}`.slice(0, WHY_MAX_CHARS);
  const options = { cause: error };
  if (name === "InvalidInstanceId")
    // SSM's answer for an instance without an online, registered agent (still booting, or no
    // instance profile with AmazonSSMManagedInstanceCore).
    return new AccessFault(
      "ssm:not-registered",
      `SSM refused ${doing}: the host is not a managed node online yet (${why})`,
      options,
    );
  if (AWS_DENIED.has(name))
    return new AccessFault(
      "channel:ssm-denied",
      `${action} is not allowed for this role (${doing}): add it to the policy (see the README's IAM section)`,
      options,
    );
  if (AWS_THROTTLED.has(name))
    return new AccessFault("throttled", `SSM throttled ${action} ${doing} (${why})`, options);
  // A 5xx after the SDK's retries, or no answer at all: SSM's fault, not the host's.
  if (fault !== "client")
    return new AccessFault(
      "channel:ssm-unavailable",
      `SSM ${action} failed ${doing} (${why})`,
      options,
    );
  return new AccessFault("ssm:error", `SSM ${action} refused ${doing} (${why})`, options);
}

function clamp(value: number, range: { min: number; max: number }): number {
  return Math.min(range.max, Math.max(range.min, value));
}
