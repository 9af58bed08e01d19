import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { SNSClient } from "@aws-sdk/client-sns";
import { LogAlerter } from "./act/log-alerter.ts";
import { SnsAlerter } from "./act/sns-alerter.ts";
import type { Ports } from "./act/ports.ts";
import { SkipBootstrap } from "./bootstrap/skip-bootstrap.ts";
import { Ec2ComputeProvider, createEc2Client } from "./cloud/aws-ec2.ts";
import {
  SecretResolver,
  loadConfig,
  loadConfigFromParameter,
  type Config,
  type ParseResult,
} from "./config/index.ts";
import { CombinedSignalSource } from "./signals/combined.ts";
import { MidtierSignal } from "./signals/midtier.ts";
import { RabbitMqSignal } from "./signals/rabbitmq.ts";
import { DynamoDbStateStore } from "./state/dynamodb-state-store.ts";

// The one wiring module (STYLE.md): the only place that reads the environment and builds the
// adapters for the ports. Handlers and the CLI call it once per cold start. The AWS SDK reads its
// standard environment itself (AWS_REGION, AWS_ENDPOINT_URL, credentials), so the same code runs
// against AWS or against moto.

export type Environment = Readonly<Record<string, string | undefined>>;

/** The config from `--config FILE`, or from the SSM parameter VOR_POWER_CONFIG_PARAMETER. */
export async function loadConfigFromEnvironment(
  env: Environment,
  file: string | undefined,
): Promise<ParseResult<Config>> {
  if (file !== undefined) return loadConfig(file);
  const parameter = env.VOR_POWER_CONFIG_PARAMETER;
  if (parameter === undefined) {
    return {
      ok: false,
      errors: [
        {
          path: [],
          message:
            "expected a config, found neither --config nor VOR_POWER_CONFIG_PARAMETER; fix: pass --config FILE or set the parameter's name",
        },
      ],
      warnings: [],
    };
  }
  const ssm = new SSMClient({});
  return loadConfigFromParameter(
    parameter,
    async (name) =>
      (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter
        ?.Value ?? "",
  );
}

/** Builds the live adapters for an AWS installation. Secrets are resolved here, once. */
export async function wireAws(
  config: Config,
  env: Environment,
  log: (line: string) => void,
): Promise<Ports> {
  // cloud and state are unions by provider; Azure joins them in its issue, with its own wiring.
  const region = env.AWS_REGION ?? config.cloud.region;
  // AWS_ENDPOINT_URL (the SDK's standard variable) is passed on explicitly, so a test's env is enough.
  const endpoint = env.AWS_ENDPOINT_URL;
  const at = endpoint === undefined ? {} : { endpoint };
  let ssm: SSMClient | undefined;
  const secrets = new SecretResolver({
    ssm: () => (ssm ??= new SSMClient({ region, ...at })),
    env,
  });
  const compute = new Ec2ComputeProvider({
    client: createEc2Client({ region, ...at }),
    poolTag: config.cloud.poolTag,
  });
  const store = new DynamoDbStateStore({
    client: new DynamoDBClient({ region, ...at }),
    table: config.state.table,
  });
  const pools = Object.keys(config.pools);
  const { rabbitmq, midtier } = config.signals;
  const signals = new CombinedSignalSource({
    pools: config.pools,
    ...(midtier
      ? {
          midtier: new MidtierSignal({
            config: midtier,
            token: await secrets.resolve(midtier.token, "signals.midtier.token"),
          }),
        }
      : {}),
    ...(rabbitmq
      ? {
          rabbitmq: new RabbitMqSignal({
            config: rabbitmq,
            password: await secrets.resolve(rabbitmq.password, "signals.rabbitmq.password"),
            pools,
          }),
        }
      : {}),
    // Consumers are matched by host id or Name tag (hostOf: connectionName).
    hostRefs: async (pool) =>
      (await compute.listHosts(pool)).map((h) => ({
        id: h.id,
        ...(h.tags.Name ? { name: h.tags.Name } : {}),
      })),
  });
  return {
    compute,
    signals,
    store,
    // Until the host-access issue lands there is no channel: the step records `skipped` (blocked).
    bootstrap: new SkipBootstrap(store, `vor-power-${env.AWS_LAMBDA_FUNCTION_NAME ?? "cli"}`),
    alerter: config.alerts
      ? new SnsAlerter({
          client: new SNSClient({ region, ...at }),
          topicArn: config.alerts.topicArn,
        })
      : new LogAlerter(log),
  };
}
