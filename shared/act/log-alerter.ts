import type { Alerter } from "./ports.ts";

/**
 * Alerts as structured log lines (one JSON object a line on stderr), for the CLI and for an
 * installation without an alert destination. SNS comes with the handlers issue.
 */
export class LogAlerter implements Alerter {
  private readonly write: (line: string) => void;

  constructor(write: (line: string) => void) {
    this.write = write;
  }

  send(key: string, message: string): Promise<void> {
    this.write(JSON.stringify({ level: "WARN", alert: key, message }));
    return Promise.resolve();
  }
}
