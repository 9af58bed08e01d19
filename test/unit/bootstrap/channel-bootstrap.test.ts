import { describe, expect, it } from "vitest";
import type { TraceEntry } from "../../../shared/bootstrap/bootstrap-trace.ts";
import {
  ACCESS_SCRIPT,
  ChannelBootstrap,
  type HostCheck,
} from "../../../shared/bootstrap/channel-bootstrap.ts";
import {
  AccessFault,
  type CommandResult,
  type HostChannel,
  type HostTarget,
  type RunOptions,
} from "../../../shared/bootstrap/host-channel.ts";
import type { HostSnapshot } from "../../../shared/plan/snapshot.ts";
import { MemoryStateStore } from "../../../shared/state/memory-state-store.ts";
import { plannerConfig } from "../../support/snapshot-builder.ts";

// The bootstrap step over a channel, with an in-memory store and a scripted channel: what it
// records for the planner (one verdict, last), under the host's claim.

const NOW = new Date("2026-03-04T10:00:00Z");
const AT = NOW.toISOString();

const running: HostSnapshot = {
  id: "i-1",
  cloudState: "running",
  address: "10.0.0.5",
  publicAddress: "203.0.113.5",
  tags: { "vor:pool": "compute", "vor:ssh": "127.0.0.1:2222" },
};

/** A channel that answers each run from a script of answers, recording what it was asked. */
class ScriptedChannel implements HostChannel {
  readonly calls: { host: HostTarget; script: string; options: RunOptions }[] = [];
  readonly #answers: (CommandResult | Error)[];

  constructor(...answers: (CommandResult | Error)[]) {
    this.#answers = answers;
  }

  run(host: HostTarget, script: string, options: RunOptions): Promise<CommandResult> {
    this.calls.push({ host, script, options });
    const answer = this.#answers.shift() ?? new Error("no answer scripted");
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }
}

const ok = (stdout = "vor-bootstrap\n"): CommandResult => ({
  exitCode: 0,
  stdout,
  stderr: "",
  durationMs: 12,
});

function step(
  channel: HostChannel,
  options: { hosts?: HostSnapshot[]; checks?: HostCheck[] } = {},
) {
  const store = new MemoryStateStore();
  const lines: string[] = [];
  const bootstrap = new ChannelBootstrap({
    config: plannerConfig(),
    store,
    compute: { listHosts: () => Promise.resolve(options.hosts ?? [running]) },
    channelFor: () => channel,
    checks: options.checks ?? [],
    owner: "test",
    log: (line) => lines.push(line),
  });
  return { bootstrap, store, lines };
}

const results = async (store: MemoryStateStore) =>
  (await store.readPool("compute")).bootstrapResults["i-1"] ?? [];

describe("ChannelBootstrap", () => {
  it("proves access with the pool's channel and records a pass when no check follows", async () => {
    const channel = new ScriptedChannel(ok());
    const { bootstrap, store } = step(channel);

    await bootstrap.begin("compute", "i-1", { reference: false }, NOW);

    expect(channel.calls).toHaveLength(1);
    expect(channel.calls[0]?.script).toBe(ACCESS_SCRIPT);
    expect(channel.calls[0]?.host).toEqual({
      id: "i-1",
      pool: "compute",
      privateAddress: "10.0.0.5",
      publicAddress: "203.0.113.5",
      tags: running.tags,
    });
    expect(channel.calls[0]?.options).toEqual({ timeoutMs: 60_000, runId: `vor-power/i-1/${AT}` });
    expect(await results(store)).toEqual([
      { at: AT, reference: false, outcome: "passed", step: "all", code: "ok" },
    ]);
  });

  it("records the channel's fault code as a failed access, for the planner to classify", async () => {
    const { bootstrap, store } = step(
      new ScriptedChannel(new AccessFault("vault:sealed", "Vault at https://vault is sealed")),
    );

    await bootstrap.begin("compute", "i-1", { reference: false }, NOW);

    expect(await results(store)).toEqual([
      { at: AT, reference: false, outcome: "failed", step: "access", code: "vault:sealed" },
    ]);
  });

  it("records an error that is no AccessFault as channel:error (outside: not the host's)", async () => {
    const { bootstrap, store } = step(new ScriptedChannel(new TypeError("bug in a channel")));

    await bootstrap.begin("compute", "i-1", { reference: false }, NOW);

    expect((await results(store)).map((r) => r.code)).toEqual(["channel:error"]);
  });

  it("records a failed access command as host-caused", async () => {
    const { bootstrap, store } = step(
      new ScriptedChannel({ exitCode: 1, stdout: "", stderr: "id: not found", durationMs: 3 }),
    );

    await bootstrap.begin("compute", "i-1", { reference: false }, NOW);

    expect((await results(store)).map((r) => [r.outcome, r.code])).toEqual([
      ["failed", "access:command-failed"],
    ]);
  });

  it("runs the checks after access and ends with the first check's failure as the verdict", async () => {
    const passing: HostCheck = {
      run: (_h, _c, o) =>
        Promise.resolve([
          {
            at: o.at,
            reference: o.reference,
            outcome: "passed",
            step: "playpen",
            code: "ok",
            playpen: "/a",
          },
        ]),
    };
    const failing: HostCheck = {
      run: (_h, _c, o) =>
        Promise.resolve([
          {
            at: o.at,
            reference: o.reference,
            outcome: "failed",
            step: "playpen",
            code: "playpen:/b:marker",
            playpen: "/b",
          },
        ]),
    };
    const never: HostCheck = { run: () => Promise.reject(new Error("must not run")) };
    const { bootstrap, store } = step(new ScriptedChannel(ok()), {
      checks: [passing, failing, never],
    });

    await bootstrap.begin("compute", "i-1", { reference: false }, NOW);

    expect((await results(store)).map((r) => [r.outcome, r.code])).toEqual([
      ["passed", "ok"],
      ["failed", "playpen:/b:marker"],
    ]);
  });

  it("records a check that throws as a failed check with its code", async () => {
    const throwing: HostCheck = {
      run: () => Promise.reject(new AccessFault("ssh:timeout", "timed out")),
    };
    const { bootstrap, store } = step(new ScriptedChannel(ok()), { checks: [throwing] });

    await bootstrap.begin("compute", "i-1", { reference: false }, NOW);

    expect((await results(store)).map((r) => [r.step, r.code])).toEqual([["check", "ssh:timeout"]]);
  });

  it("records nothing for a host that is not running, and releases its claim", async () => {
    const channel = new ScriptedChannel(ok());
    const { bootstrap, store } = step(channel, {
      hosts: [{ ...running, cloudState: "stopped" }],
    });

    await bootstrap.begin("compute", "i-1", { reference: false }, NOW);

    expect(channel.calls).toEqual([]);
    expect(await results(store)).toEqual([]);
    expect(await store.claimHost("compute", "i-1", "other", NOW, 60_000)).not.toBeNull();
  });

  it("leaves a host another bootstrapper has claimed", async () => {
    const channel = new ScriptedChannel(ok());
    const { bootstrap, store } = step(channel);
    await store.claimHost("compute", "i-1", "other", NOW, 60_000);

    await bootstrap.begin("compute", "i-1", { reference: false }, NOW);

    expect(channel.calls).toEqual([]);
    expect(await results(store)).toEqual([]);
  });

  it("drops the result when the planner revoked the claim meanwhile", async () => {
    const store = new MemoryStateStore();
    const lines: string[] = [];
    const channel: HostChannel = {
      run: async () => {
        await store.revokeClaim("compute", "i-1"); // the planner quarantined the host mid-run
        return ok();
      },
    };
    const bootstrap = new ChannelBootstrap({
      config: plannerConfig(),
      store,
      compute: { listHosts: () => Promise.resolve([running]) },
      channelFor: () => channel,
      checks: [],
      owner: "test",
      log: (line) => lines.push(line),
    });

    await bootstrap.begin("compute", "i-1", { reference: false }, NOW);

    expect(await results(store)).toEqual([]);
    expect(lines.join("\n")).toContain("claim lost");
  });
});

