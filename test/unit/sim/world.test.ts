import { describe, expect, it } from "vitest";
import { bootedReady } from "../../../shared/sim/world.ts";
import {
  bareWorld,
  runSubmittedAt,
  startHostAt,
  traceRun,
  utc,
} from "../../support/sim-builders.ts";

// The simulated installation (DESIGN.md, "The simulator"): hosts take boot time, the midtier
// dispatches FIFO with backfill to ready hosts, runs take their time, a stop kills what runs on
// the host, and a host is billed from its start call until it reads stopped. Hosts here become
// ready the way the baselines make them: boot 3 + bootstrap 2 minutes after the start call.

const H01 = "compute-h01";
const H02 = "compute-h02";

describe("World", () => {
  it("starts a run submitted to an idle ready host at its submission instant and ends it after its duration", () => {
    const world = bareWorld([traceRun("2026-01-19T09:12:30", 35)]);
    startHostAt(world, H01, utc("2026-01-19T09:00"));

    world.advance(utc("2026-01-19T10:00"), bootedReady(world));

    const run = runSubmittedAt(world, "2026-01-19T09:12:30");
    expect(run.startedAt).toBe(utc("2026-01-19T09:12:30"));
    expect(run.endsAt).toBe(utc("2026-01-19T09:47:30"));
    expect(world.host(H01).runs.size).toBe(0);
    expect(world.host(H01).idleSince).toBe(utc("2026-01-19T09:47:30"));
    expect(world.finish().waitsMin).toEqual([0]);
  });

  it("keeps a started host pending for the boot time, then running", () => {
    const world = bareWorld([]);
    const host = startHostAt(world, H01, utc("2026-01-19T09:00"));

    world.advance(utc("2026-01-19T09:02:59"), bootedReady(world));
    const whileBooting = host.cloud;
    world.advance(utc("2026-01-19T09:03"), bootedReady(world));

    expect(whileBooting).toBe("pending");
    expect(host.cloud).toBe("running");
    expect(host.launchedAt).toBe(utc("2026-01-19T09:03"));
  });

  it("starts a run waiting for a host the instant the host becomes ready", () => {
    const world = bareWorld([traceRun("2026-01-19T09:01:30", 20)]);
    startHostAt(world, H01, utc("2026-01-19T09:00"));

    world.advance(utc("2026-01-19T09:30"), bootedReady(world));

    expect(runSubmittedAt(world, "2026-01-19T09:01:30").startedAt).toBe(utc("2026-01-19T09:05"));
    expect(world.finish().waitsMin).toEqual([3.5]);
  });

  it("dispatches waiting runs first in, first out", () => {
    const world = bareWorld([traceRun("2026-01-19T09:01", 10), traceRun("2026-01-19T09:02", 10)]);
    startHostAt(world, H01, utc("2026-01-19T09:00"));

    world.advance(utc("2026-01-19T09:30"), bootedReady(world));

    expect(runSubmittedAt(world, "2026-01-19T09:01").startedAt).toBe(utc("2026-01-19T09:05"));
    expect(runSubmittedAt(world, "2026-01-19T09:02").startedAt).toBe(utc("2026-01-19T09:15"));
  });

  it("lets a 1-host run pass a 2-host run that does not fit (backfill), and starts the 2-host run once two hosts are free", () => {
    const world = bareWorld(
      [traceRun("2026-01-19T09:10", 30, { hosts: 2 }), traceRun("2026-01-19T09:11", 20)],
      { hosts: 2 },
    );
    startHostAt(world, H01, utc("2026-01-19T09:00"));

    world.advance(utc("2026-01-19T09:40"), bootedReady(world));
    const big = runSubmittedAt(world, "2026-01-19T09:10");
    const small = runSubmittedAt(world, "2026-01-19T09:11");
    const bigWhileOneHost = big.startedAt;
    startHostAt(world, H02, utc("2026-01-19T09:40"));
    world.advance(utc("2026-01-19T10:30"), bootedReady(world));

    expect(small.startedAt).toBe(utc("2026-01-19T09:11"));
    expect(bigWhileOneHost).toBeUndefined();
    expect(big.startedAt).toBe(utc("2026-01-19T09:45"));
    expect([...big.hostIds].sort()).toEqual([H01, H02]);
    expect(world.finish().waitsMin).toEqual([35, 0]);
  });

  it("kills the run on a stopped host, counts it, requeues it, and counts its wait from submission", () => {
    const world = bareWorld([traceRun("2026-01-19T09:10", 60)], { hosts: 2 });
    const first = startHostAt(world, H01, utc("2026-01-19T09:00"));
    world.advance(utc("2026-01-19T09:30"), bootedReady(world));
    const run = runSubmittedAt(world, "2026-01-19T09:10");
    const startedBeforeStop = run.startedAt;

    world.stop(first);
    const afterStop = {
      killed: run.killed,
      runsKilled: world.measures.runsKilled,
      pending: world.pendingRuns("compute"),
      startedAt: run.startedAt,
    };
    startHostAt(world, H02, utc("2026-01-19T09:30"));
    world.advance(utc("2026-01-19T11:00"), bootedReady(world));

    expect(startedBeforeStop).toBe(utc("2026-01-19T09:10"));
    expect(afterStop).toEqual({ killed: 1, runsKilled: 1, pending: [run], startedAt: undefined });
    expect(run.startedAt).toBe(utc("2026-01-19T09:35"));
    expect(run.hostIds).toEqual([H02]);
    expect(world.finish().waitsMin).toEqual([25]);
  });

  it("bills from the start call until the host reads stopped, boot time included", () => {
    const world = bareWorld([]);
    const host = startHostAt(world, H01, utc("2026-01-19T09:00"));
    world.advance(utc("2026-01-19T10:00"), bootedReady(world));

    world.stop(host);
    world.advance(utc("2026-01-19T11:00"), bootedReady(world));

    // 09:00 start call to 10:00:30: the stop call at 10:00 and 30 s until the host reads stopped.
    expect(host.cloud).toBe("stopped");
    expect(world.measures.hostMinutes).toBe(60.5);
    expect(world.measures).toMatchObject({ starts: 1, stops: 1 });
  });

  it("bills a host still on when the simulation ends up to the end", () => {
    const world = bareWorld([]);
    startHostAt(world, H01, utc("2026-01-19T23:00"));

    world.advance(utc("2026-01-20T00:00"), bootedReady(world));
    world.finish();

    expect(world.measures.hostMinutes).toBe(60);
  });

  it("bills a failed boot only for the boot time", () => {
    const world = bareWorld([]);
    world.advance(utc("2026-01-19T09:00"), bootedReady(world));
    const host = world.host(H01);

    world.start(host, { bootFails: true });
    world.advance(utc("2026-01-19T10:00"), bootedReady(world));

    expect(host.cloud).toBe("stopped");
    expect(world.measures.hostMinutes).toBe(3);
  });

  it("samples the hosts on (billed) at each tick, a stopping host counting until it reads stopped", () => {
    const world = bareWorld([], { hosts: 2 });
    const ticks = ["09:00", "09:01", "09:02", "09:03"].map((hm) => utc(`2026-01-19T${hm}`));
    const actions: Record<number, () => void> = {
      1: () => {
        world.start(world.host(H01));
        world.start(world.host(H02));
      },
      2: () => world.stop(world.host(H01)),
    };

    ticks.forEach((tick, index) => {
      world.advance(tick, bootedReady(world));
      actions[index]?.();
      world.sample();
    });

    expect(world.measures.hostsOn).toEqual([0, 2, 2, 1]);
  });

  it("shares a host between runs up to runsPerHost, and queues the next run until one ends", () => {
    const world = bareWorld(
      [
        traceRun("2026-01-19T09:10", 30),
        traceRun("2026-01-19T09:10", 30),
        traceRun("2026-01-19T09:10", 30),
      ],
      { runsPerHost: 2 },
    );
    startHostAt(world, H01, utc("2026-01-19T09:00"));

    world.advance(utc("2026-01-19T09:20"), bootedReady(world));
    const runsOnHostAt0920 = world.host(H01).runs.size;
    world.advance(utc("2026-01-19T11:00"), bootedReady(world));

    expect(runsOnHostAt0920).toBe(2);
    expect(world.runs.map((r) => r.startedAt)).toEqual([
      utc("2026-01-19T09:10"),
      utc("2026-01-19T09:10"),
      utc("2026-01-19T09:40"),
    ]);
    expect(world.runs.every((r) => r.hostIds.join() === H01)).toBe(true);
    expect(world.finish().waitsMin).toEqual([0, 0, 30]);
  });
});
