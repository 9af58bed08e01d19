import { GetParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import type { SecretRef } from "./secret.ts";

/** A secret reference that could not be resolved; names the field and the reference, never a value. */
export class SecretError extends Error {
  override name = "SecretError";
}

/**
 * Resolves secret references (SSM SecureString or an environment variable) once per cold start.
 * The values stay in memory: they are never logged, put in an error, or written anywhere.
 */
export class SecretResolver {
  private readonly ssm: () => SSMClient;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly cache = new Map<string, Promise<string>>();

  constructor(options: {
    ssm: () => SSMClient;
    env: Readonly<Record<string, string | undefined>>;
  }) {
    this.ssm = options.ssm;
    this.env = options.env;
  }

  /** The secret's value; `field` (e.g. signals.rabbitmq.password) names it in errors. */
  resolve(ref: SecretRef, field: string): Promise<string> {
    const key = "fromSsm" in ref ? `ssm:${ref.fromSsm}` : `env:${ref.fromEnv}`;
    let value = this.cache.get(key);
    if (!value) {
      value =
        "fromSsm" in ref ? this.fromSsm(ref.fromSsm, field) : this.fromEnv(ref.fromEnv, field);
      this.cache.set(key, value);
      value.catch(() => this.cache.delete(key)); // a failure is retried on the next call
    }
    return value;
  }

  private fromEnv(name: string, field: string): Promise<string> {
    const value = this.env[name];
    if (value === undefined || value === "") {
      return Promise.reject(
        new SecretError(
          `${field}: the environment variable ${name} is not set; fix: set it, or use { fromSsm: ... }`,
        ),
      );
    }
    return Promise.resolve(value);
  }

  private async fromSsm(name: string, field: string): Promise<string> {
    try {
      const result = await this.ssm().send(
        new GetParameterCommand({ Name: name, WithDecryption: true }),
      );
      const value = result.Parameter?.Value;
      if (value === undefined)
        throw new SecretError(`${field}: SSM parameter ${name} has no value`);
      return value;
    } catch (error) {
      if (error instanceof SecretError) throw error;
      const code = error instanceof Error ? error.name : "error";
      throw new SecretError(
        `${field}: SSM parameter ${name} could not be read (${code}); fix: create it as a SecureString and allow ssm:GetParameter on it`,
        { cause: error },
      );
    }
  }
}
