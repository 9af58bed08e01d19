import {
  EC2ServiceException,
  GetConsoleOutputCommand,
  type GetConsoleOutputCommandInput,
  type GetConsoleOutputCommandOutput,
} from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import {
  consoleHostKeys,
  parseConsoleHostKeys,
  type ConsoleOutputClient,
} from "../../../shared/bootstrap/console-host-keys.ts";
import { faultOf } from "../../support/access-fault.ts";

// Host keys pinned from console output shaped as an Amazon Linux 2023 serial console prints it
// (CRLF line ends, kernel and syslog noise, cloud-init's fingerprint block before the keys). The
// keys are real public keys made with ssh-keygen for these tests.

const ECDSA_256 =
  "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIOdObqcdcIa5xwkzOQAHb+6E4Lj73DnxmWUKsWoh6I6wHyQbFwuP0t0s8sWxjW2ARmz7pa4lkJ93a6eMcPHHOY=";
const ECDSA_384 =
  "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBF/L2deHWEhphCDTb31OsWuHB+KhOEhT41k0sYa912ohwCAkmyZwEt4j36C5bfMIGEWpSf2kgBU5UGt9Qo79gc3nBHs8eHq1XSKsBCnmcUqN/Z/fLr4/oroAXzdjniNX1A==";
const ECDSA_521 =
  "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAASU+oNne5Ad6qcRp1fgy1euOal2tl/ACvH79A/bJPzpl8pzl7xWh24uMrunwqFwMKgXoc+sZPsRgriFLem42SK6wEiootg4msFqVvgfc5L0dGx76fnLEKqqgS24vwqY9sL+NBOsqXEsdpE992hOcUG7mEni5mjnDr0i5IrLysowftE8Q==";
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDYvAMPnHDx/szTotgE8UeGrkGIESPbIJu+jbXpSlzds";
const RSA =
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDtSPJYaejRISHGYveHeqElOEIMITEnL0mRBYEoPVsUxFKfoNo4dVxc+mqAVEidARRQaxT3Tjqpk3tNgX/qqgba2tQkmcIJfMalF878bDbP72wagWgvGsRwwSB+jvIpHCoh85paHFYrjEwYah9tyQ8Woiumhsw7Gjd0phpu0YAuRuJQYj+ieM9FmUH09cssMxrQaqeCsSF7c9FiSJBXK2+dRG6O8C2g2JDryZ9PlzDiLqLcKr4jCq9ml4zsqm1lQx8gP45hT4upJK5FlofCizNc8w5gt02bLrfp+29mex25Kbe+xrrWJ6L1SQUZRHzsBz2vYa3oyM29K2TlhwLEBQjz";
const COMMENT = "root@ip-10-0-3-17";

const FINGERPRINTS = [
  "<14>Mar  4 09:58:11 cloud-init: #############################################################",
  "<14>Mar  4 09:58:11 cloud-init: -----BEGIN SSH HOST KEY FINGERPRINTS-----",
  `<14>Mar  4 09:58:11 cloud-init: 256 SHA256:n1RaRaWAvH0JVSYpzrwChOcXh2QmoSibgud6Cul3efs ${COMMENT} (ECDSA)`,
  `<14>Mar  4 09:58:11 cloud-init: 256 SHA256:4BM1Y61v2uGFPxFEJ1G7W0VnnNkqfwD6DjikX/84xmM ${COMMENT} (ED25519)`,
  `<14>Mar  4 09:58:11 cloud-init: 2048 SHA256:CFlCWMyYkkF3QqQ73gI1m4/00kDsDFrZNfFAlx1a19c ${COMMENT} (RSA)`,
  "<14>Mar  4 09:58:11 cloud-init: -----END SSH HOST KEY FINGERPRINTS-----",
  "<14>Mar  4 09:58:11 cloud-init: #############################################################",
];

