import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

// A small Consul agent for the registry's tests (no Consul can be installed here): node:http on
// 127.0.0.1, following the agent HTTP API as Consul documents and implements it
// (developer.hashicorp.com/consul/api-docs/agent/service; agent/agent_endpoint.go, agent/acl.go,
// agent/http.go):
// - PUT /v1/agent/service/register (a ServiceDefinition body), /deregister/:id and
//   /maintenance/:id?enable=true|false&reason=...; GET /v1/agent/services, /v1/agent/checks and
//   /v1/health/service/:name[?passing] (the list the midtier reads: maintenance is a critical
//   check `_service_maintenance:<id>`, so a service in maintenance is not passing);
// - the ACL token from `?token=`, else `X-Consul-Token`, else `Authorization: Bearer` (Consul's
//   order); an unknown token is 403 "ACL not found", a token without service:write is 403
//   "Permission denied: token with AccessorID '...' lacks permission 'service:write' on "<name>"";
//   no token is the anonymous token, which may write nothing here;
// - a body that is not JSON is 400 "Request decode failed: ...", no Name 400 "Missing service
//   name"; an unknown service id on deregister or maintenance is 404 "Unknown service ID "<id>".
//   Ensure that the service ID is passed, not the service name.";
//   maintenance without `enable` is 400 "Missing value for enable", with a bad one 400 "Invalid
//   value for enable: "<v>""; another method is 405; errors are text/plain, successes empty 200s.
// Re-registering a service keeps its maintenance (Consul replaces a service's checks only with
// `?replace-existing-checks`). Tests script faults (a 5xx, a hang) for the next requests.

export interface ConsulToken {
  accessorId: string;
  /** service names this token may write ("*" for any) */
  serviceWrite: readonly string[];
}

export interface AgentService {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
}

interface Check {
  CheckID: string;
  Name: string;
  Status: "passing" | "critical";
  Notes: string;
  ServiceID: string;
  ServiceName: string;
}

/** A scripted fault for the next request: an answer of this status, or no answer at all. */
export type ConsulFault = { kind: "status"; status: number; body: string } | { kind: "hang" };

export interface ConsulRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** the token the request carried, by whichever means */
  token: string | undefined;
  body: string;
  /** the status answered; undefined while unanswered (a hang) */
  status?: number;
}

export interface ConsulServer {
  /** http://127.0.0.1:<port>, for `consul.address` */
  address: string;
  readonly services: ReadonlyMap<string, AgentService>;
  /** whether this service id has its maintenance check */
  inMaintenance(id: string): boolean;
  /** the reason given when maintenance was enabled */
  maintenanceReason(id: string): string | undefined;
  /** the next requests get these faults, one each, before the API answers again */
  fail(...faults: ConsulFault[]): void;
  readonly requests: readonly ConsulRequest[];
  close(): Promise<void>;
}

