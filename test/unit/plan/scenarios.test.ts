import { describe, expect, it } from "vitest";
import { TAG, type PoolSnapshot } from "../../../shared/plan/index.ts";
import { iso, offHost, poolAt, readyHost, type HostInput } from "../../support/plan-fixtures.ts";
import { hostsIn, liveHosts, runTicks } from "../../support/run-ticks.ts";
import { okSignals, plannerConfig } from "../../support/snapshot-builder.ts";

// Whole stretches of one-minute ticks: plan, carry the plan out, let the cloud and the
// bootstrapper move, plan again. The bootstrapper passes every host half a tick after its
// bootstrap effect unless a scenario says otherwise. Times are UTC (London in early March).

const config = plannerConfig();
type Run = NonNullable<NonNullable<Parameters<typeof okSignals>[0]>["runs"]>[number];

const readyIds = (pool: PoolSnapshot): string[] =>
  pool.hosts.filter((h) => h.tags[TAG.lifecycle] === "ready").map((h) => h.id);

const offHosts = (count: number, since = "2026-03-03T19:30"): HostInput[] =>
  Array.from({ length: count }, (_, i) => offHost(`i-${String(i + 1)}`, since));

/** Rules the planner applied to `host` over the run, in order, without the quiet ones. */
const storyOf = (ticks: ReturnType<typeof runTicks>["ticks"], host: string): string[] =>
  ticks.flatMap((t) =>
    t.plan.decisions
      .filter((d) => d.host === host && d.kind !== "none")
      .map((d) => `${t.at.toISOString().slice(11, 16)} ${d.rule}`),
  );

const between = (now: Date, from: string, until: string) =>
  now.getTime() >= Date.parse(iso(from)) && now.getTime() < Date.parse(iso(until));

describe("scenario: business hours open and close", () => {
  // One run keeps the serving host busy from 18:00 until the window closes at 19:00.
  const run = runTicks(
    poolAt("2026-03-04T06:50", { hosts: offHosts(3) }),
    "2026-03-04T06:50",
    "2026-03-04T19:30",
    {
      config,
      signals: (now, pool) => {
        const [serving] = readyIds(pool);
        const runs: Run[] =
          serving !== undefined && between(now, "2026-03-04T18:00", "2026-03-04T19:00")
            ? [{ id: "r-evening", state: "running", hostIds: [serving] }]
            : [];
        return okSignals({ runs });
      },
    },
  );

  it("starts one host as the window opens at 07:00 and none before or after", () => {
    expect(run.starts()).toEqual([{ at: iso("2026-03-04T07:00"), hosts: ["i-1"] }]);
    expect(run.decisionsAt("2026-03-04T07:00", "i-1")[0]?.rule).toBe("scale-out.floor");
  });

  it("has the host ready at 07:02, after a start, a boot and a bootstrap begun as it runs", () => {
    expect(run.decisionsAt("2026-03-04T07:01", "i-1")[0]?.rule).toBe("start.running");
    expect(run.tagAfter("2026-03-04T07:01", "i-1")).toBe("bootstrapping");
    expect(run.tagAfter("2026-03-04T07:02", "i-1")).toBe("ready");
    expect(run.tagAfter("2026-03-04T07:02", "i-1", TAG.readyAt)).toBe(
      run
        .tickAt("2026-03-04T07:02")
        .plan.decisions.find((d) => d.host === "i-1")
        ?.effects.flatMap((e) => (e.type === "tags" ? [e.set[TAG.readyAt]] : []))[0],
    );
  });

  it("keeps the host serving all day while the window holds it", () => {
    const drained = run.ticks.filter(
      (t) =>
        t.at < new Date(iso("2026-03-04T19:00")) &&
        t.after.pools.compute?.hosts.some((h) => h.tags[TAG.lifecycle] === "draining"),
    );

    expect(drained).toEqual([]);
    expect(run.tagAfter("2026-03-04T18:59", "i-1")).toBe("ready");
  });

  it("drains the host idleTimeout after its last run ended at 19:00 and stops it drainGrace later", () => {
    expect(run.decisionsAt("2026-03-04T19:00", "i-1")[0]?.rule).toBe("idle.since");
    expect(run.tagAfter("2026-03-04T19:19", "i-1")).toBe("ready");
    expect(run.decisionsAt("2026-03-04T19:20", "i-1")[0]?.rule).toBe("scale-in.idle");
    expect(run.decisionsAt("2026-03-04T19:21", "i-1")[0]?.rule).toBe("scale-in.stop");
    expect(run.tagAfter("2026-03-04T19:22", "i-1")).toBe("off");
    expect(liveHosts(run.last)).toEqual([]);
  });
});

