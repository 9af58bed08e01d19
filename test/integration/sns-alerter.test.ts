import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SnsAlerter } from "../../shared/act/sns-alerter.ts";
import { MOTO_CLIENT, missing, motoInstalled, startMoto, type Moto } from "../support/services.ts";

const skip = !motoInstalled() && missing("moto", "run npm test, whose set-up installs it in .venv");

describe.skipIf(skip)("SnsAlerter (moto)", () => {
  let moto: Moto;
  let sns: SNSClient;

  beforeAll(async () => {
    moto = await startMoto();
    sns = new SNSClient({ ...MOTO_CLIENT, endpoint: moto.endpoint });
  });

  afterAll(async () => {
    await moto.stop();
  });

  it("publishes the alert to the topic with its kind in the subject", async () => {
    const topic = await sns.send(new CreateTopicCommand({ Name: "vor-power" }));
    const sqs = new SQSClient({ ...MOTO_CLIENT, endpoint: moto.endpoint });
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: "ops-inbox" }));
    const arn = (
      await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ["QueueArn"] }),
      )
    ).Attributes?.QueueArn;
    await sns.send(
      new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: "sqs", Endpoint: arn }),
    );
    const alerter = new SnsAlerter({ client: sns, topicArn: topic.TopicArn ?? "" });

    await alerter.send("protected", "compute: protected (no starts): 3 hosts failed in a row");

    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 1 }),
    );
    const envelope = JSON.parse(received.Messages?.[0]?.Body ?? "{}") as {
      Subject?: string;
      Message?: string;
    };
    expect(envelope).toMatchObject({
      Subject: "vor-power alert: protected",
      Message: "compute: protected (no starts): 3 hosts failed in a row",
    });
  });

  it("throws naming the topic and the missing permission when publishing fails", async () => {
    const alerter = new SnsAlerter({
      client: sns,
      topicArn: "arn:aws:sns:eu-west-2:123456789012:missing",
    });

    await expect(alerter.send("signal:midtier", "down")).rejects.toThrow(
      /could not be published to arn:aws:sns:eu-west-2:123456789012:missing .*sns:Publish/,
    );
  });
});