const NODE = "consul-test-agent";
const ANONYMOUS: ConsulToken = {
  accessorId: "00000000-0000-0000-0000-000000000002",
  serviceWrite: [],
};
const maintenanceCheckId = (id: string) => `_service_maintenance:${id}`;

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Starts the agent; `tokens` maps each secret to its token (ACLs are always enforced). */
export async function startConsulServer(options: {
  tokens: Record<string, ConsulToken>;
}): Promise<ConsulServer> {
  const services = new Map<string, AgentService>();
  const maintenance = new Map<string, string>();
  const faults: ConsulFault[] = [];
  const requests: ConsulRequest[] = [];
  const sockets = new Set<Socket>();

  const tokenOf = (req: IncomingMessage, url: URL): string | undefined => {
    const query = url.searchParams.get("token");
    if (query) return query;
    const header = req.headers["x-consul-token"];
    if (typeof header === "string" && header !== "") return header;
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    return bearer?.[1];
  };

  const resolve = (token: string | undefined): ConsulToken => {
    if (token === undefined) return ANONYMOUS;
    const found = options.tokens[token];
    if (!found) throw new HttpError(403, "ACL not found");
    return found;
  };

  const mayWrite = (token: ConsulToken, name: string): void => {
    if (token.serviceWrite.includes("*") || token.serviceWrite.includes(name)) return;
    throw new HttpError(
      403,
      `Permission denied: token with AccessorID '${token.accessorId}' lacks permission 'service:write' on "${name}"`,
    );
  };

  const existing = (id: string): AgentService => {
    const service = services.get(id);
    if (!service)
      throw new HttpError(
        404,
        `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
      );
    return service;
  };

  const putOnly = (req: IncomingMessage): void => {
    if (req.method !== "PUT") throw new HttpError(405, `method ${req.method ?? "?"} not allowed`);
  };

  const register = (body: string, token: ConsulToken): void => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      throw new HttpError(
        400,
        `Request decode failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new HttpError(400, "Request decode failed: expected a JSON object");
    const def = parsed as Record<string, unknown>;
    const text = (key: string): string => {
      const value = def[key];
      if (value === undefined) return "";
      if (typeof value !== "string")
        throw new HttpError(400, `Request decode failed: ${key}: expected a string`);
      return value;
    };
    const name = text("Name");
    if (name === "") throw new HttpError(400, "Missing service name");
    const address = text("Address");
    if (address === "0.0.0.0" || address === "::")
      throw new HttpError(400, "Invalid service address");
    const tags = def.Tags ?? [];
    const meta = def.Meta ?? {};
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string"))
      throw new HttpError(400, "Request decode failed: Tags: expected a list of strings");
    if (
      typeof meta !== "object" ||
      Array.isArray(meta) ||
      !Object.values(meta).every((v) => typeof v === "string")
    )
      throw new HttpError(400, "Request decode failed: Meta: expected a map of strings");
    const port = def.Port ?? 0;
    if (typeof port !== "number" || !Number.isInteger(port))
      throw new HttpError(400, "Request decode failed: Port: expected an integer");
    mayWrite(token, name);
    const id = text("ID") || name;
    services.set(id, {
      ID: id,
      Service: name,
      Tags: tags,
      Address: address,
      Port: port,
      Meta: meta as Record<string, string>,
    });
  };

  const checksOf = (service: AgentService): Check[] => {
    const reason = maintenance.get(service.ID);
    return reason === undefined
      ? []
      : [
          {
            CheckID: maintenanceCheckId(service.ID),
            Name: "Service Maintenance Mode",
            Status: "critical",
            Notes: reason,
            ServiceID: service.ID,
            ServiceName: service.Service,
          },
        ];
  };

  const route = (req: IncomingMessage, url: URL, body: string): unknown => {
    const path = url.pathname;
    const token = tokenOf(req, url);
    if (path === "/v1/agent/service/register") {
      putOnly(req);
      register(body, resolve(token));
      return undefined;
    }
    if (path.startsWith("/v1/agent/service/deregister/")) {
      putOnly(req);
      const id = decodeURIComponent(path.slice("/v1/agent/service/deregister/".length));
      const who = resolve(token);
      mayWrite(who, existing(id).Service);
      services.delete(id);
      maintenance.delete(id);
      return undefined;
    }
    if (path.startsWith("/v1/agent/service/maintenance/")) {
      putOnly(req);
      const id = decodeURIComponent(path.slice("/v1/agent/service/maintenance/".length));
      if (id === "") throw new HttpError(400, "Missing service ID");
      const raw = url.searchParams.get("enable");
      if (raw === null) throw new HttpError(400, "Missing value for enable");
      const enable = parseBool(raw);
      if (enable === undefined) throw new HttpError(400, `Invalid value for enable: "${raw}"`);
      const who = resolve(token);
      mayWrite(who, existing(id).Service);
      if (!enable) maintenance.delete(id);
      else if (!maintenance.has(id))
        maintenance.set(
          id,
          url.searchParams.get("reason") ||
            "Maintenance mode is enabled for this service, but no reason was provided. This is a default message.",
        );
      return undefined;
    }
    if (req.method !== "GET") throw new HttpError(405, `method ${req.method ?? "?"} not allowed`);
    if (path === "/v1/agent/services") {
      resolve(token);
      return Object.fromEntries(services);
    }
    if (path === "/v1/agent/checks") {
      resolve(token);
      return Object.fromEntries(
        [...services.values()].flatMap(checksOf).map((c) => [c.CheckID, { Node: NODE, ...c }]),
      );
    }
    if (path.startsWith("/v1/health/service/")) {
      resolve(token);
      const name = decodeURIComponent(path.slice("/v1/health/service/".length));
      const passingOnly = url.searchParams.has("passing");
      return [...services.values()]
        .filter((s) => s.Service === name)
        .map((s) => ({ Node: { Node: NODE }, Service: s, Checks: checksOf(s) }))
        .filter((entry) => !passingOnly || entry.Checks.every((c) => c.Status === "passing"));
    }
    throw new HttpError(404, "Not Found");
  };

  const respond = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const request: ConsulRequest = {
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      token: tokenOf(req, url),
      body,
    };
    requests.push(request);
    res.on("finish", () => {
      request.status = res.statusCode;
    });
    const fault = faults.shift();
    if (fault?.kind === "hang") return; // never answered; closed with the server
    if (fault?.kind === "status") {
      res.writeHead(fault.status, { "content-type": "text/plain; charset=utf-8" }).end(fault.body);
      return;
    }
    try {
      const answer = route(req, url, body);
      if (answer === undefined) res.writeHead(200).end();
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(message);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => respond(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;

  return {
    address: `http://127.0.0.1:${port}`,
    services,
    inMaintenance: (id) => maintenance.has(id),
    maintenanceReason: (id) => maintenance.get(id),
    fail: (...next) => faults.push(...next),
    requests,
    close: () =>
      new Promise((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}

/** Go's strconv.ParseBool, which Consul uses for `enable`. */
function parseBool(raw: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(raw)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(raw)) return false;
  return undefined;
}
