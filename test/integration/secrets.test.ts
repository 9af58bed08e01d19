import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigFromParameter, SecretResolver } from "../../shared/config/index.ts";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { MOTO_CLIENT, missing, motoInstalled, startMoto, type Moto } from "../support/services.ts";
import { readFileSync } from "node:fs";

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv");

describe.skipIf(skip)("secrets and config from SSM (moto)", () => {
  let moto: Moto;
  let ssm: SSMClient;

  beforeAll(async () => {
    moto = await startMoto();
    ssm = new SSMClient({ ...MOTO_CLIENT, endpoint: moto.endpoint });
    await ssm.send(
      new PutParameterCommand({
        Name: "/vor-power/rabbitmq",
        Value: "s3cr3t-rabbit",
        Type: "SecureString",
      }),
    );
    await ssm.send(
      new PutParameterCommand({
        Name: "/vor-power/config",
        Value: readFileSync("examples/vor-power.yaml", "utf8"),
        Type: "String",
      }),
    );
  });

  afterAll(async () => {
    await moto.stop();
  });

  it("resolves a SecureString reference and an environment reference", async () => {
    const secrets = new SecretResolver({ ssm: () => ssm, env: { VOR_TOKEN: "tok-1" } });

    expect(
      await secrets.resolve({ fromSsm: "/vor-power/rabbitmq" }, "signals.rabbitmq.password"),
    ).toBe("s3cr3t-rabbit");
    expect(await secrets.resolve({ fromEnv: "VOR_TOKEN" }, "signals.midtier.token")).toBe("tok-1");
  });

  it("names the field and the reference when a secret is missing, never a value", async () => {
    const secrets = new SecretResolver({ ssm: () => ssm, env: {} });

    await expect(secrets.resolve({ fromSsm: "/vor-power/nope" }, "consul.token")).rejects.toThrow(
      /consul\.token: SSM parameter \/vor-power\/nope could not be read \(ParameterNotFound\)/,
    );
    await expect(secrets.resolve({ fromEnv: "VOR_NOPE" }, "signals.midtier.token")).rejects.toThrow(
      /VOR_NOPE is not set/,
    );
  });

  it("loads and validates a config kept in an SSM parameter", async () => {
    const read = async (name: string) =>
      (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value ?? "";

    const found = await loadConfigFromParameter("/vor-power/config", read);
    const absent = await loadConfigFromParameter("/vor-power/absent", read);

    expect(found.ok && Object.keys(found.config.pools)).toEqual(["compute"]);
    expect(!absent.ok && absent.errors[0]?.message).toMatch(
      /SSM parameter \/vor-power\/absent .*ParameterNotFound/,
    );
  });
});
