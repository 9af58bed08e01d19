import type { Context } from "aws-lambda";
import { z } from "zod";
import { formatPath } from "../../shared/config/index.ts";
import { opsCommandSchema, type OpsResult } from "../../shared/ops/commands.ts";
import { addMetrics, loggerFor } from "../../shared/observability.ts";
import { dependencies, describeError, ownerOf, wrapHandler } from "./runtime.ts";

// Manual ops (DESIGN.md, "Three ways in"): the ops JSON through the function URL (IAM auth) or a
// direct invoke, run by `runOps` from shared/ops. With the function URL the audit trail's `by` is
// the caller's IAM principal, whatever the body says: a caller cannot write someone else's name.

const log = loggerFor("ops");

/** The parts of a function URL request (API Gateway payload v2) that ops reads. */
const functionUrlSchema = z.object({
  requestContext: z.object({
    requestId: z.string().optional(),
    http: z.object({ method: z.string() }),
    authorizer: z
      .object({ iam: z.object({ userArn: z.string().min(1).optional() }).optional() })
      .optional(),
  }),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
  queryStringParameters: z.record(z.string(), z.string().optional()).optional(),
});

/** The answer, for the function URL (a JSON body) and for a direct invoke alike. */
export interface OpsResponse {
  statusCode: number;
  headers: { "content-type": "application/json" };
  body: string;
}

const respond = (statusCode: number, body: Record<string, unknown>): OpsResponse => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** A 400 that names each bad field; never a stack trace. */
const badRequest = (error: string, issues: { field: string; message: string }[] = []) => {
  log.warn(`ops request rejected: ${error}`, { issues });
  addMetrics({ Failures: 0 }); // the caller's mistake, not vor-power's
  return respond(400, { error, issues });
};

/** Commands that write carry `by` and `why` (the audit trail); status and plan do not. */
const writesAudit = (command: unknown): boolean =>
  opsCommandSchema.options.some(
    (option) => option.shape.command.value === command && "by" in option.shape,
  );

/** Parses the request into an ops command, runs it, and answers with its status and body. */
export async function ops(event: unknown, context: Context): Promise<OpsResponse> {
  const request = readRequest(event);
  if ("error" in request) return badRequest(request.error);

  let input = request.input;
  if (request.caller !== undefined && isObject(input) && writesAudit(input.command))
    input = { ...input, by: request.caller };
  const command = opsCommandSchema.safeParse(input);
  if (!command.success) {
    return badRequest(
      "invalid ops command",
      command.error.issues.map((issue) => ({
        field:
          issue.code === "unrecognized_keys"
            ? issue.keys.map((key) => formatPath([...issue.path, key])).join(", ")
            : formatPath(issue.path),
        message: issue.message,
      })),
    );
  }

  const deps = await dependencies();
  const now = deps.clock();
  const dryRun = deps.dryRun || request.dryRun;
  let result: OpsResult;
  try {
    result = await deps.runOps(command.data, {
      config: deps.config,
      ports: deps.ports,
      now,
      dryRun,
      owner: ownerOf(context),
    });
  } catch (error) {
    log.error(`ops ${command.data.command} failed: ${describeError(error)}`, { error });
    addMetrics({ Failures: 1 });
    return respond(500, {
      error: `ops ${command.data.command} failed: ${describeError(error)}; nothing more was done, try again`,
    });
  }
  // One audit line per write (each write command makes one); a dry run wrote nothing.
  const { audit } = result.body;
  if (audit !== undefined && result.body.dryRun !== true)
    log.info("audit", { audit, status: result.status });
  addMetrics({ Failures: result.status >= 500 ? 1 : 0 });
  return respond(result.status, result.body);
}

type Request = { error: string } | { input: unknown; caller: string | undefined; dryRun: boolean };

/** The command's JSON and who sent it: from a function URL request, or a direct invoke's event. */
function readRequest(event: unknown): Request {
  if (!isObject(event) || !("requestContext" in event))
    return { input: event, caller: undefined, dryRun: false };
  const url = functionUrlSchema.safeParse(event);
  if (!url.success) return { error: `not a function URL request (${z.prettifyError(url.error)})` };
  const { body, isBase64Encoded, requestContext, queryStringParameters } = url.data;
  if (body === undefined || body === "")
    return {
      error: 'the request has no body; send the ops command as JSON, e.g. {"command":"status"}',
    };
  const text = isBase64Encoded ? Buffer.from(body, "base64").toString("utf8") : body;
  let input: unknown;
  try {
    input = JSON.parse(text) as unknown;
  } catch (error) {
    return { error: `the body is not JSON (${describeError(error)})` };
  }
  return {
    input,
    caller: requestContext.authorizer?.iam?.userArn,
    dryRun: queryStringParameters?.dryRun === "true",
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

export const handler = wrapHandler(ops, { log, correlationIdPath: "requestContext.requestId" });