describe("scenario: the nightly batch is pre-warmed and drained afterwards", () => {
  // The 02:00 batch needs 4 hosts; it shows as pending just before 02:00 and runs until 04:30.
  const run = runTicks(
    poolAt("2026-03-04T01:30", { hosts: offHosts(8) }),
    "2026-03-04T01:30",
    "2026-03-04T05:10",
    {
      config,
      signals: (now, pool) => {
        if (between(now, "2026-03-04T01:55", "2026-03-04T02:00"))
          return okSignals({ runs: [{ id: "r-nightly", state: "pending", hosts: 4 }] });
        if (between(now, "2026-03-04T02:00", "2026-03-04T04:30"))
          return okSignals({
            runs: [{ id: "r-nightly", state: "running", hostIds: readyIds(pool) }],
          });
        return okSignals();
      },
    },
  );
  const batch = ["i-1", "i-2", "i-3", "i-4"];

  it("starts 4 hosts at 01:45 (leadTime 10m + startupEstimate 5m) and no other", () => {
    expect(run.starts()).toEqual([{ at: iso("2026-03-04T01:45"), hosts: batch }]);
  });

  it("has the 4 hosts ready at 01:47, before the run at 02:00", () => {
    for (const id of batch) {
      expect(run.tagAfter("2026-03-04T01:46", id)).toBe("bootstrapping");
      expect(run.tagAfter("2026-03-04T01:47", id)).toBe("ready");
    }
  });

  it("never runs more than the 4 hosts the batch needs", () => {
    expect(Math.max(...run.ticks.map((t) => liveHosts(t.after).length))).toBe(4);
  });

  it("holds the hosts until expectedDuration ends at 05:00, then drains and stops them", () => {
    for (const id of batch) {
      expect(run.tagAfter("2026-03-04T04:59", id)).toBe("ready");
      expect(run.decisionsAt("2026-03-04T05:00", id)[0]?.rule).toBe("scale-in.idle");
      expect(run.decisionsAt("2026-03-04T05:01", id)[0]?.rule).toBe("scale-in.stop");
      expect(run.tagAfter("2026-03-04T05:02", id)).toBe("off");
    }
    expect(liveHosts(run.last)).toEqual([]);
  });
});

