import { describe, expect, it } from "vitest";
import type {
  CommandResult,
  HostChannel,
  HostTarget,
} from "../../../shared/bootstrap/host-channel.ts";
import { PoolBootstrap, type ChannelFactory } from "../../../shared/bootstrap/pool-bootstrap.ts";
import type { HostSnapshot } from "../../../shared/plan/snapshot.ts";
import { MemoryStateStore } from "../../../shared/state/memory-state-store.ts";
import { plannerConfig } from "../../support/snapshot-builder.ts";

// The live bootstrap step: each pool's hosts go through the channel its config names, built on
// first use and once; a pool whose channel is not configured is skipped (channel:none).

const NOW = new Date("2026-03-04T10:00:00Z");

const hostOf = (id: string, pool: string): HostSnapshot => ({
  id,
  cloudState: "running",
  address: "10.0.0.5",
  tags: { "vor:pool": pool },
});

/** A channel that answers exit 0 and records the hosts it ran on. */
class RecordingChannel implements HostChannel {
  readonly hosts: string[] = [];

  run(host: HostTarget): Promise<CommandResult> {
    this.hosts.push(host.id);
    return Promise.resolve({ exitCode: 0, stdout: "", stderr: "", durationMs: 1 });
  }
}

/** A factory that counts its builds; `failures` builds reject first. */
function factory(channel: HostChannel, failures = 0): { build: ChannelFactory; builds: number } {
  const counter = {
    builds: 0,
    build: () => {
      counter.builds += 1;
      return counter.builds <= failures
        ? Promise.reject(new Error("cannot load the adapter"))
        : Promise.resolve(channel);
    },
  };
  return counter;
}

function setup(channels: { ssh?: ChannelFactory; ssm?: ChannelFactory }) {
  const config = plannerConfig([
    "pools",
    {
      compute: { min: 0, max: 2, channel: "ssh" },
      agent: { min: 0, max: 2, channel: "ssm" },
    },
  ]);
  const store = new MemoryStateStore();
  const hosts: Record<string, HostSnapshot[]> = {
    compute: [hostOf("i-s1", "compute"), hostOf("i-s2", "compute")],
    agent: [hostOf("i-a1", "agent")],
  };
  const step = new PoolBootstrap({
    config,
    store,
    compute: { listHosts: (pool) => Promise.resolve(hosts[pool] ?? []) },
    channels,
    checks: [],
    owner: "test",
    log: () => undefined,
  });
  const verdict = async (pool: string, host: string) =>
    (await store.readPool(pool)).bootstrapResults[host]?.map((r) => `${r.outcome}:${r.code}`);
  return { step, verdict };
}

describe("PoolBootstrap", () => {
  it("sends each pool's hosts through the pool's own channel", async () => {
    const ssh = new RecordingChannel();
    const ssm = new RecordingChannel();
    const { step, verdict } = setup({ ssh: factory(ssh).build, ssm: factory(ssm).build });

    await step.begin("compute", "i-s1", { reference: false }, NOW);
    await step.begin("agent", "i-a1", { reference: false }, NOW);

    expect(ssh.hosts).toEqual(["i-s1"]);
    expect(ssm.hosts).toEqual(["i-a1"]);
    expect(await verdict("compute", "i-s1")).toEqual(["passed:ok"]);
    expect(await verdict("agent", "i-a1")).toEqual(["passed:ok"]);
  });

  it("builds a channel on its first use and once, even for bootstraps begun side by side", async () => {
    const ssh = factory(new RecordingChannel());
    const ssm = factory(new RecordingChannel());
    const { step } = setup({ ssh: ssh.build, ssm: ssm.build });

    expect(ssh.builds).toBe(0);
    await Promise.all([
      step.begin("compute", "i-s1", { reference: false }, NOW),
      step.begin("compute", "i-s2", { reference: false }, NOW),
    ]);

    expect(ssh.builds).toBe(1);
    expect(ssm.builds).toBe(0); // no SSM pool host was bootstrapped: nothing loaded
  });

  it("skips the hosts of a pool whose channel is not configured (blocked as channel:none)", async () => {
    const ssm = new RecordingChannel();
    const { step, verdict } = setup({ ssm: factory(ssm).build });

    expect(step.channelOf("compute")).toBeUndefined();
    expect(step.channelOf("agent")).toBe("ssm");
    await step.begin("compute", "i-s1", { reference: false }, NOW);

    expect(await verdict("compute", "i-s1")).toEqual(["skipped:channel:none"]);
    expect(ssm.hosts).toEqual([]);
  });

  it("builds again after a build failed, rather than keeping the failure", async () => {
    const ssm = factory(new RecordingChannel(), 1);
    const { step, verdict } = setup({ ssm: ssm.build });

    await expect(step.begin("agent", "i-a1", { reference: false }, NOW)).rejects.toThrow(
      /cannot load the adapter/,
    );
    await step.begin("agent", "i-a1", { reference: false }, NOW);

    expect(ssm.builds).toBe(2);
    expect(await verdict("agent", "i-a1")).toEqual(["passed:ok"]);
  });
});
