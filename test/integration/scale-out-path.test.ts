import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { handler as hostStateChangeHandler } from "../../functions/aws/host-state-change.ts";
import { handler as runSubmittedHandler } from "../../functions/aws/run-submitted.ts";
import { setDependenciesForTests, type Dependencies } from "../../functions/aws/runtime.ts";
import { handler as tickHandler } from "../../functions/aws/tick.ts";
import { shellQuote } from "../../shared/bootstrap/playpen-script.ts";
import { canUnshare } from "../support/mount-namespace.ts";
import {
  MINUTE,
  TestClock,
  lambdaContext,
  launchHosts,
  poolConfig,
  readHost,
  readHosts,
  recordedEvent,
  startLiveAws,
  subscribeInbox,
  wireLive,
  type HostView,
  type LiveAws,
} from "../support/live-handlers.ts";
import {
  BAO_FIX,
  HOST_PRINCIPALS,
  PRINCIPAL,
  openBaoInstalled,
  startOpenBao,
  type OpenBao,
  sshAccessConfig,
} from "../support/openbao.ts";
import { freePort, missing, motoInstalled } from "../support/services.ts";
import {
  createTestUser,
  sshdUnavailable,
  startSshd,
  type Sshd,
  type TestUser,
} from "../support/sshd.ts";

// The scale-out path end to end, through the Lambda handlers wired by production code (wireLive:
// loadConfigFromEnvironment, then wireAws) with only the clock the test's: a submitted run starts a
// host in moto, EC2's "running" event reconciles its pool, the bootstrap logs in with an
// OpenBao-signed certificate to a real sshd and runs the real playpen script, and the next tick
// tags the host ready. Each "host" is an sshd in a private mount namespace of its own, where a
// tmpfs at the playpen path plays the shared file system (with the midtier's marker, another
// marker, or none); moto's hosts reach it through the tag vor:ssh (127.0.0.1:port), never through
// the 172.31.x.x addresses moto reports. Every claim is read back from moto's tags, DynamoDB, the
// SNS topic's subscribed queue or sshd's log, not from a handler's answer.

