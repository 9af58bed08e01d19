import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChannelBootstrap } from "../../../shared/bootstrap/channel-bootstrap.ts";
import type {
  CommandResult,
  HostChannel,
  HostTarget,
  RunOptions,
} from "../../../shared/bootstrap/host-channel.ts";
import {
  CHECK_FAILED,
  mountinfoUnescape,
  operationTimeoutS,
  parsePlaypenReport,
  PlaypenCheck,
  playpenChecks,
} from "../../../shared/bootstrap/playpen-check.ts";
import {
  mountinfoEscape,
  playpenScript,
  shellQuote,
  type Playpen,
} from "../../../shared/bootstrap/playpen-script.ts";
import type { HostSnapshot } from "../../../shared/plan/snapshot.ts";
import { MemoryStateStore } from "../../../shared/state/memory-state-store.ts";
import { plannerConfig } from "../../support/snapshot-builder.ts";

// The playpen check's pure parts (quoting, escapes, the report's parsing, the time budget) and
// the check inside the bootstrap step with a scripted channel: what reaches the state store.
// The script itself runs for real in test/integration/playpen-check.test.ts.

const DATA: Playpen = {
  path: "/data/playpen",
  fsTypes: ["nfs4"],
  source: "fs-0123.efs.eu-west-2.amazonaws.com:/",
  runAs: "vorstream",
  marker: { file: ".vor-playpen", content: "vor-prod-1" },
};
const SCRATCH: Playpen = { ...DATA, path: "/scratch", source: undefined };

const answer = (stdout: string, exitCode = 0): CommandResult => ({
  exitCode,
  stdout,
  stderr: "",
  durationMs: 5,
});

const report = (...entries: object[]) =>
  JSON.stringify({
    playpens: entries.map((e, index) => ({
      index,
      ok: true,
      code: "ok",
      detail: "",
      fsType: "nfs4",
      source: "fs-0123.efs.eu-west-2.amazonaws.com:/",
      ...e,
    })),
    bounded: true,
  });

describe("shell quoting and mount table escapes", () => {
  it("shellQuote: sh reads back any string exactly", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }).filter((s) => !s.includes("\0")),
        (value) => {
          const out = spawnSync("sh", ["-c", `printf '%s' ${shellQuote(value)}`], {
            encoding: "utf8",
          });
          expect(out.stdout).toBe(value);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("shellQuote refuses a NUL, which no shell word can hold", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });

  it("mountinfoEscape writes space, tab, newline and backslash as the kernel does", () => {
    expect(mountinfoEscape("/data/my play\tpen\n\\x")).toBe("/data/my\\040play\\011pen\\012\\134x");
    fc.assert(
      fc.property(fc.string(), (value) => {
        expect(mountinfoUnescape(mountinfoEscape(value))).toBe(value);
      }),
    );
  });

  it("the script refuses a probe token that is not letters and digits", () => {
    expect(() => playpenScript([DATA], { operationTimeoutS: 5, probeToken: "a/../b" })).toThrow(
      /letters and digits/,
    );
  });

  it("the script holds config values only as quoted words", () => {
    const script = playpenScript([{ ...DATA, path: "/p'$(x)" }], {
      operationTimeoutS: 5,
      probeToken: "abc",
    });
    expect(script).toContain(`vp_check '0' '/p'\\''$(x)' '/p'\\''$(x)'`);
    expect(script).toContain("VP_T=5\nVP_TOKEN=abc\n");
  });
});

describe("parsePlaypenReport", () => {
  it("reads one result per playpen, in config order, with the mount's facts", () => {
    const parsed = parsePlaypenReport(
      [DATA, SCRATCH],
      answer(
        `noise from a login banner\n${report(
          {},
          {
            ok: false,
            code: "source",
            detail: "mounted from nas\\040two:/x, expected ...",
            source: "nas\\040two:/x",
          },
        )}\n`,
        1,
      ),
    );
    expect(parsed).toEqual({
      ok: true,
      bounded: true,
      playpens: [
        {
          path: "/data/playpen",
          ok: true,
          code: "playpen:/data/playpen:ok",
          detail: "",
          fsType: "nfs4",
          source: "fs-0123.efs.eu-west-2.amazonaws.com:/",
        },
        {
          path: "/scratch",
          ok: false,
          code: "playpen:/scratch:source",
          reason: "source",
          detail: "mounted from nas\\040two:/x, expected ...",
          fsType: "nfs4",
          source: "nas two:/x",
        },
      ],
    });
  });

  it("refuses an answer without a report, with a bad report, or missing a playpen", () => {
    expect(
      parsePlaypenReport([DATA], { ...answer("", 127), stderr: "sh: awk: not found\n" }),
    ).toEqual({
      ok: false,
      why: "the playpen check exited 127 without a report: sh: awk: not found",
    });
    expect(parsePlaypenReport([DATA], answer('{"playpens": 3}'))).toEqual({
      ok: false,
      why: "the playpen check's report is not the expected JSON",
    });
    expect(parsePlaypenReport([DATA], answer(report({ code: "exploded" })))).toMatchObject({
      ok: false,
    });
    expect(parsePlaypenReport([DATA, SCRATCH], answer(report({})))).toEqual({
      ok: false,
      why: "the playpen check reported /scratch 0 times",
    });
  });
});

