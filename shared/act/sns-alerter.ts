import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Alerter } from "./ports.ts";

/**
 * Alerts to the configured SNS topic (`alerts: { provider: sns, topicArn }`). The subject names
 * the alert's kind (the key up to its first ":"), so mail filters can route them; messages carry no
 * secret (the planner's reasons never hold one). A failed publish throws with the SDK's error as
 * `cause`: act then counts the alert's decision as failed, and the alert is sent again next tick
 * (it was not recorded as sent).
 */
export class SnsAlerter implements Alerter {
  private readonly client: SNSClient;
  private readonly topicArn: string;

  constructor(options: { client: SNSClient; topicArn: string }) {
    this.client = options.client;
    this.topicArn = options.topicArn;
  }

  async send(key: string, message: string): Promise<void> {
    const kind = key.split(":")[0] ?? key;
    try {
      await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: `vor-power alert: ${kind}`.slice(0, 100),
          Message: message,
          MessageAttributes: { key: { DataType: "String", StringValue: key } },
        }),
      );
    } catch (error) {
      throw new Error(
        `alert ${key} could not be published to ${this.topicArn} (${error instanceof Error ? error.name : "error"}); fix: allow sns:Publish on the topic`,
        { cause: error },
      );
    }
  }
}