const skip =
  (!motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv")) ||
  (!openBaoInstalled() && missing("OpenBao (.venv/bin/bao)", BAO_FIX)) ||
  sshdUnavailable() ||
  (!canUnshare() && missing("unshare -m as root", "run the tests as root on Linux"));

const MARKER = { file: ".vor-playpen", content: "vor-share-1" };
/** Long off: no restartCooldown holds these hosts back (the oldest is started first). */
const OFF = { "vor:lifecycle": "off", "vor:since": "2026-03-01T00:00:00Z" };
const TICK = recordedEvent("scheduler-tick.json") as Record<string, unknown>;
const SQS = recordedEvent("sqs-run-submitted.json") as SQSEvent;
const RUNNING = recordedEvent("ec2-state-change-running.json") as {
  detail: Record<string, unknown>;
};

/** vor-power's instants: ISO, whole seconds without ".000". */
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

describe.skipIf(skip)(
  "the scale-out path: submitted run to ready host (moto, OpenBao, sshd)",
  () => {
    let live: LiveAws;
    let bao: OpenBao;
    let user: TestUser;
    let base = "";
    let playpen = "";
    const cleanups: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      base = mkdtempSync(join(tmpdir(), "vor-scale-out-"));
      chmodSync(base, 0o755); // the bootstrap user walks through it to the playpen
      cleanups.push(() => {
        rmSync(base, { recursive: true, force: true });
        return Promise.resolve();
      });
      // The mount point exists on this machine's file system; only the namespaces mount on it.
      playpen = join(base, "playpen");
      mkdirSync(playpen);
      user = await createTestUser();
      cleanups.push(() => user.remove());
      bao = await startOpenBao({ allowedUsers: [PRINCIPAL, user.name] });
      cleanups.push(() => bao.stop());
      live = await startLiveAws({ VOR_TEST_SECRET_ID: await bao.newSecretId() });
      cleanups.push(() => live.close());
    }, 120_000);

    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    });

    afterEach(() => {
      setDependenciesForTests(undefined);
    });

    /**
     * A host: an sshd trusting the OpenBao user CA, with an OpenBao host certificate, in a mount
     * namespace of its own where a tmpfs is mounted at the playpen path, owned by runAs, holding
     * `marker` as the marker file's content (none: no marker file).
     */
    async function hostWith(marker: string | undefined, port?: number): Promise<Sshd> {
      const share = [
        `mount -t tmpfs -o mode=0755 vor-share ${shellQuote(playpen)}`,
        ...(marker === undefined
          ? []
          : [
              `printf '%s\\n' ${shellQuote(marker)} > ${shellQuote(join(playpen, MARKER.file))}`,
              `chmod 0644 ${shellQuote(join(playpen, MARKER.file))}`,
            ]),
        `chown ${shellQuote(user.name)} ${shellQuote(playpen)}`,
      ].join("\n");
      const sshd = await startSshd({
        userCaKey: bao.userCaPublicKey,
        user: user.name,
        hostCertificate: (publicKey) => bao.signHostKey(publicKey, HOST_PRINCIPALS),
        mountSetup: share,
        ...(port === undefined ? {} : { port }),
      });
      cleanups.push(() => sshd.stop());
      return sshd;
    }

    const sshTag = (port: number) => ({ "vor:ssh": `127.0.0.1:${port}` });

    /** The pool on the SSH channel with one playpen (a tmpfs here), `settings` on top. */
    const config = (pool: string, settings: Record<string, unknown> = {}) =>
      poolConfig(live, pool, { channel: "ssh", ...settings }, ...sshAccessConfig(bao, user.name), [
        "bootstrap.playpens",
        [{ path: playpen, fsTypes: ["tmpfs"], runAs: user.name, marker: MARKER }],
      ]);

    /**
     * A clock starting now (the next whole second), so moto's launch times, which are real, are
     * where the planner's bootGrace expects them; `at(m)` is m simulated minutes later.
     */
    function clockNow() {
      const start = Math.ceil(Date.now() / 1000) * 1000;
      const clock = new TestClock(new Date(start).toISOString());
      return { clock, at: (minutes: number) => iso(start + minutes * MINUTE) };
    }

    async function install(pool: string, clock: TestClock, settings: Record<string, unknown> = {}) {
      const deps: Dependencies = await wireLive(live, config(pool, settings), clock);
      setDependenciesForTests(deps);
      return deps;
    }

    /** One scheduled tick at `at`; a pool whose act failed fails it. */
    async function tickAt(clock: TestClock, at: string): Promise<void> {
      clock.set(at);
      expect(await tickHandler(TICK, lambdaContext("vor-power-tick"))).toMatchObject({
        status: "done",
      });
    }

    const acceptedFor = (sshd: Sshd, host: string) =>
      sshd
        .log()
        .split("\n")
        .filter((line) =>
          new RegExp(`Accepted publickey for ${user.name} .*ID vor-power/${host}/`).test(line),
        ).length;

    /** Tags that would say a failure was counted or a host was blocked. */
    const countedTags = (view: HostView) =>
      Object.fromEntries(
        ["vor:attempts", "vor:failure", "vor:blocked", "vor:stop-cause"].flatMap((key) =>
          view.tags[key] === undefined ? [] : [[key, view.tags[key]]],
        ),
      );

    it("a submitted run starts a host, its running event bootstraps it over SSH, the playpen passes, the next tick tags it ready", async () => {
      live.midtier.answer({ kind: "json", body: [] });
      const sshd = await hostWith(MARKER.content);
      const [spare = "", host = ""] = await launchHosts(live.ec2, "path", [
        // the other off host is newer: the oldest off host is started first
        { state: "stopped", tags: { ...OFF, "vor:since": "2026-03-02T00:00:00Z" } },
        { state: "stopped", tags: { ...OFF, ...sshTag(sshd.port) } },
      ]);
      const { clock, at } = clockNow();
      const deps = await install("path", clock);
      const startsBefore = live.recorder.callsOf("StartInstances").length;

      // 1. The run-submitted event (an SQS record) starts one host.
      const template = SQS.Records[0] as SQSRecord;
      expect(
        await runSubmittedHandler(
          {
            Records: [
              {
                ...template,
                messageId: "m-0",
                body: JSON.stringify({ runId: "r-1", pool: "path", hosts: 1 }),
              },
            ],
          },
          lambdaContext("vor-power-run-submitted"),
        ),
      ).toEqual({ batchItemFailures: [] });

      const started = await readHost(live.ec2, host);
      expect(started.state).toBe("running"); // moto's StartInstances: running at once
      expect(started.tags).toMatchObject({ "vor:lifecycle": "starting", "vor:since": at(0) });
      expect((await readHost(live.ec2, spare)).state).toBe("stopped");
      expect(
        live.recorder
          .callsOf("StartInstances")
          .slice(startsBefore)
          .flatMap((c) => c.instanceIds),
      ).toEqual([host]);
      const afterSubmit = await deps.ports.store.readPool("path");
      expect(afterSubmit.submitted.map((r) => r.runId)).toEqual(["r-1"]);
      expect(Object.keys(afterSubmit.startRecords)).toEqual([host]);
      expect(acceptedFor(sshd, host)).toBe(0);

      // 2. EC2's "running" event: the pool is reconciled, the host bootstraps at once.
      clock.set(at(0.5));
      await hostStateChangeHandler(
        { ...RUNNING, detail: { ...RUNNING.detail, "instance-id": host } },
        lambdaContext("vor-power-host-state-change"),
      );

      expect((await readHost(live.ec2, host)).tags).toMatchObject({
        "vor:lifecycle": "bootstrapping",
        "vor:since": at(0.5),
        "vor:attempt-at": at(0.5),
      });
      // Logged in with the certificate OpenBao signed for this host, then ran the playpen script in
      // the host's namespace: the tmpfs, writable by runAs, holding the midtier's marker.
      // Two logins, each with its own certificate: access (id -un), then the playpen script.
      expect(acceptedFor(sshd, host)).toBe(2);
      const results = (await deps.ports.store.readPool("path")).bootstrapResults[host] ?? [];
      expect(results.map((r) => [r.step, r.outcome, r.code, r.reference])).toEqual([
        ["playpen", "passed", `playpen:${playpen}:ok`, false],
        ["all", "passed", "ok", false],
      ]);
      expect((await readHost(live.ec2, host)).tags["vor:lifecycle"]).toBe("bootstrapping");

      // 3. The next tick reads the pass: ready, ready-at now, the results cleared.
      await tickAt(clock, at(1));

      const ready = await readHost(live.ec2, host);
      expect(ready).toMatchObject({
        state: "running",
        tags: { "vor:lifecycle": "ready", "vor:ready-at": at(1), "vor:since": at(1) },
      });
      expect(countedTags(ready)).toEqual({});
      expect((await deps.ports.store.readPool("path")).bootstrapResults[host]).toBeUndefined();
      expect((await readHost(live.ec2, spare)).state).toBe("stopped");
    }, 120_000);

    it("its failure twin: a wrong marker beside a ready host whose reference check passes counts attempts with backoff, then quarantines and alerts", async () => {
      live.midtier.answer({ kind: "json", body: [] });
      const inbox = await subscribeInbox(live, "inbox-twin");
      const good = await hostWith(MARKER.content);
      const wrong = await hostWith("vor-share-9"); // another file system's marker
      const { clock, at } = clockNow();
      const [ready = "", host = ""] = await launchHosts(live.ec2, "twin", [
        {
          state: "running",
          tags: { "vor:lifecycle": "ready", "vor:ready-at": at(-60), ...sshTag(good.port) },
        },
        {
          state: "running",
          tags: { "vor:lifecycle": "bootstrapping", "vor:since": at(0), ...sshTag(wrong.port) },
        },
      ]);
      const deps = await install("twin", clock, { maxBootstrapAttempts: 4 });
      const code = `playpen:${playpen}:marker`;

      // Ticks every half minute: each attempt's result is classified on the tick after it, and
      // the attempts' instants (vor:attempt-at) show the backoff.
      const seen: HostView[] = [];
      const attemptsAt: string[] = [];
      let referencePassed = false;
      for (let half = 0; half <= 20; half++) {
        await tickAt(clock, at(half / 2));
        const view = await readHost(live.ec2, host);
        seen.push(view);
        const attemptAt = view.tags["vor:attempt-at"];
        if (attemptAt !== undefined && attemptsAt.at(-1) !== attemptAt) attemptsAt.push(attemptAt);
        const readyResults = (await deps.ports.store.readPool("twin")).bootstrapResults[ready];
        referencePassed ||= (readyResults ?? []).some(
          (r) => r.reference && r.step === "playpen" && r.code === `playpen:${playpen}:ok`,
        );
        if (view.tags["vor:lifecycle"] === "failed") break;
      }

      // The first failure had nothing to compare with: blocked, nothing counted, and the check ran
      // again on the ready host as a reference (over SSH too), where it passed.
      expect(seen[1]?.tags).toMatchObject({
        "vor:lifecycle": "bootstrapping",
        "vor:blocked": code,
      });
      expect(seen[1]?.tags["vor:attempts"]).toBeUndefined();
      expect(referencePassed).toBe(true);
      expect(acceptedFor(good, ready)).toBeGreaterThanOrEqual(1);
      // Then host-caused: one attempt counted per failure, the block lifted, the failure named.
      expect(seen[3]?.tags).toMatchObject({ "vor:attempts": "1", "vor:failure": code });
      expect(seen[3]?.tags["vor:blocked"]).toBeUndefined();
      expect(seen.map((v) => v.tags["vor:attempts"] ?? "0")).toContain("3");
      // Attempts at 0 (blocked, uncounted), then 1, 2, 4 ticks apart after counted failures 1, 2, 3.
      expect(attemptsAt).toEqual([at(0), at(1), at(2), at(4), at(8)]);
      // Five bootstraps, each two logins (access, then the playpen script), each certificate its own.
      expect(acceptedFor(wrong, host)).toBe(10);
      // The fourth failure quarantines it: stopping (stop-cause quarantine) and stopped at once,
      // then failed with the reason once stopped.
      expect(seen.map((v) => v.tags["vor:lifecycle"]).slice(16)).toEqual([
        "bootstrapping",
        "stopping",
        "failed",
      ]);
      expect(seen[17]?.state).toBe("stopped");
      expect(seen[17]?.tags).toMatchObject({
        "vor:stop-cause": "quarantine",
        "vor:failure": code,
      });
      const failed = await readHost(live.ec2, host);
      expect(failed).toMatchObject({
        state: "stopped",
        tags: { "vor:lifecycle": "failed", "vor:failure": code },
      });
      expect(live.recorder.callsOf("StopInstances").flatMap((c) => c.instanceIds)).toContain(host);
      // The operator heard of it, naming the host and the failure.
      expect(await inbox.take()).toEqual([
        {
          subject: "vor-power alert: failed",
          message: `twin: ${host} quarantined: ${code}`,
          key: `failed:${host}:${at(8.5)}`,
        },
      ]);
      // The ready host was untouched: still ready, nothing counted on it.
      const after = await readHost(live.ec2, ready);
      expect(after).toMatchObject({ state: "running", tags: { "vor:lifecycle": "ready" } });
      expect(countedTags(after)).toEqual({});
    }, 180_000);

    it("a shared-storage outage: the reference fails too, so hosts are blocked, nothing counted; past blockedTimeout the pool is protected and its blocked hosts stop but the probe (the probe too at desired 0); protection holds until protectionCooldown", async () => {
      // A run needs three hosts: desired stays 3, so one blocked host is kept as the probe.
      live.midtier.answer({
        kind: "json",
        body: [{ id: "r-out", status: "queued", pool: "outage", hosts: 3, hostIds: [] }],
      });
      const inbox = await subscribeInbox(live, "inbox-outage");
      const readySsh = await hostWith(MARKER.content);
      // The new hosts see the shared file system as it is now: mounted, its content gone.
      const newSsh = await hostWith(undefined);
      const startedSsh = await hostWith(undefined);
      const { clock, at } = clockNow();
      const [ready = "", fresh = "", older = "", newer = ""] = await launchHosts(
        live.ec2,
        "outage",
        [
          {
            state: "running",
            tags: { "vor:lifecycle": "ready", "vor:ready-at": at(-60), ...sshTag(readySsh.port) },
          },
          {
            state: "running",
            tags: { "vor:lifecycle": "bootstrapping", "vor:since": at(0), ...sshTag(newSsh.port) },
          },
          { state: "stopped", tags: { ...OFF, ...sshTag(startedSsh.port) } },
          // never to start: no sshd behind it
          { state: "stopped", tags: { ...OFF, "vor:since": "2026-03-02T00:00:00Z" } },
        ],
      );
      // The outage reaches the ready host too: its marker is gone.
      await readySsh.inNamespace(`rm ${shellQuote(join(playpen, MARKER.file))}`);
      const deps = await install("outage", clock, {
        blockedTimeout: "10m",
        protectionCooldown: "20m",
      });
      const code = `playpen:${playpen}:marker`;
      const startsBefore = live.recorder.callsOf("StartInstances").length;

      const views: Record<string, HostView>[] = [];
      let referenceFailed = false;
      for (let minute = 0; minute <= 14; minute++) {
        await tickAt(clock, at(minute));
        const [r, f, o, n] = await readHosts(live.ec2, [ready, fresh, older, newer]);
        views.push({
          ready: r as HostView,
          fresh: f as HostView,
          older: o as HostView,
          newer: n as HostView,
        });
        const results = (await deps.ports.store.readPool("outage")).bootstrapResults[ready] ?? [];
        referenceFailed ||= results.some(
          (x) => x.reference && x.outcome === "failed" && x.code === code,
        );
      }
      const control = await deps.ports.store.readPool("outage");
      const blocked = {
        state: "running",
        tags: { "vor:lifecycle": "bootstrapping", "vor:blocked": code },
      };

      // The run wanted three hosts: the oldest off host was started, never the newer one.
      expect(
        live.recorder
          .callsOf("StartInstances")
          .slice(startsBefore)
          .flatMap((c) => c.instanceIds),
      ).toEqual([older]);
      expect(views[0]?.older).toMatchObject({ tags: { "vor:lifecycle": "starting" } });
      // The new host's failure had no other result to compare: blocked, and the check re-ran on
      // the ready host as a reference, where it failed too (over SSH, in the ready host's namespace).
      expect(views[1]?.fresh).toMatchObject(blocked);
      expect(referenceFailed).toBe(true);
      expect(acceptedFor(readySsh, ready)).toBeGreaterThanOrEqual(1);
      // The host started next failed the same way: the shared storage's, so blocked at once.
      expect(views[2]?.older).toMatchObject(blocked);
      // Nothing counted, nobody quarantined, at any tick; the ready host stays ready.
      for (const view of views) {
        for (const host of [view.fresh, view.older, view.newer]) {
          expect(host?.tags["vor:attempts"]).toBeUndefined();
          expect(host?.tags["vor:failure"]).toBeUndefined();
          expect(host?.tags["vor:lifecycle"]).not.toBe("failed");
          expect(host?.tags["vor:stop-cause"]).not.toBe("quarantine");
        }
        expect(view.ready).toMatchObject({ state: "running", tags: { "vor:lifecycle": "ready" } });
        expect(view.newer).toMatchObject({ state: "stopped", tags: { "vor:lifecycle": "off" } });
      }
      // Blocked from the plan after the first block; until blockedTimeout both keep running.
      expect(control.marks.blockedSince).toBe(at(2));
      for (const view of views.slice(2, 12)) {
        expect(view.fresh).toMatchObject(blocked);
        expect(view.older).toMatchObject(blocked);
      }
      // blockedTimeout (10m) later: protected, with the reason, and alerted once.
      expect(control.protection).toEqual({
        since: at(12),
        cause: "blocked",
        reason: `bootstrap blocked 10m by ${code} (blockedTimeout 10m)`,
      });
      expect(await inbox.take()).toEqual([
        {
          subject: "vor-power alert: protected",
          message: `outage: protected (no starts): bootstrap blocked 10m by ${code} (blockedTimeout 10m)`,
          key: "protected",
        },
      ]);
      // All blocked hosts but one stop, nothing counted; the probe runs on while the run wants hosts.
      const atTimeout = views[12] ?? {};
      const stopped = [fresh, older].filter(
        (id) => atTimeout[id === fresh ? "fresh" : "older"]?.state === "stopped",
      );
      expect(stopped).toHaveLength(1);
      const stoppedKey = stopped[0] === fresh ? "fresh" : "older";
      const probeKey = stoppedKey === "fresh" ? "older" : "fresh";
      const probeId = probeKey === "fresh" ? fresh : older;
      expect(atTimeout[stoppedKey]).toMatchObject({
        state: "stopped",
        tags: { "vor:lifecycle": "stopping", "vor:stop-cause": "blocked" },
      });
      expect(views[14]?.[stoppedKey]).toMatchObject({
        state: "stopped",
        tags: { "vor:lifecycle": "off" },
      });
      expect(views[14]?.[stoppedKey]?.tags["vor:blocked"]).toBeUndefined();
      for (const view of views.slice(12)) expect(view[probeKey]).toMatchObject(blocked);
      // Protected: capacity (2) is below desired (3), yet no host starts.
      expect(views[14]?.newer?.state).toBe("stopped");

      // The run is gone: with desired 0 the probe is stopped too, nothing counted.
      live.midtier.answer({ kind: "json", body: [] });
      await tickAt(clock, at(15));
      expect(await readHost(live.ec2, probeId)).toMatchObject({
        state: "stopped",
        tags: { "vor:lifecycle": "stopping", "vor:stop-cause": "blocked" },
      });
      await tickAt(clock, at(16));
      for (const view of await readHosts(live.ec2, [fresh, older])) {
        expect(view).toMatchObject({ state: "stopped", tags: { "vor:lifecycle": "off" } });
        expect(view.tags["vor:attempts"]).toBeUndefined();
        expect(view.tags["vor:failure"]).toBeUndefined();
        expect(view.tags["vor:blocked"]).toBeUndefined();
      }
      // No host is blocked now, but none passed: the protection holds until protectionCooldown,
      // so a run arriving meanwhile starts no host into the same fault.
      live.midtier.answer({
        kind: "json",
        body: [{ id: "r-out-2", status: "queued", pool: "outage", hosts: 2, hostIds: [] }],
      });
      for (const minute of [17, 20, 31]) {
        await tickAt(clock, at(minute));
        expect((await deps.ports.store.readPool("outage")).protection?.since).toBe(at(12));
      }
      expect(
        live.recorder
          .callsOf("StartInstances")
          .slice(startsBefore)
          .flatMap((c) => c.instanceIds),
      ).toEqual([older]);
      // protectionCooldown (20m) after it began: lifted, and a host starts as the next probe: the
      // one off longest, not one of those the block stopped.
      await tickAt(clock, at(32));
      expect((await deps.ports.store.readPool("outage")).protection).toBeNull();
      expect(
        live.recorder
          .callsOf("StartInstances")
          .slice(startsBefore)
          .flatMap((c) => c.instanceIds),
      ).toEqual([older, newer]);
    }, 240_000);

    it("a slow boot: unreachable within bootGrace counts nothing; once sshd is up the host becomes ready", async () => {
      live.midtier.answer({ kind: "json", body: [] });
      const port = await freePort(); // nothing listens there yet
      const { clock, at } = clockNow();
      const [host = ""] = await launchHosts(live.ec2, "slow", [
        {
          state: "running",
          tags: { "vor:lifecycle": "bootstrapping", "vor:since": at(0), ...sshTag(port) },
        },
      ]);
      const deps = await install("slow", clock);

      const booting: HostView[] = [];
      const unreachable: string[] = [];
      for (let minute = 0; minute <= 3; minute++) {
        await tickAt(clock, at(minute));
        booting.push(await readHost(live.ec2, host));
        const results = (await deps.ports.store.readPool("slow")).bootstrapResults[host] ?? [];
        unreachable.push(results.map((r) => `${r.step}:${r.outcome}:${r.code}`).join(","));
      }

      // Two attempts, each a minute after the last; each failure read as still booting (the
      // results cleared on the next tick), nothing counted, nothing blocked.
      expect(unreachable).toEqual([
        "access:failed:ssh:unreachable",
        "",
        "access:failed:ssh:unreachable",
        "",
      ]);
      for (const view of booting) {
        expect(view).toMatchObject({
          state: "running",
          tags: { "vor:lifecycle": "bootstrapping" },
        });
        expect(countedTags(view)).toEqual({});
      }
      expect(booting.map((v) => v.tags["vor:attempt-at"])).toEqual([at(0), at(0), at(2), at(2)]);

      // Three simulated minutes after it started, sshd is up (the playpen mounted, the marker in it).
      const sshd = await hostWith(MARKER.content, port);
      await tickAt(clock, at(4));
      expect(acceptedFor(sshd, host)).toBe(2);
      await tickAt(clock, at(5));

      const ready = await readHost(live.ec2, host);
      expect(ready).toMatchObject({
        state: "running",
        tags: { "vor:lifecycle": "ready", "vor:ready-at": at(5) },
      });
      expect(countedTags(ready)).toEqual({});
    }, 120_000);
  },
);