describe("scenario: a burst of submitted runs larger than max", () => {
  // 12 runs are submitted at 10:00; the midtier shows them as pending from 10:01.
  const runIds = Array.from({ length: 12 }, (_, i) => `r-${String(i + 1)}`);
  const world = poolAt("2026-03-04T10:00", {
    hosts: [readyHost("i-00", { idleSince: "2026-03-04T09:00" }), ...offHosts(9)],
  });
  const run = runTicks(world, "2026-03-04T10:00", "2026-03-04T10:15", {
    config,
    before: (now, pool) => {
      if (now.getTime() !== Date.parse(iso("2026-03-04T10:00"))) return;
      pool.control.submitted = runIds.map((runId) => ({
        runId,
        hosts: 1,
        at: iso("2026-03-04T09:59:50"),
        expiresAt: iso("2026-03-04T10:09:50"),
      }));
    },
    signals: (now) =>
      okSignals({
        runs:
          now >= new Date(iso("2026-03-04T10:01"))
            ? runIds.map((id) => ({ id, state: "pending" as const }))
            : [],
      }),
  });

  it("starts maxStartsPerTick 4 hosts, then the 3 more that max 8 allows, and no more", () => {
    expect(run.starts()).toEqual([
      { at: iso("2026-03-04T10:00"), hosts: ["i-1", "i-2", "i-3", "i-4"] },
      { at: iso("2026-03-04T10:01"), hosts: ["i-5", "i-6", "i-7"] },
    ]);
  });

  it("never has more than max 8 hosts up", () => {
    for (const tick of run.ticks) expect(liveHosts(tick.after).length).toBeLessThanOrEqual(8);
    expect(liveHosts(run.last)).toHaveLength(8);
  });

  it("counts each run once when the midtier shows the submitted runs, and drops them from the state store", () => {
    const summary = run.tickAt("2026-03-04T10:01").plan.decisions[0];

    expect(summary?.numbers).toEqual({ desired: 8, demand: 12, floor: 1, capacity: 5 });
    expect(run.tickAt("2026-03-04T10:01").after.pools.compute?.control.submitted).toEqual([]);
  });

  it("has every started host ready a few ticks later", () => {
    expect(hostsIn(run.last, "ready").sort()).toEqual([
      "i-00",
      "i-1",
      "i-2",
      "i-3",
      "i-4",
      "i-5",
      "i-6",
      "i-7",
    ]);
  });
});

describe("scenario: a busy source fails in the middle of a drain", () => {
  // rabbitmq is down from 19:31 to 19:44; the host drained at 19:30 would stop at 19:31.
  const world = poolAt("2026-03-04T19:30", {
    hosts: [readyHost("i-1", { readyAt: "2026-03-04T07:03", idleSince: "2026-03-04T19:00" })],
  });
  const run = runTicks(world, "2026-03-04T19:30", "2026-03-04T19:50", {
    config,
    signals: (now) =>
      between(now, "2026-03-04T19:31", "2026-03-04T19:45")
        ? { ...okSignals(), rabbitmq: { status: "failed", why: "connection refused" } }
        : okSignals(),
  });

  it("drains the idle host at 19:30", () => {
    expect(run.decisionsAt("2026-03-04T19:30", "i-1")[0]?.rule).toBe("scale-in.idle");
  });

  it("stops nothing while the pool is blind, and keeps the host draining", () => {
    const blind = run.ticks.filter((t) => between(t.at, "2026-03-04T19:31", "2026-03-04T19:45"));

    expect(blind).toHaveLength(14);
    for (const tick of blind) {
      expect(
        tick.plan.decisions.flatMap((d) => d.effects).filter((e) => e.type === "stop"),
      ).toEqual([]);
      expect(tick.after.pools.compute?.hosts[0]?.tags[TAG.lifecycle]).toBe("draining");
    }
    expect(run.decisionsAt("2026-03-04T19:31", "i-1")[0]?.rule).toBe("freeze.blind");
  });

  it("alerts once when the source has been down signalAlertAfter 10m", () => {
    const alerts = run.ticks.flatMap((t) =>
      t.plan.decisions.flatMap((d) =>
        d.effects.flatMap((e) => (e.type === "alert" ? [`${t.at.toISOString()} ${e.key}`] : [])),
      ),
    );

    expect(alerts).toEqual([`${iso("2026-03-04T19:41")} signal:rabbitmq`]);
  });

  it("completes the drain once the source reads again: stopped at 19:45, off at 19:46", () => {
    expect(run.decisionsAt("2026-03-04T19:45", "i-1")[0]?.rule).toBe("scale-in.stop");
    expect(run.tagAfter("2026-03-04T19:46", "i-1")).toBe("off");
  });
});

