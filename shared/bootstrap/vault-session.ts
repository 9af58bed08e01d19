// The Vault token vor-power holds between calls, and when to refresh it. Pure: the signer passes
// the time in, so tests drive a token through its life without waiting.

/** A token from an AppRole login (or its renewal), with its lease as Vault gave it. */
export interface VaultSession {
  token: string;
  /** when the lease below began, by the signer's clock */
  obtainedAtMs: number;
  /** Vault's lease_duration; 0 means the token never expires */
  leaseMs: number;
  renewable: boolean;
}

/**
 * Refresh at two thirds of the lease: far enough from its end that a slow or retried refresh
 * still finishes before Vault expires the token, and late enough that a Lambda warm for a few
 * minutes logs in once (a 20 minute token is refreshed after 13 minutes and 20 seconds).
 */
export const REFRESH_FRACTION = 2 / 3;

/** When the signer refreshes the token (renew, or log in again). */
export function refreshAtMs(session: VaultSession): number {
  return session.leaseMs === 0
    ? Number.POSITIVE_INFINITY
    : session.obtainedAtMs + session.leaseMs * REFRESH_FRACTION;
}

/** When Vault expires the token (by the signer's clock). */
export function expiresAtMs(session: VaultSession): number {
  return session.leaseMs === 0 ? Number.POSITIVE_INFINITY : session.obtainedAtMs + session.leaseMs;
}

/**
 * Whether a renewal gained time. A token at its max TTL still renews, but Vault answers only the
 * time it has left: renewing it again on every call until it dies would be pointless, so the
 * signer logs in instead. One second of slack absorbs the rounding of lease_duration.
 */
export function renewalExtends(before: VaultSession, after: VaultSession): boolean {
  return expiresAtMs(after) > expiresAtMs(before) + 1000;
}

/**
 * The session in a login or renew-self answer (`auth.client_token`, `auth.lease_duration` in
 * seconds, `auth.renewable`), or undefined when the answer lacks them.
 */
export function readSession(answer: unknown, nowMs: number): VaultSession | undefined {
  const auth = isRecord(answer) ? answer["auth"] : undefined;
  if (!isRecord(auth)) return undefined;
  const token = auth["client_token"];
  const leaseSeconds = auth["lease_duration"];
  const renewable = auth["renewable"];
  if (typeof token !== "string" || token === "") return undefined;
  if (typeof leaseSeconds !== "number" || !Number.isFinite(leaseSeconds) || leaseSeconds < 0) {
    return undefined;
  }
  return {
    token,
    obtainedAtMs: nowMs,
    leaseMs: leaseSeconds * 1000,
    renewable: renewable === true,
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
