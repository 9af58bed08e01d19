import type { ComputeProvider } from "../cloud/compute-provider.ts";
import type { Config } from "../config/index.ts";
import type { BootstrapResult, HostSnapshot } from "../plan/snapshot.ts";
import { ClaimLostError } from "../state/errors.ts";
import type { StateStore } from "../state/state-store.ts";
import type { BootstrapStep } from "./bootstrap-step.ts";
import { elapsedMs, faultCode, faultDetail, type Trace } from "./bootstrap-trace.ts";
import type { HostChannel, HostTarget } from "./host-channel.ts";

// The bootstrap step over a real channel (DESIGN.md, "Bootstrap"): claim the host, prove access
// through the pool's channel (SSH with a Vault-signed certificate, or SSM), run the checks, and
// record one verdict for the planner to classify on its next plan. The step decides nothing: a
// failure is recorded with its code (booting, host-caused or outside is the planner's call).
// `diagnose` runs the same steps for `vor-power bootstrap --host`, claiming and recording nothing.

/** What proves access: the command runs, as the bootstrap user, and says who it ran as. */
export const ACCESS_SCRIPT = "id -un";

/**
 * A check run after access is proved (the playpen checks): its results in order, the verdict last
 * (a failure, or a pass).
 */
export interface HostCheck {
  run(host: HostTarget, channel: HostChannel, options: CheckOptions): Promise<BootstrapResult[]>;
}

export interface CheckOptions {
  timeoutMs: number;
  runId: string;
  reference: boolean;
  at: string;
  /** where the check reports each of its parts (a diagnosis); absent in the bootstrap step */
  trace?: Trace;
}

/** What `diagnose` found: the host as the cloud lists it, and the results it would record. */
export interface Diagnosis {
  /** undefined when the pool lists no such host */
  host: HostSnapshot | undefined;
  /** empty when the host is not running (nothing was tried) */
  results: BootstrapResult[];
}

export interface ChannelBootstrapOptions {
  config: Config;
  store: StateStore;
  compute: Pick<ComputeProvider, "listHosts">;
  /** the pool's channel (config `pools.<name>.channel`) */
  channelFor: (pool: string) => HostChannel;
  /** the checks after access; empty when no playpen is configured */
  checks: readonly HostCheck[];
  /** who claims hosts (shown in the state store) */
  owner: string;
  log: (line: string) => void;
}

export class ChannelBootstrap implements BootstrapStep {
  readonly #options: ChannelBootstrapOptions;

  constructor(options: ChannelBootstrapOptions) {
    this.#options = options;
  }

  /** Never throws for a host's or a service's fault: it is recorded as the host's result. */
  async begin(
    pool: string,
    host: string,
    options: { reference: boolean },
    now: Date,
  ): Promise<void> {
    const { store, owner, config, log } = this.#options;
    const timeoutMs = config.pools[pool]?.checkTimeout ?? 60_000;
    // The claim outlives every step's timeout, so it never lapses mid-check.
    const ttlMs = timeoutMs * (2 + this.#options.checks.length) + 30_000;
    const claim = await store.claimHost(pool, host, owner, now, ttlMs);
    if (!claim) return; // another bootstrapper has it
    try {
      const { results } = await this.#steps(pool, host, options.reference, now, timeoutMs);
      if (results.length === 0) return;
      await store.recordBootstrapResults(claim, now, results);
      const verdict = results.at(-1);
      log(
        `bootstrap of ${host} (pool ${pool}${options.reference ? ", reference" : ""}): ${verdict?.outcome ?? "?"} at ${verdict?.step ?? "?"} (${verdict?.code ?? "?"})`,
      );
    } catch (error) {
      // A revoked claim: the planner stopped or quarantined the host meanwhile; the result is moot.
      if (error instanceof ClaimLostError) {
        log(`bootstrap of ${host} (pool ${pool}): claim lost (${error.message}); result dropped`);
        return;
      }
      throw error;
    } finally {
      await store.releaseClaim(claim);
    }
  }

  /**
   * The bootstrap's steps for one host, each reported to `trace` as it ends, without claiming the
   * host or recording anything: what `begin` would record, for a person to read.
   */
  async diagnose(
    pool: string,
    host: string,
    options: { reference: boolean; trace: Trace },
    now: Date,
  ): Promise<Diagnosis> {
    const timeoutMs = this.#options.config.pools[pool]?.checkTimeout ?? 60_000;
    return this.#steps(pool, host, options.reference, now, timeoutMs, options.trace);
  }

  async #steps(
    pool: string,
    hostId: string,
    reference: boolean,
    now: Date,
    timeoutMs: number,
    trace?: Trace,
  ): Promise<Diagnosis> {
    const at = now.toISOString();
    const base = { at, reference };
    const host = (await this.#options.compute.listHosts(pool)).find((h) => h.id === hostId);
    // Not running (stopped meanwhile, or not up yet): nothing to say; the planner sees its state.
    if (host?.cloudState !== "running") return { host, results: [] };
    const target = targetOf(pool, host);
    const channel = this.#options.channelFor(pool);
    const runId = `vor-power/${hostId}/${at}`;
    const withTrace = trace === undefined ? {} : { trace };

    const startedAt = performance.now();
    const access = (outcome: "passed" | "failed", code: string, detail: string) =>
      trace?.({
        step: "access",
        outcome,
        code,
        durationMs: elapsedMs(startedAt),
        detail,
        facts: { command: ACCESS_SCRIPT },
      });
    try {
      const answer = await channel.run(target, ACCESS_SCRIPT, { timeoutMs, runId, ...withTrace });
      if (answer.exitCode !== 0) {
        access("failed", "access:command-failed", `${ACCESS_SCRIPT} exited ${answer.exitCode}`);
        return {
          host,
          results: [{ ...base, outcome: "failed", step: "access", code: "access:command-failed" }],
        };
      }
      access("passed", "ok", `${ACCESS_SCRIPT} answered ${answer.stdout.trim().slice(0, 64)}`);
    } catch (error) {
      access("failed", faultCode(error), faultDetail(error));
      return {
        host,
        results: [{ ...base, outcome: "failed", step: "access", code: faultCode(error) }],
      };
    }

    const results: BootstrapResult[] = [];
    for (const check of this.#options.checks) {
      let found: BootstrapResult[];
      try {
        found = await check.run(target, channel, { timeoutMs, runId, reference, at, ...withTrace });
      } catch (error) {
        trace?.({
          step: "check",
          outcome: "failed",
          code: faultCode(error),
          detail: faultDetail(error),
          facts: {},
        });
        found = [{ ...base, outcome: "failed", step: "check", code: faultCode(error) }];
      }
      results.push(...found);
      if (found.at(-1)?.outcome !== "passed") return { host, results };
    }
    results.push({ ...base, outcome: "passed", step: "all", code: "ok" });
    return { host, results };
  }
}

/** The channel's view of a host from its snapshot. */
export function targetOf(pool: string, host: HostSnapshot): HostTarget {
  return {
    id: host.id,
    pool,
    ...(host.address === undefined ? {} : { privateAddress: host.address }),
    ...(host.publicAddress === undefined ? {} : { publicAddress: host.publicAddress }),
    tags: host.tags,
  };
}
