import {
  CreateTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
} from "@aws-sdk/client-dynamodb";

// The AWS side of a live installation on moto, shared by the live observe/plan, reconcile and
// ops CLI tests: the state table and the config changes.

type ClientConfig = DynamoDBClientConfig;

/** Creates the state table as the CDK stack will (pk/sk strings, on-demand). */
export async function createStateTable(
  client: ClientConfig,
  table = "vor-power-state",
): Promise<void> {
  await new DynamoDBClient(client).send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
}

/** Config changes for a live test: the loopback midtier, no RabbitMQ, the SSM channel. */
export function liveConfigChanges(runsUrl: string): [string, unknown][] {
  return [
    ["signals.rabbitmq", undefined],
    ["signals.midtier.runsUrl", runsUrl],
    ["signals.midtier.token", { fromEnv: "VOR_MIDTIER_TOKEN" }],
    ["pools.compute.channel", "ssm"],
    ["bootstrap.vault", undefined],
    ["bootstrap.ssh", undefined],
  ];
}
