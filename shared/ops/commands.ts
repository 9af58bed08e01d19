import { z } from "zod";

// Ops commands (DESIGN.md, "Three ways in": manual ops; issue 11): the same JSON from the CLI,
// the ops Lambda's function URL (IAM auth) and a direct invoke. `by` and `why` are the audit trail.

const audit = {
  /** who asks (the CLI: the OS user; the function URL: the caller's IAM principal) */
  by: z.string().min(1).max(200),
  /** why, for the audit line and the host's vor:reason */
  why: z.string().min(1).max(500),
};
const pool = z.string().min(1);
const host = z.string().min(1);

export const opsCommandSchema = z.discriminatedUnion("command", [
  z.strictObject({ command: z.literal("status"), pool: pool.optional() }),
  z.strictObject({ command: z.literal("plan"), pool: pool.optional() }),
  z.strictObject({
    command: z.literal("start"),
    pool,
    hosts: z.number().int().min(1).max(1000).default(1),
    ...audit,
  }),
  z.strictObject({
    command: z.literal("stop"),
    pool,
    host,
    force: z.boolean().default(false),
    ...audit,
  }),
  z.strictObject({
    command: z.literal("hold"),
    pool,
    hosts: z.number().int().min(0).max(1000),
    until: z.iso.datetime({ offset: true }),
    ...audit,
  }),
  z.strictObject({ command: z.literal("release"), pool, ...audit }),
  z.strictObject({ command: z.literal("exclude"), pool, host, ...audit }),
  z.strictObject({ command: z.literal("include"), pool, host, ...audit }),
  z.strictObject({ command: z.literal("pause"), pool, ...audit }),
  z.strictObject({ command: z.literal("resume"), pool, ...audit }),
  z.strictObject({ command: z.literal("resume-pool"), pool, ...audit }),
  z.strictObject({ command: z.literal("reset"), pool, host, ...audit }),
]);
export type OpsCommand = z.output<typeof opsCommandSchema>;

/** What an ops command answers: an HTTP-like status (the function URL uses it) and a JSON body. */
export interface OpsResult {
  status: 200 | 202 | 400 | 404 | 409 | 500;
  body: Record<string, unknown>;
}
