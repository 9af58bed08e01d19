import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HostChannel, HostTarget } from "../../shared/bootstrap/host-channel.ts";
import {
  CHECK_FAILED,
  parsePlaypenReport,
  PlaypenCheck,
  type PlaypenResult,
} from "../../shared/bootstrap/playpen-check.ts";
import { playpenScript, shellQuote, type Playpen } from "../../shared/bootstrap/playpen-script.ts";
import { canUnshare, inNamespace, NamespaceChannel } from "../support/mount-namespace.ts";
import { missing } from "../support/services.ts";

// The playpen script for real: `sh` (dash here) inside private mount namespaces (`unshare -m`),
// each case mounting what it needs (tmpfs, bind mounts, read-only remounts) before the script
// runs, so nothing leaks into this machine's mounts. Needs root and unshare; a test user stands
// for `runAs` where the probe must switch users.

const skip = !canUnshare() && missing("unshare -m as root", "run the tests as root on Linux");

const USER = `vorpp${process.pid}`;
let base = "";
/** The file system type /tmp's bind mounts show (ext4, overlay, ...). */
let tmpType = "";
let n = 0;

beforeAll(() => {
  if (skip) return;
  base = mkdtempSync(join(tmpdir(), "vor-playpen-"));
  chmodSync(base, 0o755); // the test user must reach the playpens
  tmpType = execFileSync("findmnt", ["-no", "FSTYPE", "-T", base], { encoding: "utf8" }).trim();
  execFileSync("useradd", ["-M", "-s", "/bin/sh", USER]);
});

afterAll(() => {
  if (skip) return;
  spawnSync("userdel", [USER]);
  rmSync(base, { recursive: true, force: true });
});

/** A fresh directory under the test's base. */
function dir(name = "pp"): string {
  n += 1;
  const path = join(base, `${n}-${name}`);
  mkdirSync(path, { recursive: true });
  return path;
}

const playpen = (path: string, extra: Partial<Playpen> = {}): Playpen => ({
  path,
  fsTypes: ["tmpfs"],
  runAs: "root",
  marker: { file: ".vor-playpen", content: "vor-test-1" },
  ...extra,
});

/** Shell lines that put the marker in a playpen (as the midtier's side would). */
const marker = (path: string, content = "vor-test-1", file = ".vor-playpen") =>
  `printf '%s\\n' ${shellQuote(content)} > ${shellQuote(join(path, file))}`;
const tmpfs = (path: string, source = "none", options = "mode=1777") =>
  `mount -t tmpfs -o ${options} ${shellQuote(source)} ${shellQuote(path)}`;

async function check(
  setup: string,
  playpens: Playpen[],
  operationTimeoutS = 10,
  shell?: string,
): Promise<PlaypenResult[]> {
  return (await report(setup, playpens, operationTimeoutS, shell)).playpens;
}

async function report(setup: string, playpens: Playpen[], operationTimeoutS = 10, shell?: string) {
  const script = playpenScript(playpens, { operationTimeoutS, probeToken: "t0ken" });
  const answer = await inNamespace(setup, script, shell);
  const parsed = parsePlaypenReport(playpens, answer);
  if (!parsed.ok) throw new Error(`${parsed.why}\n${answer.stdout}\n${answer.stderr}`);
  expect(answer.exitCode).toBe(parsed.playpens.every((p) => p.ok) ? 0 : 1);
  return parsed;
}

/**
 * A PATH holding only the tools a minimal image has, less `without`: links into this machine's
 * own, so the script's fallbacks (setpriv, su, no timeout) run for real.
 */
function minimalPath(without: readonly string[]): string {
  const bin = dir("bin");
  const tools = ["sh", "awk", "sed", "tr", "id", "uname", "cat", "rm", "timeout"];
  for (const tool of [...tools, "runuser", "setpriv", "su"].filter((t) => !without.includes(t))) {
    const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    if (found === "") throw new Error(`${tool} is not on this machine`);
    symlinkSync(found, join(bin, tool));
  }
  return bin;
}

async function one(setup: string, p: Playpen, operationTimeoutS = 10): Promise<PlaypenResult> {
  const [result] = await check(setup, [p], operationTimeoutS);
  if (result === undefined) throw new Error("no result");
  return result;
}

