/**
 * Thrown by `StateStore.updatePool` when the lease it was given is no longer the pool's current
 * lease at `now`: it expired, or another invocation took the pool over with a larger token, or
 * it was released. Nothing was written; the caller must stop acting on the pool. `cause` holds
 * the backend's refusal when there is one (for example DynamoDB's conditional-check failure).
 */
export class LeaseLostError extends Error {
  /** @param options.cause the backend's refusal, if the adapter got one */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LeaseLostError";
  }
}

/**
 * Thrown by `StateStore.recordBootstrapResults` when the bootstrap claim it was given is no longer
 * held at `now`: it expired, was revoked by the planner (the host is being stopped or
 * quarantined), was released, or another bootstrapper claimed the host with a larger token.
 * Nothing was written; the late results are dropped on purpose. `cause` holds the backend's
 * refusal when there is one.
 */
export class ClaimLostError extends Error {
  /** @param options.cause the backend's refusal, if the adapter got one */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClaimLostError";
  }
}