describe("operationTimeoutS", () => {
  it("keeps three bounded operations per playpen, with kill grace, inside the channel's timeout", () => {
    expect(operationTimeoutS(60_000, 1)).toBe(16);
    expect(operationTimeoutS(60_000, 3)).toBe(4);
    expect(operationTimeoutS(5_000, 4)).toBe(1);
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 600_000 }),
        fc.integer({ min: 1, max: 8 }),
        (ms, n) => {
          // Above the 1 s floor the bound holds; at the floor the channel's timeout bounds it.
          const seconds = operationTimeoutS(ms, n);
          if (seconds > 1) expect(3 * n * (seconds + 2)).toBeLessThanOrEqual(ms / 1000);
          expect(seconds).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });
});

/** A channel answering `id -un` and then each script with the next answer. */
class ScriptedChannel implements HostChannel {
  readonly calls: { script: string; options: RunOptions }[] = [];
  readonly #answers: CommandResult[];
  constructor(...answers: CommandResult[]) {
    this.#answers = answers;
  }
  run(_host: HostTarget, script: string, options: RunOptions): Promise<CommandResult> {
    this.calls.push({ script, options });
    const next = this.#answers.shift();
    return next ? Promise.resolve(next) : Promise.reject(new Error("no answer scripted"));
  }
}

const NOW = new Date("2026-03-04T10:00:00Z");
const AT = NOW.toISOString();
const HOST: HostSnapshot = {
  id: "i-1",
  cloudState: "running",
  address: "10.0.0.5",
  tags: { "vor:pool": "compute" },
};

async function bootstrapWith(channel: HostChannel, playpens: Playpen[]) {
  const store = new MemoryStateStore();
  const lines: string[] = [];
  const bootstrap = new ChannelBootstrap({
    config: plannerConfig(),
    store,
    compute: { listHosts: () => Promise.resolve([HOST]) },
    channelFor: () => channel,
    checks: playpenChecks(playpens, (line) => lines.push(line)),
    owner: "test",
    log: (line) => lines.push(line),
  });
  await bootstrap.begin("compute", "i-1", { reference: false }, NOW);
  return { results: (await store.readPool("compute")).bootstrapResults["i-1"] ?? [], lines };
}

describe("the playpen check in the bootstrap step", () => {
  it("no playpens: no check, access alone makes the verdict", () => {
    expect(playpenChecks([], () => undefined)).toEqual([]);
  });

  it("runs the script after access and records each playpen, then the pass", async () => {
    const channel = new ScriptedChannel(answer("vor-bootstrap\n"), answer(report({}, {})));
    const { results } = await bootstrapWith(channel, [DATA, SCRATCH]);
    expect(channel.calls[1]?.script).toMatch(/^#!\/bin\/sh\n/);
    expect(channel.calls[1]?.script).toContain("vp_check '1' '/scratch' '/scratch' ''");
    expect(channel.calls[1]?.options).toEqual({ timeoutMs: 60_000, runId: `vor-power/i-1/${AT}` });
    expect(results).toEqual([
      {
        at: AT,
        reference: false,
        outcome: "passed",
        step: "playpen",
        code: "playpen:/data/playpen:ok",
        playpen: "/data/playpen",
      },
      {
        at: AT,
        reference: false,
        outcome: "passed",
        step: "playpen",
        code: "playpen:/scratch:ok",
        playpen: "/scratch",
      },
      { at: AT, reference: false, outcome: "passed", step: "all", code: "ok" },
    ]);
  });

  it("records the failing playpen last, with its path for the shared-storage comparison", async () => {
    const channel = new ScriptedChannel(
      answer("vor-bootstrap\n"),
      answer(report({ ok: false, code: "marker", detail: "marker .vor-playpen ..." }, {}), 1),
    );
    const { results, lines } = await bootstrapWith(channel, [DATA, SCRATCH]);
    expect(results.map((r) => [r.outcome, r.code, r.playpen])).toEqual([
      ["passed", "playpen:/scratch:ok", "/scratch"],
      ["failed", "playpen:/data/playpen:marker", "/data/playpen"],
    ]);
    expect(lines).toContain(
      "playpen check on i-1: playpen:/data/playpen:marker: marker .vor-playpen ...",
    );
  });

  it("records check-failed when the host answers no report", async () => {
    const channel = new ScriptedChannel(answer("vor-bootstrap\n"), answer("", 2));
    const { results } = await bootstrapWith(channel, [DATA]);
    expect(results.map((r) => [r.outcome, r.code])).toEqual([["failed", CHECK_FAILED]]);
  });

  it("passes with a no-playpen check when built directly without playpens", async () => {
    const check = new PlaypenCheck({ playpens: [] });
    const results = await check.run(
      { id: "i-1", pool: "compute", tags: {} },
      new ScriptedChannel(),
      { timeoutMs: 1_000, runId: "r", reference: true, at: AT },
    );
    expect(results).toEqual([
      { at: AT, reference: true, step: "playpen", outcome: "passed", code: "playpen:none" },
    ]);
  });
});