describe.skipIf(skip)("playpen check script (sh in private mount namespaces)", () => {
  it("passes a tmpfs playpen with its marker, as the current user", async () => {
    const pp = dir();
    const result = await one(`${tmpfs(pp, "vor-share")}\n${marker(pp)}`, playpen(pp));
    expect(result).toEqual({
      path: pp,
      ok: true,
      code: `playpen:${pp}:ok`,
      detail: "",
      fsType: "tmpfs",
      source: "vor-share",
    });
  });

  it("passes a bind mount, switching to runAs for the probe, and leaves no probe file", async () => {
    const store = dir("store");
    chmodSync(store, 0o1777);
    const pp = dir();
    const result = await one(
      `mount --bind ${shellQuote(store)} ${shellQuote(pp)}\n${marker(pp)}`,
      playpen(pp, { fsTypes: ["nfs4", tmpType], runAs: USER }),
    );
    expect(result.ok).toBe(true);
    expect(result.fsType).toBe(tmpType);
    // The bind shares the store's files outside the namespace: only the marker is left.
    expect(readdirSync(store)).toEqual([".vor-playpen"]);
  });

  it("fails a plain directory (nothing mounted) as not-mounted", async () => {
    const pp = dir();
    const result = await one(marker(pp), playpen(pp));
    expect(result).toMatchObject({ ok: false, reason: "not-mounted" });
    expect(result.code).toBe(`playpen:${pp}:not-mounted`);
    expect(result.detail).toContain(pp);
  });

  it("fails a path that does not exist as missing, and a file as missing", async () => {
    const gone = join(base, "never-created");
    const file = join(dir(), "a-file");
    const results = await check(`: > ${shellQuote(file)}`, [playpen(gone), playpen(file)]);
    expect(results.map((r) => r.code)).toEqual([
      `playpen:${gone}:missing`,
      `playpen:${file}:missing`,
    ]);
    expect(results[1]?.detail).toBe(`${file} is not a directory`);
  });

  it("fails a file system type that is not allowed, naming the type found", async () => {
    const pp = dir();
    const result = await one(
      `${tmpfs(pp)}\n${marker(pp)}`,
      playpen(pp, { fsTypes: ["nfs4", "efs", "lustre"] }),
    );
    expect(result).toMatchObject({ ok: false, reason: "fs-type", fsType: "tmpfs" });
    expect(result.detail).toBe("file system type tmpfs is not one of: nfs4 efs lustre");
  });

  it("checks the source: the midtier's passes, another fails, spaces survive the escapes", async () => {
    const right = dir("right");
    const wrong = dir("wrong");
    const spaced = dir("spaced");
    const results = await check(
      [
        tmpfs(right, "fs-0123.efs:/"),
        marker(right),
        tmpfs(wrong, "fs-9999.efs:/"),
        marker(wrong),
        tmpfs(spaced, "share with spaces"),
        marker(spaced),
      ].join("\n"),
      [
        playpen(right, { source: "fs-0123.efs:/" }),
        playpen(wrong, { source: "fs-0123.efs:/" }),
        playpen(spaced, { source: "share with spaces" }),
      ],
    );
    expect(results.map((r) => r.reason ?? "ok")).toEqual(["ok", "source", "ok"]);
    expect(results[1]).toMatchObject({ source: "fs-9999.efs:/" });
    expect(results[1]?.detail).toBe("mounted from fs-9999.efs:/, expected fs-0123.efs:/");
    expect(results[2]?.source).toBe("share with spaces");
  });

  it("fails a read-only remount, and a read-only bind, as read-only", async () => {
    const remounted = dir("ro");
    const store = dir("store");
    const bound = dir("ro-bind");
    const results = await check(
      [
        tmpfs(remounted),
        marker(remounted),
        `mount -o remount,ro ${shellQuote(remounted)}`,
        marker(store),
        `mount --bind ${shellQuote(store)} ${shellQuote(bound)}`,
        `mount -o remount,bind,ro ${shellQuote(bound)}`,
      ].join("\n"),
      [playpen(remounted), playpen(bound, { fsTypes: [tmpType] })],
    );
    expect(results.map((r) => r.reason)).toEqual(["read-only", "read-only"]);
    expect(results[0]?.detail).toMatch(/^mounted read-only \(ro[,)]/);
  });

  it("fails the marker when its content is another file system's, or when it is missing", async () => {
    const other = dir("other");
    const none = dir("none");
    const results = await check(
      [tmpfs(other), marker(other, "vor-prod-9"), tmpfs(none)].join("\n"),
      [playpen(other), playpen(none)],
    );
    expect(results.map((r) => r.code)).toEqual([
      `playpen:${other}:marker`,
      `playpen:${none}:marker`,
    ]);
    expect(results[0]?.detail).toBe(
      "marker .vor-playpen does not hold the expected content: another file system",
    );
    expect(results[1]?.detail).toBe("marker .vor-playpen is missing or unreadable by root");
    // The detail never carries what the marker holds.
    expect(results[0]?.detail).not.toContain("vor-prod-9");
  });

  it("fails the write probe when runAs cannot write, and runAs when the user does not exist", async () => {
    const locked = dir("locked");
    const nobody = dir("no-user");
    const results = await check(
      [tmpfs(locked, "none", "mode=0755"), marker(locked), tmpfs(nobody), marker(nobody)].join(
        "\n",
      ),
      [playpen(locked, { runAs: USER }), playpen(nobody, { runAs: "vor-no-such-user" })],
    );
    expect(results.map((r) => r.reason)).toEqual(["write", "run-as"]);
    expect(results[0]?.detail).toBe(`${USER} cannot create a file in ${locked}`);
    expect(results[1]?.detail).toBe("user vor-no-such-user does not exist on the host");
  });

  it("checks a playpen whose path holds a space (mountinfo's \\040)", async () => {
    const pp = dir("with space");
    const result = await one(`${tmpfs(pp, "src x")}\n${marker(pp)}`, playpen(pp, { runAs: USER }));
    expect(result).toMatchObject({ ok: true, path: pp, source: "src x" });
  });

  it("takes the top mount when two are stacked on the path", async () => {
    const pp = dir();
    const result = await one(
      `${tmpfs(pp, "lower")}\n${marker(pp)}\n${tmpfs(pp, "upper")}\n${marker(pp, "upper-1")}`,
      playpen(pp, { source: "upper", marker: { file: ".vor-playpen", content: "upper-1" } }),
    );
    expect(result).toMatchObject({ ok: true, source: "upper" });
  });

  it("bounds an operation that hangs (a marker that never answers) as timeout", async () => {
    const pp = dir();
    // A FIFO with no writer blocks its reader the way a dead NFS server does.
    const result = await one(
      `${tmpfs(pp)}\nmkfifo ${shellQuote(join(pp, ".vor-playpen"))}`,
      playpen(pp),
      1,
    );
    expect(result).toMatchObject({ ok: false, reason: "timeout" });
    expect(result.detail).toBe(
      "the probe as root got no answer within 1 seconds: the file system hangs",
    );
  });

  it("switches to runAs with setpriv where runuser is missing, and with su where both are", async () => {
    for (const without of [["runuser"], ["runuser", "setpriv"]]) {
      const pp = dir();
      const bin = minimalPath(without);
      const [result] = await check(
        `${tmpfs(pp)}\n${marker(pp)}`,
        [playpen(pp, { runAs: USER })],
        10,
        `env PATH=${shellQuote(bin)} sh -s`,
      );
      expect(result).toMatchObject({ ok: true, path: pp, detail: "" });
      // As runAs for real: a playpen only root may write fails the probe.
      const locked = dir("locked");
      const [denied] = await check(
        `${tmpfs(locked, "none", "mode=0755")}\n${marker(locked)}`,
        [playpen(locked, { runAs: USER })],
        10,
        `env PATH=${shellQuote(bin)} sh -s`,
      );
      expect(denied?.reason).toBe("write");
    }
  });

  it("runs unbounded, and says so, where timeout(1) is missing", async () => {
    const pp = dir();
    const parsed = await report(
      `${tmpfs(pp)}\n${marker(pp)}`,
      [playpen(pp)],
      10,
      `env PATH=${shellQuote(minimalPath(["timeout"]))} sh -s`,
    );
    expect(parsed.bounded).toBe(false);
    expect(parsed.playpens[0]?.ok).toBe(true);
  });

  it("gives no report, and says why, on a host without awk", async () => {
    const pp = dir();
    const playpens = [playpen(pp)];
    const answer = await inNamespace(
      `${tmpfs(pp)}\n${marker(pp)}`,
      playpenScript(playpens, { operationTimeoutS: 5, probeToken: "t0ken" }),
      `env PATH=${shellQuote(minimalPath(["awk"]))} sh -s`,
    );
    expect(parsePlaypenReport(playpens, answer)).toEqual({
      ok: false,
      why: "the playpen check exited 3 without a report: vor-power playpen check: awk is missing on this host",
    });
  });

  it("as a bootstrap user that is not root: probes as itself, and names a runAs it cannot become", async () => {
    const mine = dir("mine");
    const other = dir("other");
    const results = await check(
      [tmpfs(mine), marker(mine), tmpfs(other), marker(other)].join("\n"),
      [playpen(mine, { runAs: USER }), playpen(other, { runAs: "root" })],
      10,
      `runuser -u ${USER} -- env PATH=${shellQuote(minimalPath(["runuser", "setpriv", "su"]))} sh -s`,
    );
    expect(results.map((r) => r.reason ?? "ok")).toEqual(["ok", "run-as"]);
    expect(results[1]?.detail).toBe("cannot run as root: not root and no sudo");
  });

  it("never runs config values as shell: quotes, $(), ; and backticks stay text", async () => {
    const pp = dir("it's;$(touch pwned)`touch pwned2`");
    const content = "$(touch pwned3) 'x' \"y\" \\n";
    const result = await one(
      `${tmpfs(pp)}\n${marker(pp, content)}`,
      playpen(pp, { marker: { file: ".m$(touch pwned4)", content } }),
    );
    expect(result.reason).toBe("marker"); // the marker lives under a literal odd name, not .vor-playpen
    const second = await one(
      `${tmpfs(pp)}\n${marker(pp, content, ".m$(touch pwned4)")}`,
      playpen(pp, { marker: { file: ".m$(touch pwned4)", content } }),
    );
    expect(second).toMatchObject({ ok: true, path: pp });
    for (const name of ["pwned", "pwned2", "pwned3", "pwned4"])
      expect(existsSync(join(base, name)) || existsSync(name)).toBe(false);
  });
});

