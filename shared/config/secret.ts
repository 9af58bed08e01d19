import { z } from "zod";

/**
 * Where a secret lives. Secrets are never written into the config: an inline value would end up in
 * repositories, logs and env dumps. Resolving a reference is the wiring module's job (I/O).
 */
export type SecretRef = { fromSsm: string } | { fromEnv: string };

const FIX =
  "fix: keep the value in SSM Parameter Store (SecureString) and write { fromSsm: /vor-power/<name> }, or in the environment and write { fromEnv: NAME }";

/** A secret reference; an inline string is an error that names the field but never shows the value. */
export const secretRefSchema = z
  .strictObject(
    {
      fromSsm: z
        .string()
        .regex(/^\/?[A-Za-z0-9_.\-/]+$/, {
          error: (issue) =>
            `expected an SSM parameter name such as /vor-power/rabbitmq, found ${JSON.stringify(issue.input)}; fix: use letters, digits and _ . - /`,
        })
        .optional(),
      fromEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
          error: (issue) =>
            `expected an environment variable name such as VOR_RABBITMQ_PASSWORD, found ${JSON.stringify(issue.input)}; fix: use letters, digits and _`,
        })
        .optional(),
    },
    {
      error: (issue) =>
        issue.code === "invalid_type"
          ? `expected a secret reference { fromSsm: <parameter> } or { fromEnv: <VARIABLE> }, found ${typeof issue.input === "string" ? "an inline secret (value not shown)" : issue.input === undefined ? "nothing" : typeof issue.input}; ${FIX}`
          : undefined,
    },
  )
  .superRefine((ref, ctx) => {
    const count = (ref.fromSsm === undefined ? 0 : 1) + (ref.fromEnv === undefined ? 0 : 1);
    if (count !== 1) {
      ctx.addIssue({
        code: "custom",
        message: `expected exactly one of fromSsm or fromEnv, found ${count === 0 ? "neither" : "both"}; ${FIX}`,
      });
    }
  })
  .transform((ref): SecretRef =>
    ref.fromSsm !== undefined ? { fromSsm: ref.fromSsm } : { fromEnv: ref.fromEnv ?? "" },
  );