/** Console output of one boot whose keys block holds `keyLines` (as printed, comments kept). */
function consoleOf(keyLines: readonly string[]): string {
  return [
    "[    0.000000] Linux version 6.1.119-129.201.amzn2023.x86_64 (mockbuild@ip-10-0-50-71) #1 SMP",
    "[    0.000000] Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz root=UUID=5a3c ro console=ttyS0,115200n8",
    "[    3.120431] cloud-init[1563]: Cloud-init v. 22.2.2 running 'init' at Wed, 04 Mar 2026 09:58:02 +0000. Up 3.10 seconds.",
    "[    3.402116] cloud-init[1563]: ci-info: ++++++++++++++++++++++++Net device info+++++++++++++++++++++++",
    "[    4.880302] cloud-init[1563]: Generating public/private ed25519 key pair.",
    "[    4.880912] cloud-init[1563]: The key fingerprint is:",
    `[    4.881230] cloud-init[1563]: SHA256:4BM1Y61v2uGFPxFEJ1G7W0VnnNkqfwD6DjikX/84xmM ${COMMENT}`,
    "[   11.204511] cloud-init[1742]: Cloud-init v. 22.2.2 running 'modules:final' at Wed, 04 Mar 2026 09:58:11 +0000. Up 11.18 seconds.",
    "ci-info: no authorized SSH keys fingerprints found for user ec2-user.",
    ...FINGERPRINTS,
    "-----BEGIN SSH HOST KEY KEYS-----",
    ...keyLines,
    "-----END SSH HOST KEY KEYS-----",
    "[   11.391877] cloud-init[1742]: Cloud-init v. 22.2.2 finished at Wed, 04 Mar 2026 09:58:11 +0000. Datasource DataSourceEc2.  Up 11.38 seconds",
    "",
    "Amazon Linux 2023.6.20250303",
    "Kernel 6.1.119-129.201.amzn2023.x86_64 on an x86_64 (-)",
    "",
    "ip-10-0-3-17 login: ",
  ].join("\r\n");
}

/** An SSH wire blob of length-prefixed strings, as base64. */
function blob(...fields: readonly string[]): string {
  return Buffer.concat(
    fields.flatMap((field) => {
      const bytes = Buffer.from(field, "latin1");
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return [length, bytes];
    }),
  ).toString("base64");
}

const POINT_256 = "\x04".padEnd(65, "p");