describe("ChannelBootstrap.diagnose (vor-power bootstrap --host)", () => {
  it("runs the same steps, traces each, and neither claims the host nor records anything", async () => {
    const channel = new ScriptedChannel(ok());
    const check: HostCheck = {
      run: (_h, _c, o) => {
        o.trace?.({ step: "playpen", outcome: "passed", code: "ok", detail: "/a", facts: {} });
        return Promise.resolve([
          { at: o.at, reference: o.reference, outcome: "passed", step: "playpen", code: "ok" },
        ]);
      },
    };
    const { bootstrap, store } = step(channel, { checks: [check] });
    const entries: TraceEntry[] = [];

    const diagnosis = await bootstrap.diagnose(
      "compute",
      "i-1",
      { reference: false, trace: (entry) => entries.push(entry) },
      NOW,
    );

    expect(diagnosis.host?.id).toBe("i-1");
    expect(diagnosis.results.map((r) => `${r.step}:${r.outcome}:${r.code}`)).toEqual([
      "playpen:passed:ok",
      "all:passed:ok",
    ]);
    expect(entries.map((e) => `${e.step}:${e.outcome}:${e.code}`)).toEqual([
      "access:passed:ok",
      "playpen:passed:ok",
    ]);
    expect(entries[0]?.detail).toBe(`${ACCESS_SCRIPT} answered vor-bootstrap`);
    // the channel gets the trace too, so it can report signing, host key and login
    expect(channel.calls[0]?.options.trace).toBeTypeOf("function");
    expect(await results(store)).toEqual([]);
    expect(await store.claimHost("compute", "i-1", "other", NOW, 60_000)).not.toBeNull();
  });

  it("traces a channel's fault at access with its code and message", async () => {
    const { bootstrap } = step(
      new ScriptedChannel(new AccessFault("ssh:key-refused", "SSH to host i-1: refused")),
    );
    const entries: TraceEntry[] = [];

    const diagnosis = await bootstrap.diagnose(
      "compute",
      "i-1",
      { reference: false, trace: (entry) => entries.push(entry) },
      NOW,
    );

    expect(diagnosis.results.map((r) => r.code)).toEqual(["ssh:key-refused"]);
    expect(entries).toMatchObject([
      {
        step: "access",
        outcome: "failed",
        code: "ssh:key-refused",
        detail: "SSH to host i-1: refused",
      },
    ]);
  });

  it("answers no results, and runs nothing, for a host that is not running", async () => {
    const channel = new ScriptedChannel(ok());
    const { bootstrap } = step(channel, { hosts: [{ ...running, cloudState: "stopped" }] });

    const diagnosis = await bootstrap.diagnose(
      "compute",
      "i-1",
      { reference: false, trace: () => undefined },
      NOW,
    );

    expect(diagnosis).toMatchObject({ host: { cloudState: "stopped" }, results: [] });
    expect(channel.calls).toEqual([]);
  });
});
