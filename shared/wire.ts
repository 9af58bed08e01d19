import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { SNSClient } from "@aws-sdk/client-sns";
import { LogAlerter } from "./act/log-alerter.ts";
import { SnsAlerter } from "./act/sns-alerter.ts";
import type { Ports } from "./act/ports.ts";
import type { HostCheck } from "./bootstrap/channel-bootstrap.ts";
import type { HostChannel } from "./bootstrap/host-channel.ts";
import { playpenChecks } from "./bootstrap/playpen-check.ts";
import { PoolBootstrap, type ChannelFactory } from "./bootstrap/pool-bootstrap.ts";
import { Ec2ComputeProvider, createEc2Client } from "./cloud/aws-ec2.ts";
import {
  SecretResolver,
  loadConfig,
  loadConfigFromParameter,
  type Config,
  type ParseResult,
} from "./config/index.ts";
import { consulRegistryFor } from "./registry/consul.ts";
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

export interface WireOptions {
  /**
   * The checks the bootstrap runs once access is proved; by default the playpen checks of
   * `bootstrap.playpens` (none configured: a host is ready once its channel proved access).
   */
  checks?: readonly HostCheck[];
}

/** The AWS clients every part of the wiring shares; nothing is called until a port is used. */
interface AwsBase {
  region: string;
  at: { endpoint?: string };
  ssmClient: () => SSMClient;
  secrets: SecretResolver;
  ec2: ReturnType<typeof createEc2Client>;
  compute: Ec2ComputeProvider;
  store: DynamoDbStateStore;
}

function awsBase(config: Config, env: Environment): AwsBase {
  // cloud and state are unions by provider; Azure joins them in its issue, with its own wiring.
  const region = env.AWS_REGION ?? config.cloud.region;
  // AWS_ENDPOINT_URL (the SDK's standard variable) is passed on explicitly, so a test's env is enough.
  const endpoint = env.AWS_ENDPOINT_URL;
  const at = endpoint === undefined ? {} : { endpoint };
  let ssm: SSMClient | undefined;
  const ssmClient = () => (ssm ??= new SSMClient({ region, ...at }));
  const ec2 = createEc2Client({ region, ...at });
  return {
    region,
    at,
    ssmClient,
    secrets: new SecretResolver({ ssm: ssmClient, env }),
    ec2,
    compute: new Ec2ComputeProvider({ client: ec2, poolTag: config.cloud.poolTag }),
    store: new DynamoDbStateStore({
      client: new DynamoDBClient({ region, ...at }),
      table: config.state.table,
    }),
  };
}

/**
 * The bootstrap step alone, for `vor-power bootstrap --host` (its `diagnose`): the same
 * PoolBootstrap wireAws builds, without the signals, the registry or the alerter.
 */
export function wireBootstrap(
  config: Config,
  env: Environment,
  log: (line: string) => void,
  options: WireOptions = {},
): { compute: Ec2ComputeProvider; bootstrap: PoolBootstrap } {
  const base = awsBase(config, env);
  return { compute: base.compute, bootstrap: poolBootstrap(base, config, env, log, options) };
}

function poolBootstrap(
  base: AwsBase,
  config: Config,
  env: Environment,
  log: (line: string) => void,
  options: WireOptions,
): PoolBootstrap {
  const { compute, store, secrets, ec2, ssmClient } = base;
  const sshChannel = sshChannelFactory(config, secrets, ec2);
  return new PoolBootstrap({
    config,
    store,
    compute,
    channels: {
      ...(sshChannel ? { ssh: sshChannel } : {}),
      // SSM needs no Vault: the host's agent pulls the command under the Lambda's IAM role.
      ssm: async () => {
        const { SsmChannel } = await import("./bootstrap/ssm-channel.ts");
        return new SsmChannel({ client: ssmClient() });
      },
    },
    checks: options.checks ?? playpenChecks(config.bootstrap.playpens, log),
    owner: `vor-power-${env.AWS_LAMBDA_FUNCTION_NAME ?? "cli"}`,
    log,
  });
}

/** Builds the live adapters for an AWS installation. Secrets are resolved here, once. */
export async function wireAws(
  config: Config,
  env: Environment,
  log: (line: string) => void,
  options: WireOptions = {},
): Promise<Ports> {
  const base = awsBase(config, env);
  const { region, at, secrets, compute, store } = base;
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
  // Consul, when configured: where the midtier reads ready hosts (DESIGN.md, "The midtier's side").
  const registry = await consulRegistryFor(config, secrets, compute);
  return {
    compute,
    signals,
    store,
    ...(registry ? { registry } : {}),
    bootstrap: poolBootstrap(base, config, env, log, options),
    alerter: config.alerts
      ? new SnsAlerter({
          client: new SNSClient({ region, ...at }),
          topicArn: config.alerts.topicArn,
        })
      : new LogAlerter(log),
  };
}

/**
 * The SSH channel's factory when bootstrap.vault and bootstrap.ssh are configured. ssh2 and
 * node-vault take over half a second to load, so they are imported on the first SSH bootstrap,
 * not at cold start. One VaultSigner per invocation: it keeps the AppRole token between hosts.
 */
function sshChannelFactory(
  config: Config,
  secrets: SecretResolver,
  ec2: ReturnType<typeof createEc2Client>,
): ChannelFactory | undefined {
  const { vault, ssh } = config.bootstrap;
  if (vault === undefined || ssh === undefined) return undefined;
  return async (): Promise<HostChannel> => {
    const [{ SshChannel }, { VaultSigner }, { consoleHostKeys }] = await Promise.all([
      import("./bootstrap/ssh-channel.ts"),
      import("./bootstrap/vault-signer.ts"),
      import("./bootstrap/console-host-keys.ts"),
    ]);
    const signer = new VaultSigner({
      config: vault,
      ...(ssh.hostKey.mode === "ca" ? { hostCaMount: ssh.hostKey.mount } : {}),
      // Asked for at each login; the resolver keeps it in memory for the invocation, as every secret.
      secretId: () => secrets.resolve(vault.approle.secretId, "bootstrap.vault.approle.secretId"),
    });
    return new SshChannel({
      ssh,
      signer,
      // hostKey mode pinned: the keys cloud-init printed on the host's console at first boot.
      ...(ssh.hostKey.mode === "pinned"
        ? { pinnedKeys: (host) => consoleHostKeys(ec2, host.id) }
        : {}),
    });
  };
}
