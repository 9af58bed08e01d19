import { createServer, request, type IncomingHttpHeaders } from "node:http";

// A loopback proxy in front of moto that records every AWS API call passing through it, so a test
// can count calls on the wire (moto keeps no call log by default: a second StartInstances on a
// pending instance changes nothing it reports). The code under test gets the proxy's URL as its
// AWS_ENDPOINT_URL; the test's own clients talk to moto directly and are not recorded.

/** One AWS API call as it crossed the wire. */
export interface AwsCall {
  /** the API action: "StartInstances" (EC2, SNS: query protocol), "PutItem" (DynamoDB: JSON) */
  action: string;
  /** the hosts an EC2 call names (its InstanceId.N or ResourceId.N parameters), in order */
  instanceIds: string[];
}

export interface AwsCallRecorder {
  /** the proxy's URL, for AWS_ENDPOINT_URL */
  endpoint: string;
  /** every call so far, in arrival order */
  readonly calls: readonly AwsCall[];
  /** the calls of one action */
  callsOf(action: string): AwsCall[];
  close(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1 at a free port, forwarding to `target` (moto's endpoint). */
export async function startAwsCallRecorder(target: string): Promise<AwsCallRecorder> {
  const upstream = new URL(target);
  if (upstream.hostname !== "127.0.0.1" && upstream.hostname !== "localhost")
    throw new Error(`the call recorder forwards to loopback only, not to ${upstream.hostname}`);
  const calls: AwsCall[] = [];
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      calls.push(callOf(incoming.headers, body));
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forward.on("error", (error) => {
        outgoing.writeHead(502, { "content-type": "text/plain" }).end(error.message);
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    calls,
    callsOf: (action) => calls.filter((call) => call.action === action),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The action of a JSON-protocol call (X-Amz-Target) or of a query-protocol form body. */
function callOf(headers: IncomingHttpHeaders, body: Buffer): AwsCall {
  const target = headers["x-amz-target"];
  if (typeof target === "string")
    return { action: target.slice(target.lastIndexOf(".") + 1), instanceIds: [] };
  const form = new URLSearchParams(body.toString("utf8"));
  const instanceIds = [...form.entries()]
    .filter(([key]) => /^(InstanceId|ResourceId)\.\d+$/.test(key))
    .map(([, value]) => value);
  return { action: form.get("Action") ?? "unknown", instanceIds };
}
