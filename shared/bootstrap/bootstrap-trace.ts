import { AccessFault } from "./host-channel.ts";

// The bootstrap's steps as they happen, for a person asking why a host is not ready (`vor-power
// bootstrap --host`) and for the benchmark: each part (Vault login, signing, host verification,
// SSH login, the access command, each playpen) reports its outcome, code and duration. The
// recorded results (BootstrapResult) stay as they are: codes only, for the planner. A trace entry
// never holds a token, a secret id, a key or a certificate: only ids, names and fingerprints.

/** A fact shown next to a step: an address, a key id, a fingerprint, a TTL. */
export type TraceFact = string | number | boolean | readonly string[];

/** One of a playpen's checks in the script's order, and how it went. */
export interface PlaypenCheckOutcome {
  check: string;
  outcome: "passed" | "failed" | "not-run" | "not-configured";
}

export interface TraceEntry {
  /** host, vault-login, vault-sign, host-key, ssh-login, access, playpen, verdict */
  step: string;
  outcome: "passed" | "failed";
  /** `ok`, or the failure's code as the planner would see it (`ssh:key-refused`, `playpen:/p:marker`) */
  code: string;
  /** wall time of this step; absent where it is part of another's (one playpen of one script) */
  durationMs?: number;
  /** what a person needs to read the step: what it did, or why it failed */
  detail: string;
  facts: Readonly<Record<string, TraceFact>>;
  /** a playpen's checks (step `playpen` only) */
  checks?: readonly PlaypenCheckOutcome[];
}

/** Where a step reports; steps take it as an optional option, so the bootstrap runs unchanged. */
export type Trace = (entry: TraceEntry) => void;

/** The code of what a step threw: an AccessFault's, or the channel's own failure. */
export const faultCode = (error: unknown): string =>
  error instanceof AccessFault ? error.code : "channel:error";

/** A fault's message (AccessFaults carry no secrets by contract); anything else by its name only. */
export const faultDetail = (error: unknown): string =>
  error instanceof AccessFault
    ? error.message
    : `the channel failed (${error instanceof Error ? error.name : typeof error})`;

/** Milliseconds since `startedAt` (performance.now()), rounded to 0.1 ms. */
export const elapsedMs = (startedAt: number): number =>
  Math.round((performance.now() - startedAt) * 10) / 10;