describe("scenario: a host fails its bootstrap three times", () => {
  const run = runTicks(
    poolAt("2026-03-04T10:00", { hosts: [offHost("i-1", "2026-03-03T19:00"), offHost("i-2")] }),
    "2026-03-04T10:00",
    "2026-03-04T10:15",
    {
      config,
      bootstrap: (host) =>
        host === "i-1" ? { outcome: "failed", code: "ssh:key-refused" } : { outcome: "passed" },
    },
  );

  it("counts an attempt per failure, backing off 1 then 2 ticks, and quarantines it at the third", () => {
    expect(storyOf(run.ticks, "i-1")).toEqual([
      "10:00 scale-out.floor",
      "10:01 start.running",
      "10:02 bootstrap.failed",
      "10:03 bootstrap.step",
      "10:04 bootstrap.failed",
      "10:05 bootstrap.step",
      "10:06 quarantine.attempts",
      "10:07 quarantine.failed",
      "10:08 host.failed",
      "10:09 host.failed",
      "10:10 host.failed",
      "10:11 host.failed",
      "10:12 host.failed",
      "10:13 host.failed",
      "10:14 host.failed",
      "10:15 host.failed",
    ]);
    const attemptAtAfter = (instant: string): string | undefined => {
      const tag = run.tagAfter(instant, "i-1", TAG.attemptAt);
      return tag === undefined ? undefined : new Date(tag).toISOString();
    };
    // attempts at 10:01 (with start.running), 10:03 and 10:05: each failure is classified the
    // tick after its attempt, so the 1-tick backoff from 10:01 and the 2-tick one from 10:03 both
    // end on the tick the previous result was read or later.
    expect(attemptAtAfter("2026-03-04T10:01")).toBe(iso("2026-03-04T10:01"));
    expect(run.tagAfter("2026-03-04T10:02", "i-1", TAG.attempts)).toBe("1");
    expect(attemptAtAfter("2026-03-04T10:03")).toBe(iso("2026-03-04T10:03"));
    expect(run.tagAfter("2026-03-04T10:04", "i-1", TAG.attempts)).toBe("2");
    expect(attemptAtAfter("2026-03-04T10:05")).toBe(iso("2026-03-04T10:05"));
  });

  it("stops it with stop-cause quarantine, then tags it failed with its failure code and alerts", () => {
    expect(run.tagAfter("2026-03-04T10:06", "i-1")).toBe("stopping");
    expect(run.tagAfter("2026-03-04T10:06", "i-1", TAG.stopCause)).toBe("quarantine");
    expect(run.tagAfter("2026-03-04T10:07", "i-1")).toBe("failed");
    expect(run.tagAfter("2026-03-04T10:07", "i-1", TAG.failure)).toBe("ssh:key-refused");
    const alerts = run
      .decisionsAt("2026-03-04T10:07", "i-1")
      .flatMap((d) => d.effects.filter((e) => e.type === "alert"));
    expect(alerts).toHaveLength(1);
  });

  it("starts another host in its place, which becomes ready, and never starts the failed one again", () => {
    expect(run.starts()).toEqual([
      { at: iso("2026-03-04T10:00"), hosts: ["i-1"] },
      { at: iso("2026-03-04T10:06"), hosts: ["i-2"] },
    ]);
    expect(run.tagAfter("2026-03-04T10:07", "i-2")).toBe("bootstrapping");
    expect(run.tagAfter("2026-03-04T10:08", "i-2")).toBe("ready");
    expect(run.last.pools.compute?.control.counters.consecutiveFailures).toBe(0);
  });
});

