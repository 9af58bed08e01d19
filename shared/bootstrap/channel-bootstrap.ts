import type { ComputeProvider } from "../cloud/compute-provider.ts";
import type { Config } from "../config/index.ts";
import type { BootstrapResult, HostSnapshot } from "../plan/snapshot.ts";
import { ClaimLostError } from "../state/errors.ts";
import type { StateStore } from "../state/state-store.ts";
import type { BootstrapStep } from "./bootstrap-step.ts";
import { AccessFault, type HostChannel, type HostTarget } from "./host-channel.ts";

// The bootstrap step over a real channel (DESIGN.md, "Bootstrap"): claim the host, prove access
// through the pool's channel (SSH with a Vault-signed certificate, or SSM), run the checks, and
// record one verdict for the planner to classify on its next plan. The step decides nothing: a
// failure is recorded with its code (booting, host-caused or outside is the planner's call).

/** What proves access: the command runs, as the bootstrap user, and says who it ran as. */
export const ACCESS_SCRIPT = "id -un";

/**
 * A check run after access is proved (the playpen checks): its results in order, the verdict last
 * (a failure, or a pass).
 */
export interface HostCheck {
  run(
    host: HostTarget,
    channel: HostChannel,
    options: { timeoutMs: number; runId: string; reference: boolean; at: string },
  ): Promise<BootstrapResult[]>;
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
      const results = await this.#steps(pool, host, options.reference, now, timeoutMs);
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

  async #steps(
    pool: string,
    hostId: string,
    reference: boolean,
    now: Date,
    timeoutMs: number,
  ): Promise<BootstrapResult[]> {
    const at = now.toISOString();
    const base = { at, reference };
    const found = (await this.#options.compute.listHosts(pool)).find((h) => h.id === hostId);
    // Not running (stopped meanwhile, or not up yet): nothing to say; the planner sees its state.
    if (found?.cloudState !== "running") return [];
    const target = targetOf(pool, found);
    const channel = this.#options.channelFor(pool);
    const runId = `vor-power/${hostId}/${at}`;

    try {
      const access = await channel.run(target, ACCESS_SCRIPT, { timeoutMs, runId });
      if (access.exitCode !== 0)
        return [{ ...base, outcome: "failed", step: "access", code: "access:command-failed" }];
    } catch (error) {
      return [{ ...base, outcome: "failed", step: "access", code: codeOf(error) }];
    }

    const results: BootstrapResult[] = [];
    for (const check of this.#options.checks) {
      let found: BootstrapResult[];
      try {
        found = await check.run(target, channel, { timeoutMs, runId, reference, at });
      } catch (error) {
        found = [{ ...base, outcome: "failed", step: "check", code: codeOf(error) }];
      }
      results.push(...found);
      if (found.at(-1)?.outcome !== "passed") return results;
    }
    results.push({ ...base, outcome: "passed", step: "all", code: "ok" });
    return results;
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

/** An AccessFault's code; anything else is the channel's own failure: an outside fault. */
const codeOf = (error: unknown): string =>
  error instanceof AccessFault ? error.code : "channel:error";
