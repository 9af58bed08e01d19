import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

// A small real midtier for the midtier signal's tests: node:http on 127.0.0.1 at a free port,
// serving GET /api/runs behind a bearer token. Tests choose how it answers next.

/** How the server answers GET /api/runs (after the token check). */
export type MidtierAnswer =
  /** 200 with this JSON body */
  | { kind: "json"; body: unknown }
  /** 200 with this text, as application/json (for malformed bodies) */
  | { kind: "text"; text: string }
  /** this status with a short text body */
  | { kind: "status"; status: number }
  /** 200 with this JSON body, after `delayMs` (for timeouts) */
  | { kind: "slow"; delayMs: number; body: unknown };

export interface MidtierServer {
  /** the runs API's URL, for `signals.midtier.runsUrl` */
  runsUrl: string;
  /** what the next requests get; a JSON empty list until set */
  answer(next: MidtierAnswer): void;
  /** the Authorization headers received so far */
  readonly authorizations: readonly (string | undefined)[];
  close(): Promise<void>;
}

/** Starts the server; it answers 401 unless the request carries `Bearer <token>`. */
export async function startMidtierServer(options: { token: string }): Promise<MidtierServer> {
  let next: MidtierAnswer = { kind: "json", body: [] };
  const authorizations: (string | undefined)[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const respond = (req: IncomingMessage, res: ServerResponse): void => {
    authorizations.push(req.headers.authorization);
    if (req.method !== "GET" || req.url !== "/api/runs") {
      res.writeHead(404).end("not found");
      return;
    }
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401, { "content-type": "text/plain" }).end("bad token");
      return;
    }
    const answer = next;
    switch (answer.kind) {
      case "json":
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
        return;
      case "text":
        res.writeHead(200, { "content-type": "application/json" }).end(answer.text);
        return;
      case "status":
        res.writeHead(answer.status, { "content-type": "text/plain" }).end("midtier trouble");
        return;
      case "slow": {
        const timer = setTimeout(() => {
          timers.delete(timer);
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify(answer.body));
        }, answer.delayMs);
        timers.add(timer);
        return;
      }
    }
  };

  const server = createServer(respond);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  const { port } = address;

  return {
    runsUrl: `http://127.0.0.1:${port}/api/runs`,
    answer: (answer) => (next = answer),
    authorizations,
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
