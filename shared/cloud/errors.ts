// The errors cloud adapters throw at the ComputeProvider port (STYLE.md, "Errors"): the handler
// alone decides what they mean (transient: let the platform retry; permanent: log, count, alert).

/**
 * A failure that may pass by itself: throttling still refused after the SDK's retries, a 5xx, a
 * timeout or a dropped connection. Retrying later (the next tick, or the platform's retry) is the
 * remedy. `cause` holds the SDK's or the network's original error.
 */
export class TransientError extends Error {
  /** @param options.cause the original error, always passed */
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = "TransientError";
  }
}

/**
 * A failure that retrying will not fix: access denied (the message names the missing IAM action),
 * a host that does not exist, an invalid request. A person must act. `cause` holds the SDK's
 * original error.
 */
export class PermanentError extends Error {
  /** @param options.cause the original error, always passed */
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = "PermanentError";
  }
}