const HOST: HostTarget = { id: "i-1", pool: "compute", tags: {} };
const OPTIONS = {
  timeoutMs: 60_000,
  runId: "vor-power/i-1/x",
  reference: false,
  at: "2026-03-04T10:00:00.000Z",
};

describe.skipIf(skip)("PlaypenCheck through a channel", () => {
  it("answers one passed result per playpen when all pass", async () => {
    const a = dir("a");
    const b = dir("b");
    const check = new PlaypenCheck({ playpens: [playpen(a), playpen(b, { runAs: USER })] });
    const results = await check.run(
      HOST,
      new NamespaceChannel([tmpfs(a), marker(a), tmpfs(b), marker(b)].join("\n")),
      OPTIONS,
    );
    expect(results).toEqual([
      {
        at: OPTIONS.at,
        reference: false,
        step: "playpen",
        outcome: "passed",
        code: `playpen:${a}:ok`,
        playpen: a,
      },
      {
        at: OPTIONS.at,
        reference: false,
        step: "playpen",
        outcome: "passed",
        code: `playpen:${b}:ok`,
        playpen: b,
      },
    ]);
  });

  it("puts the first failing playpen last, as the verdict, and logs every failure's detail", async () => {
    const a = dir("a");
    const b = dir("b");
    const c = dir("c");
    const lines: string[] = [];
    const check = new PlaypenCheck({
      playpens: [playpen(a), playpen(b), playpen(c)],
      log: (line) => lines.push(line),
    });
    const results = await check.run(
      HOST,
      new NamespaceChannel([marker(a), tmpfs(b), marker(b), tmpfs(c), marker(c, "x")].join("\n")),
      { ...OPTIONS, reference: true },
    );
    expect(results.map((r) => [r.outcome, r.code, r.reference])).toEqual([
      ["passed", `playpen:${b}:ok`, true],
      ["failed", `playpen:${c}:marker`, true],
      ["failed", `playpen:${a}:not-mounted`, true],
    ]);
    expect(lines).toEqual([
      `playpen check on i-1: playpen:${a}:not-mounted: ${a} is a plain directory, not a mount point`,
      `playpen check on i-1: playpen:${c}:marker: marker .vor-playpen does not hold the expected content: another file system`,
    ]);
  });

  it("records check-failed when the host's shell gives no report", async () => {
    const check = new PlaypenCheck({ playpens: [playpen(dir())] });
    const broken: HostChannel = {
      run: () => inNamespace("", "echo 'sh: 1: awk: not found' >&2; exit 127"),
    };
    const results = await check.run(HOST, broken, OPTIONS);
    expect(results).toEqual([
      { at: OPTIONS.at, reference: false, step: "playpen", outcome: "failed", code: CHECK_FAILED },
    ]);
  });
});
