import type { ComputeProvider } from "../cloud/compute-provider.ts";
import type { Config } from "../config/index.ts";
import type { StateStore } from "../state/state-store.ts";
import type { BootstrapStep } from "./bootstrap-step.ts";
import type { Trace } from "./bootstrap-trace.ts";
import { ChannelBootstrap, type Diagnosis, type HostCheck } from "./channel-bootstrap.ts";
import type { HostChannel } from "./host-channel.ts";
import { SkipBootstrap } from "./skip-bootstrap.ts";

// The bootstrap step of a live installation: each pool's hosts go through the channel its config
// names (`pools.<name>.channel`): SSH with a Vault-signed certificate, or SSM Run Command. A
// channel is built the first time a host needs it and kept for the invocation (the Vault token
// cache lives in it), so a tick that bootstraps nothing never loads ssh2 or node-vault. A pool
// whose channel is not configured (SSH without bootstrap.vault and bootstrap.ssh, which config
// check rejects) keeps the old answer, `skipped` with channel:none: blocked, never ready.

export type ChannelKind = Config["pools"][string]["channel"];

/** Builds a channel; the wiring passes factories that import their adapters on first use. */
export type ChannelFactory = () => Promise<HostChannel>;

export interface PoolBootstrapOptions {
  config: Config;
  store: StateStore;
  compute: Pick<ComputeProvider, "listHosts">;
  /** the factories of the channels that are configured; a kind without one is not */
  channels: Partial<Record<ChannelKind, ChannelFactory>>;
  /** the checks after access (issue 13's playpen checks); empty: access alone is proved */
  checks: readonly HostCheck[];
  /** who claims hosts (shown in the state store) */
  owner: string;
  log: (line: string) => void;
}

export class PoolBootstrap implements BootstrapStep {
  readonly #options: PoolBootstrapOptions;
  readonly #steps = new Map<ChannelKind, Promise<ChannelBootstrap>>();
  #skip: SkipBootstrap | undefined;

  constructor(options: PoolBootstrapOptions) {
    this.#options = options;
  }

  /** The pool's channel kind, when that channel is configured. */
  channelOf(pool: string): ChannelKind | undefined {
    const kind = this.#options.config.pools[pool]?.channel;
    return kind !== undefined && this.#options.channels[kind] !== undefined ? kind : undefined;
  }

  async begin(
    pool: string,
    host: string,
    options: { reference: boolean },
    now: Date,
  ): Promise<void> {
    const kind = this.channelOf(pool);
    const step =
      kind === undefined
        ? (this.#skip ??= new SkipBootstrap(this.#options.store, this.#options.owner))
        : await this.#stepFor(kind);
    await step.begin(pool, host, options, now);
  }

  /**
   * The steps `begin` runs, through the same channel, claiming and recording nothing (`vor-power
   * bootstrap --host`). A pool whose channel is not configured has nothing to run: undefined.
   */
  async diagnose(
    pool: string,
    host: string,
    options: { reference: boolean; trace: Trace },
    now: Date,
  ): Promise<Diagnosis | undefined> {
    const kind = this.channelOf(pool);
    if (kind === undefined) return undefined;
    return (await this.#stepFor(kind)).diagnose(pool, host, options, now);
  }

  /** One ChannelBootstrap per channel kind, built once; a failed build is tried again next time. */
  #stepFor(kind: ChannelKind): Promise<ChannelBootstrap> {
    let step = this.#steps.get(kind);
    if (step === undefined) {
      const factory = this.#options.channels[kind];
      if (factory === undefined) throw new TypeError(`no ${kind} channel is configured`);
      const { config, store, compute, checks, owner, log } = this.#options;
      step = factory().then(
        (channel) =>
          new ChannelBootstrap({
            config,
            store,
            compute,
            channelFor: () => channel,
            checks,
            owner,
            log,
          }),
      );
      step.catch(() => this.#steps.delete(kind));
      this.#steps.set(kind, step);
    }
    return step;
  }
}