describe("parseConsoleHostKeys", () => {
  it("takes every host key of the keys block, comments dropped, in the order printed", () => {
    const text = consoleOf([ECDSA_256, ED25519, RSA].map((key) => `${key} ${COMMENT}`));

    const keys = parseConsoleHostKeys(text);

    expect(keys).toEqual([ECDSA_256, ED25519, RSA]);
  });

  it("takes each ECDSA curve OpenSSH knows", () => {
    const text = consoleOf([ECDSA_256, ECDSA_384, ECDSA_521].map((key) => `${key} ${COMMENT}`));

    const keys = parseConsoleHostKeys(text);

    expect(keys).toEqual([ECDSA_256, ECDSA_384, ECDSA_521]);
  });

  it("reads output with LF and with lone CR line ends as well", () => {
    const lines = consoleOf([`${ED25519} ${COMMENT}`]).split("\r\n");

    expect(parseConsoleHostKeys(lines.join("\n"))).toEqual([ED25519]);
    expect(parseConsoleHostKeys(lines.join("\r"))).toEqual([ED25519]);
  });

  it("takes no key from the fingerprint block alone", () => {
    const text = [...FINGERPRINTS, "[   11.391877] cloud-init[1742]: Cloud-init v. 22.2.2 finished"]
      .join("\r\n")
      .replace("FINGERPRINTS-----\r\n", `FINGERPRINTS-----\r\n${ED25519} ${COMMENT}\r\n`);

    const keys = parseConsoleHostKeys(text);

    expect(keys).toEqual([]);
  });

  it("answers no key while the keys block is still being printed", () => {
    const text = consoleOf([`${ED25519} ${COMMENT}`]).split("-----END SSH HOST KEY KEYS-----")[0];

    const keys = parseConsoleHostKeys(text ?? "");

    expect(keys).toEqual([]);
  });

  it("answers no key for console output without a keys block", () => {
    expect(
      parseConsoleHostKeys("Linux version 2.6.16-xenU\r\nBIOS-provided physical RAM map:\r\n"),
    ).toEqual([]);
  });

  it("takes the keys of the last complete block when the console holds several boots", () => {
    const firstBoot = consoleOf([`${RSA} ${COMMENT}`]);
    const secondBoot = consoleOf([`${ED25519} ${COMMENT}`, `${ECDSA_384} ${COMMENT}`]);

    const keys = parseConsoleHostKeys(`${firstBoot}\r\n${secondBoot}`);

    expect(keys).toEqual([ED25519, ECDSA_384]);
  });

  it("takes keys after a console prefix and skips kernel lines printed inside the block", () => {
    const text = consoleOf([
      `ec2: ${ED25519} ${COMMENT}`,
      "[   11.301442] random: crng init done",
      `[   11.301502] ${RSA}`,
    ]);

    const keys = parseConsoleHostKeys(text);

    expect(keys).toEqual([ED25519, RSA]);
  });

  it("takes a key printed twice once", () => {
    const text = consoleOf([`${ED25519} ${COMMENT}`, `${ED25519} ${COMMENT}`]);

    expect(parseConsoleHostKeys(text)).toEqual([ED25519]);
  });

  it.each([
    {
      why: "DSA, which OpenSSH no longer accepts",
      line: `ssh-dss ${blob("ssh-dss", "p", "q", "g", "y")}`,
    },
    { why: "an unknown type", line: `ssh-foo ${blob("ssh-foo", "k")}` },
    { why: "a blob of another type", line: `ssh-rsa ${ED25519.split(" ")[1] ?? ""}` },
    { why: "a cut line", line: RSA.slice(0, 120) },
    {
      why: "a blob whose last field claims more bytes than it holds",
      line: `ssh-ed25519 ${blob("ssh-ed25519", "k".repeat(32)).replace("AAAAIGtr", "AAAAQGtr")}`,
    },
    {
      why: "a blob with an extra field",
      line: `ssh-ed25519 ${blob("ssh-ed25519", "k".repeat(32), "x")}`,
    },
    { why: "a blob with an empty field", line: `ssh-ed25519 ${blob("ssh-ed25519", "")}` },
    {
      why: "an ECDSA blob naming another curve",
      line: `ecdsa-sha2-nistp256 ${blob("ecdsa-sha2-nistp256", "nistp384", POINT_256)}`,
    },
    { why: "text that is not base64", line: "ssh-ed25519 AAAA*not-base64*" },
    { why: "base64 with bad padding", line: `ssh-ed25519 ${blob("ssh-ed25519", "k".repeat(32))}=` },
    { why: "the type alone", line: "ssh-ed25519" },
  ])("skips a line holding $why", ({ line }) => {
    const text = consoleOf([line, `${ECDSA_256} ${COMMENT}`]);

    const keys = parseConsoleHostKeys(text);

    expect(keys).toEqual([ECDSA_256]);
  });

  it("takes a well-formed blob built the same way as the skipped ones", () => {
    const key = `ecdsa-sha2-nistp256 ${blob("ecdsa-sha2-nistp256", "nistp256", POINT_256)}`;

    expect(parseConsoleHostKeys(consoleOf([key]))).toEqual([key]);
  });
});

type Answer = Omit<GetConsoleOutputCommandOutput, "$metadata"> | Error;

/** A fake EC2 answering GetConsoleOutput with the next scripted answer. */
class FakeEc2 implements ConsoleOutputClient {
  readonly asked: GetConsoleOutputCommandInput[] = [];
  private readonly answers: readonly Answer[];

