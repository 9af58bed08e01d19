import type { StateStore } from "../state/state-store.ts";
import type { BootstrapStep } from "./bootstrap-step.ts";

const CLAIM_MS = 60_000;

/**
 * The step for a pool with no configured channel (pool-bootstrap.ts): it claims the host and
 * records a `skipped` result (code channel:none), which the planner treats as an outside fault
 * (blocked, nothing counted), so no host is ever marked ready without proof.
 */
export class SkipBootstrap implements BootstrapStep {
  private readonly store: StateStore;
  private readonly owner: string;

  constructor(store: StateStore, owner: string) {
    this.store = store;
    this.owner = owner;
  }

  async begin(
    pool: string,
    host: string,
    options: { reference: boolean },
    now: Date,
  ): Promise<void> {
    const claim = await this.store.claimHost(pool, host, this.owner, now, CLAIM_MS);
    if (!claim) return; // another bootstrapper has it
    try {
      await this.store.recordBootstrapResults(claim, now, [
        {
          at: now.toISOString(),
          outcome: "skipped",
          step: "access",
          code: "channel:none",
          reference: options.reference,
        },
      ]);
    } finally {
      await this.store.releaseClaim(claim);
    }
  }
}
