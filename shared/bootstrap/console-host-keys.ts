import { GetConsoleOutputCommand, type GetConsoleOutputCommandOutput } from "@aws-sdk/client-ec2";
import { AccessFault } from "./host-channel.ts";
import { AWS_DENIED, AWS_THROTTLED, factsOf } from "../cloud/aws-errors.ts";

// A host's SSH public keys as cloud-init prints them on the instance console at first boot, to
// pin them before the first SSH connection (trust on first use would trust whoever answers).
// cloud-init's cc_keys_to_console writes, among kernel and boot noise:
//
//   -----BEGIN SSH HOST KEY FINGERPRINTS-----      (hashes only: never taken as keys)
//   256 SHA256:3x… root@ip-10-0-0-5 (ECDSA)
//   -----END SSH HOST KEY FINGERPRINTS-----
//   -----BEGIN SSH HOST KEY KEYS-----
//   ecdsa-sha2-nistp256 AAAAE2VjZHNh… root@ip-10-0-0-5
//   ssh-ed25519 AAAAC3NzaC1lZDI1NTE5… root@ip-10-0-0-5
//   -----END SSH HOST KEY KEYS-----

/** The EC2 call this module makes; an EC2Client fits, and so does a test's fake. */
export interface ConsoleOutputClient {
  send(command: GetConsoleOutputCommand): Promise<GetConsoleOutputCommandOutput>;
}

const BEGIN = "-----BEGIN SSH HOST KEY KEYS-----";
const END = "-----END SSH HOST KEY KEYS-----";

/**
 * Host key types an OpenSSH client negotiates, with the number of length-prefixed fields in
 * their blob (type, then e and n; curve and point; the 32-byte key). ssh-dss is left out:
 * OpenSSH no longer accepts DSA host keys, so pinning one would pin nothing usable.
 */
const KEY_FIELDS: ReadonlyMap<string, number> = new Map([
  ["ssh-ed25519", 2],
  ["ssh-rsa", 3],
  ["ecdsa-sha2-nistp256", 3],
  ["ecdsa-sha2-nistp384", 3],
  ["ecdsa-sha2-nistp521", 3],
]);
/** A known type, then base64, anywhere in the line (after a prefix, before a comment). */
const KEY_LINE = new RegExp(
  `(?:^|\\s)(${[...KEY_FIELDS.keys()].join("|")}) ([A-Za-z0-9+/]+={0,2})(?=\\s|$)`,
);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const WHY_MAX_CHARS = 200;

/**
 * The host keys of the last complete `SSH HOST KEY KEYS` block in `text`, as `type base64`
 * lines (comment dropped, duplicates once), in the order printed. Only the last block counts:
 * the console keeps earlier boots, and a host re-keyed since then would not match an older one.
 * Lines inside the block that are not a valid key (interleaved kernel messages, a line cut by
 * the console buffer) are skipped. No complete block yet: an empty list.
 */
export function parseConsoleHostKeys(text: string): string[] {
  const lines = text.split(/\r?\n|\r/);
  let block: string[] | undefined;
  let last: string[] = [];
  for (const line of lines) {
    // Some images prefix console lines (`ec2: `, a timestamp): match the markers anywhere.
    if (line.includes(BEGIN)) block = [];
    else if (line.includes(END)) {
      if (block) last = block;
      block = undefined;
    } else if (block) {
      const key = keyOf(line);
      if (key !== undefined && !block.includes(key)) block.push(key);
    }
  }
  return last;
}

/** `type base64` when `line` holds a public key whose blob is well formed for its type. */
function keyOf(line: string): string | undefined {
  const match = KEY_LINE.exec(line);
  if (!match) return undefined;
  const [, type = "", base64 = ""] = match;
  const fields = KEY_FIELDS.get(type);
  if (fields === undefined || !BASE64.test(base64)) return undefined;
  const parts = sshStrings(Buffer.from(base64, "base64"));
  if (parts?.length !== fields || parts[0]?.toString("latin1") !== type) return undefined;
  // ECDSA names its curve twice, and both must agree (ecdsa-sha2-nistp256 → nistp256).
  if (
    type.startsWith("ecdsa-") &&
    parts[1]?.toString("latin1") !== type.slice("ecdsa-sha2-".length)
  )
    return undefined;
  return `${type} ${base64}`;
}

/** The blob as SSH wire strings (uint32 length, then bytes), or undefined unless it splits exactly. */
function sshStrings(blob: Buffer): Buffer[] | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return undefined;
    const length = blob.readUInt32BE(at);
    at += 4;
    if (length === 0 || at + length > blob.length) return undefined;
    parts.push(blob.subarray(at, at + length));
    at += length;
  }
  return parts;
}

/**
 * The pinned host keys of EC2 instance `hostId`, read from its console output. An empty list
 * means cloud-init has not printed them yet (or EC2 has not published the output yet: without
 * Nitro it appears only some minutes after boot), and the caller treats the host as booting.
 * Asks for the latest output first (live, but Nitro only) and, when EC2 refuses that, for the
 * buffered output.
 * @throws AccessFault `throttled`, `channel:console-denied` (the role lacks
 *   ec2:GetConsoleOutput), `channel:console-unavailable` (EC2 5xx or network), `console:error`
 *   (any other refusal, an unknown instance included); cause: the SDK's error
 */
export async function consoleHostKeys(
  client: ConsoleOutputClient,
  hostId: string,
): Promise<string[]> {
  let output: GetConsoleOutputCommandOutput;
  try {
    output = await client.send(new GetConsoleOutputCommand({ InstanceId: hostId, Latest: true }));
  } catch (error) {
    if (!refusesLatestOnly(error)) throw consoleFault(error, hostId);
    try {
      output = await client.send(new GetConsoleOutputCommand({ InstanceId: hostId }));
    } catch (retryError) {
      throw consoleFault(retryError, hostId);
    }
  }
  if (output.Output === undefined || output.Output === "") return [];
  return parseConsoleHostKeys(Buffer.from(output.Output, "base64").toString("utf8"));
}

/**
 * Whether a refusal may be about `Latest` alone. EC2 refuses Latest on Xen instance types with a
 * client error whose code is not pinned down in its docs, so any client refusal other than denied,
 * throttled or an unknown instance is worth one try without it.
 */
function refusesLatestOnly(error: unknown): boolean {
  const { name, fault } = factsOf(error);
  return (
    fault === "client" &&
    !AWS_DENIED.has(name) &&
    !AWS_THROTTLED.has(name) &&
    !name.startsWith("InvalidInstanceID")
  );
}

function consoleFault(error: unknown, hostId: string): AccessFault {
  const { name, message, fault } = factsOf(error);
  const why = `${name}: ${message}`.slice(0, WHY_MAX_CHARS);
  const options = { cause: error };
  if (AWS_DENIED.has(name))
    return new AccessFault(
      "channel:console-denied",
      `ec2:GetConsoleOutput is not allowed for this role (reading the host keys of ${hostId}): add it to the policy (see the README's IAM section)`,
      options,
    );
  if (AWS_THROTTLED.has(name))
    return new AccessFault(
      "throttled",
      `EC2 throttled ec2:GetConsoleOutput for ${hostId} (${why})`,
      options,
    );
  if (fault !== "client")
    return new AccessFault(
      "channel:console-unavailable",
      `EC2 ec2:GetConsoleOutput failed for ${hostId} (${why})`,
      options,
    );
  return new AccessFault(
    "console:error",
    `EC2 refused ec2:GetConsoleOutput for ${hostId} (${why})`,
    options,
  );
}