  constructor(...answers: readonly Answer[]) {
    this.answers = answers;
  }

  send(command: GetConsoleOutputCommand): Promise<GetConsoleOutputCommandOutput> {
    const next = this.answers[this.asked.length];
    this.asked.push(command.input);
    return new Promise((resolve) => {
      if (next === undefined) throw new Error("FakeEc2: no answer scripted");
      if (next instanceof Error) throw next;
      resolve({ ...next, $metadata: {} });
    });
  }
}

/** What EC2's query protocol makes the SDK throw: its error code as `name`. */
function ec2Error(name: string, fault: "client" | "server" = "client"): EC2ServiceException {
  return new EC2ServiceException({
    name,
    $fault: fault,
    $metadata: { httpStatusCode: fault === "client" ? 400 : 500 },
    message: `${name} (scripted)`,
  });
}

const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

describe("consoleHostKeys", () => {
  it("asks for the latest console output and answers the keys it holds", async () => {
    const ec2 = new FakeEc2({
      InstanceId: "i-0abc",
      Output: base64(consoleOf([`${ED25519} ${COMMENT}`])),
    });

    const keys = await consoleHostKeys(ec2, "i-0abc");

    expect(keys).toEqual([ED25519]);
    expect(ec2.asked).toEqual([{ InstanceId: "i-0abc", Latest: true }]);
  });

  it("asks for the buffered output when EC2 refuses the latest (no Nitro)", async () => {
    const ec2 = new FakeEc2(ec2Error("UnsupportedOperation"), {
      Output: base64(consoleOf([`${RSA} ${COMMENT}`])),
    });

    const keys = await consoleHostKeys(ec2, "i-0abc");

    expect(keys).toEqual([RSA]);
    expect(ec2.asked).toEqual([{ InstanceId: "i-0abc", Latest: true }, { InstanceId: "i-0abc" }]);
  });

  it.each([{ output: undefined }, { output: "" }, { output: base64("Linux version 6.1\r\n") }])(
    "answers no key while the console holds none ($output)",
    async ({ output }) => {
      const ec2 = new FakeEc2(output === undefined ? {} : { Output: output });

      expect(await consoleHostKeys(ec2, "i-0abc")).toEqual([]);
    },
  );

  it.each([
    { name: "UnauthorizedOperation", fault: "client", code: "channel:console-denied" },
    { name: "RequestLimitExceeded", fault: "client", code: "throttled" },
    { name: "InvalidInstanceID.NotFound", fault: "client", code: "console:error" },
    { name: "InternalError", fault: "server", code: "channel:console-unavailable" },
  ] as const)(
    "fails with $code when EC2 answers $name, asking once",
    async ({ name, fault, code }) => {
      const refusal = ec2Error(name, fault);
      const ec2 = new FakeEc2(refusal);

      const error = await faultOf(consoleHostKeys(ec2, "i-0abc"));

      expect(error.code).toBe(code);
      expect(error.cause).toBe(refusal);
      expect(error.message).toContain("i-0abc");
      expect(error.message).toContain("ec2:GetConsoleOutput");
      expect(ec2.asked).toHaveLength(1);
    },
  );

  it("fails with what EC2 answers to the buffered output when the latest was refused", async () => {
    const ec2 = new FakeEc2(ec2Error("UnsupportedOperation"), ec2Error("RequestLimitExceeded"));

    const error = await faultOf(consoleHostKeys(ec2, "i-0abc"));

    expect(error.code).toBe("throttled");
    expect(ec2.asked).toHaveLength(2);
  });

  it("fails with channel:console-unavailable when EC2 cannot be reached", async () => {
    const ec2 = new FakeEc2(new Error("connect ECONNREFUSED"));

    const error = await faultOf(consoleHostKeys(ec2, "i-0abc"));

    expect(error.code).toBe("channel:console-unavailable");
  });
});