describe("scenario: a pool protected after maxConsecutiveFailures quarantines, resumed by ops", () => {
  const RESUME = "2026-03-04T10:40";
  const run = runTicks(
    poolAt("2026-03-04T10:00", { hosts: offHosts(6) }),
    "2026-03-04T10:00",
    "2026-03-04T10:50",
    {
      config,
      bootstrap: (_host, now) =>
        now < new Date(iso(RESUME))
          ? { outcome: "failed", code: "ssh:key-refused" }
          : { outcome: "passed" },
      // ops resume-pool: the protection is cleared in the state store
      before: (now, pool) => {
        if (now.getTime() === Date.parse(iso(RESUME))) pool.control.protection = null;
      },
    },
  );

  it("protects the pool when its third host in a row is quarantined, with an alert", () => {
    const protect = run
      .tickAt("2026-03-04T10:19")
      .plan.decisions.find((d) => d.rule === "protect.failures");

    expect(protect?.effects).toContainEqual(
      expect.objectContaining({ type: "alert", key: "protected" }),
    );
    expect(hostsIn(run.tickAt("2026-03-04T10:19").after, "failed")).toEqual(["i-1", "i-2", "i-3"]);
  });

  it("starts nothing while protected, however short the pool is", () => {
    const protectedTicks = run.ticks.filter((t) => between(t.at, "2026-03-04T10:20", RESUME));

    for (const tick of protectedTicks) {
      expect(
        tick.plan.decisions.flatMap((d) => d.effects).filter((e) => e.type === "start"),
      ).toEqual([]);
    }
    expect(
      run.tickAt("2026-03-04T10:39").plan.decisions.some((d) => d.rule === "freeze.protected"),
    ).toBe(true);
  });

  it("starts again once ops resume the pool, and the new host becomes ready", () => {
    const [first] = run.starts().filter((s) => s.at >= iso(RESUME));

    expect(first?.at).toBe(iso(RESUME));
    const started = first?.hosts[0] ?? expect.fail("no start after the resume");
    expect(run.tagAfter("2026-03-04T10:41", started)).toBe("bootstrapping");
    expect(run.tagAfter("2026-03-04T10:42", started)).toBe("ready");
    expect(run.last.pools.compute?.control.counters.consecutiveFailures).toBe(0);
  });
});

describe("scenario: a host started by hand is adopted", () => {
  const run = runTicks(
    poolAt("2026-03-04T10:00", {
      hosts: [
        readyHost("i-1", { readyAt: "2026-03-04T09:50", idleSince: "2026-03-04T09:50" }),
        offHost("i-2"),
      ],
    }),
    "2026-03-04T10:00",
    "2026-03-04T10:10",
    {
      config,
      before: (now, pool) => {
        if (now.getTime() !== Date.parse(iso("2026-03-04T10:05"))) return;
        const byHand = pool.hosts.find((h) => h.id === "i-2");
        if (byHand) {
          byHand.cloudState = "pending";
          byHand.launchedAt = iso("2026-03-04T10:04:30");
        }
      },
    },
  );

  it("adopts it with an alert, since vor-power had it off", () => {
    const [adopt] = run.decisionsAt("2026-03-04T10:05", "i-2");

    expect(adopt?.rule).toBe("lifecycle.adopt");
    expect(adopt?.effects.filter((e) => e.type === "alert")).toHaveLength(1);
    expect(run.tagAfter("2026-03-04T10:05", "i-2")).toBe("adopted");
  });

  it("checks it in place and tags it ready once the checks pass", () => {
    expect(run.decisionsAt("2026-03-04T10:06", "i-2")[0]?.rule).toBe("bootstrap.step");
    expect(run.decisionsAt("2026-03-04T10:07", "i-2")[0]?.rule).toBe("bootstrap.adopted-passed");
    expect(run.tagAfter("2026-03-04T10:07", "i-2")).toBe("ready");
    expect(run.tagAfter("2026-03-04T10:07", "i-2", TAG.readyAt)).toBeDefined();
  });

  it("never stops the adopted host while it is being checked", () => {
    const stops = run.ticks.flatMap((t) =>
      t.plan.decisions.flatMap((d) =>
        d.effects.filter((e) => e.type === "stop" && e.host === "i-2"),
      ),
    );

    expect(stops).toEqual([]);
  });
});
