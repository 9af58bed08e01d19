import { formatDuration, type Config } from "../config/index.ts";
import type { MidtierRun, Signals } from "../plan/snapshot.ts";

// The midtier half of the SignalSource port: its runs API (DESIGN.md, "The midtier's side"). One
// GET lists every run; `signals.midtier.fields` names the fields, so an installation whose
// midtier says `phase` instead of `status` needs no code. `ageMs` is the time the request took:
// the midtier answers from its own records, which it updates before dispatching a run.

/** The parsed `signals.midtier` section. */
export type MidtierConfig = NonNullable<Config["signals"]["midtier"]>;
/** One pool's midtier reading: ok with its runs and age, or failed with why. */
export type MidtierReading = NonNullable<Signals["midtier"]>;

export interface MidtierSignalOptions {
  config: MidtierConfig;
  /** the bearer token, already resolved; never logged or put in a `why` */
  token: string;
}

export interface MidtierReadings {
  /** one reading per pool asked for */
  readings: Record<string, MidtierReading>;
  /** the pool of every run the answer named, in any state (empty when the read failed) */
  runPools: Map<string, string>;
}

type RunState = MidtierRun["state"];

// State names are compared in lower case. Runs that ended hold no host and are left out; a state
// in neither list fails the run's pool, because guessing it ended could stop a host in use.
const ACTIVE_STATES: Readonly<Record<string, RunState>> = {
  pending: "pending",
  queued: "pending",
  submitted: "pending",
  waiting: "pending",
  assigned: "assigned",
  dispatched: "assigned",
  running: "running",
  started: "running",
  in_progress: "running",
  "in-progress": "running",
  executing: "running",
};
const ENDED_STATES = new Set([
  "finished",
  "completed",
  "complete",
  "succeeded",
  "success",
  "done",
  "failed",
  "failure",
  "error",
  "errored",
  "cancelled",
  "canceled",
  "aborted",
  "killed",
]);

/** A field that is wrong: for every pool (`pool` unknown) or for one. */
interface FieldProblem {
  pool?: string;
  why: string;
}

/**
 * Reads the midtier's runs for every pool at once. A midtier that cannot be read, or answers
 * something vor-power cannot trust, yields `failed` readings with a short why naming the field
 * (never the token); `readAll` never throws.
 */
export class MidtierSignal {
  private readonly config: MidtierConfig;
  private readonly token: string;
  private readonly url: URL;
  /** where the runs API is, for a why: no query string (it might carry a key) */
  private readonly where: string;

  constructor(options: MidtierSignalOptions) {
    this.config = options.config;
    this.token = options.token;
    this.url = new URL(options.config.runsUrl);
    this.where = `${this.url.origin}${this.url.pathname}`;
  }

  async readAll(pools: readonly string[]): Promise<MidtierReadings> {
    const startedMs = performance.now();
    const fetched = await this.fetchBody();
    const ageMs = Math.round(performance.now() - startedMs);
    const failAll = (why: string): MidtierReadings => ({
      readings: Object.fromEntries(
        pools.map((pool) => [pool, { status: "failed", why: this.redact(why) }]),
      ),
      runPools: new Map(),
    });
    if (!fetched.ok) return failAll(fetched.why);

    const mapped = this.mapRuns(fetched.body);
    const everyPool = mapped.problems.find((p) => p.pool === undefined);
    if (everyPool) return failAll(everyPool.why);

    const readings: Record<string, MidtierReading> = {};
    for (const pool of pools) {
      const problem = mapped.problems.find((p) => p.pool === pool);
      readings[pool] = problem
        ? { status: "failed", why: this.redact(problem.why) }
        : { status: "ok", ageMs, data: { runs: mapped.runs.get(pool) ?? [] } };
    }
    return { readings, runPools: mapped.runPools };
  }

  private async fetchBody(): Promise<{ ok: true; body: unknown } | { ok: false; why: string }> {
    let text: string;
    try {
      const response = await fetch(this.url, {
        signal: AbortSignal.timeout(this.config.timeout),
        headers: { accept: "application/json", authorization: `Bearer ${this.token}` },
      });
      text = await response.text();
      if (!response.ok) return { ok: false, why: this.describeStatus(response.status) };
    } catch (error) {
      return { ok: false, why: this.describeFetchError(error) };
    }
    try {
      return { ok: true, body: JSON.parse(text) };
    } catch {
      return {
        ok: false,
        why: `the midtier's runs API at ${this.where} answered with something that is not JSON: check signals.midtier.runsUrl`,
      };
    }
  }

  /** The active runs per pool, the pool of every run, and every field that was wrong. */
  private mapRuns(body: unknown): {
    runs: Map<string, MidtierRun[]>;
    runPools: Map<string, string>;
    problems: FieldProblem[];
  } {
    const runs = new Map<string, MidtierRun[]>();
    const runPools = new Map<string, string>();
    const problems: FieldProblem[] = [];
    const list = Array.isArray(body)
      ? body
      : isRecord(body) && Array.isArray(body["runs"])
        ? body["runs"]
        : undefined;
    if (list === undefined) {
      problems.push({
        why: `the midtier's runs API answered neither a JSON array nor {"runs": [...]}: check signals.midtier.runsUrl`,
      });
      return { runs, runPools, problems };
    }

    const fields = this.config.fields;
    const wrong = (at: string, field: string, expected: string, found: unknown): string =>
      `the midtier's runs API answered ${at} with field "${field}" ${describeValue(found)}, expected ${expected}: check signals.midtier.fields`;

    list.forEach((item: unknown, index) => {
      if (!isRecord(item)) {
        problems.push({
          why: `the midtier's runs API answered runs[${index}] ${describeValue(item)}, expected an object`,
        });
        return;
      }
      const rawId = item[fields.id];
      const id =
        typeof rawId === "string" && rawId !== ""
          ? rawId
          : typeof rawId === "number"
            ? String(rawId)
            : undefined;
      if (id === undefined) {
        problems.push({ why: wrong(`runs[${index}]`, fields.id, "the run id", rawId) });
        return;
      }
      const at = `run ${id}`;
      const pool = item[fields.pool];
      if (typeof pool !== "string" || pool === "") {
        problems.push({ why: wrong(at, fields.pool, "its pool name", pool) });
        return;
      }
      runPools.set(id, pool);
      const problem = (why: string): void => void problems.push({ pool, why });

      const rawState = item[fields.state];
      if (typeof rawState !== "string") {
        problem(wrong(at, fields.state, "its state", rawState));
        return;
      }
      const name = rawState.trim().toLowerCase();
      if (ENDED_STATES.has(name)) return;
      const state = ACTIVE_STATES[name];
      if (state === undefined) {
        problem(
          `the midtier's runs API answered ${at} with state ${JSON.stringify(rawState.slice(0, 40))}, which vor-power does not know: expected pending, assigned, running or an ended state (finished, failed, cancelled)`,
        );
        return;
      }

      const rawHosts = item[fields.hostsNeeded];
      const hosts = rawHosts === undefined || rawHosts === null ? 1 : rawHosts;
      if (typeof hosts !== "number" || !Number.isInteger(hosts) || hosts < 1) {
        problem(wrong(at, fields.hostsNeeded, "a whole number of hosts of at least 1", rawHosts));
        return;
      }
      const rawHostIds = item[fields.hostIds];
      const hostIds = rawHostIds === undefined || rawHostIds === null ? [] : rawHostIds;
      if (
        !Array.isArray(hostIds) ||
        !hostIds.every((h): h is string => typeof h === "string" && h !== "")
      ) {
        problem(wrong(at, fields.hostIds, "a list of host ids", rawHostIds));
        return;
      }

      const poolRuns = runs.get(pool) ?? [];
      poolRuns.push({ id, state, hosts, hostIds });
      runs.set(pool, poolRuns);
    });
    return { runs, runPools, problems };
  }

  private describeStatus(status: number): string {
    if (status === 401 || status === 403)
      return `HTTP ${status} from the midtier's runs API at ${this.where}: the token was refused; check signals.midtier.token`;
    if (status === 404)
      return `HTTP 404 from the midtier's runs API at ${this.where}: check signals.midtier.runsUrl`;
    return `HTTP ${status} from the midtier's runs API at ${this.where}: the midtier could not answer; it is read again next tick`;
  }

  private describeFetchError(error: unknown): string {
    if (error instanceof Error && error.name === "TimeoutError")
      return `the midtier's runs API at ${this.where} did not answer within ${formatDuration(this.config.timeout)}: check that the midtier is up, or raise signals.midtier.timeout`;
    return `could not reach the midtier's runs API at ${this.where} (${networkCode(error)}): check signals.midtier.runsUrl and that the midtier is up`;
  }

  // A last guard: no why may carry the token, whatever the midtier echoed into a field.
  private redact(why: string): string {
    return this.token.length >= 4 ? why.split(this.token).join("***") : why;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A found value, short: `missing`, `= "i-1"`, `= 3`, `= a list`, `= an object`. */
function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "= null";
  if (Array.isArray(value)) return "= a list";
  if (typeof value === "object") return "= an object";
  if (typeof value === "string") return `= ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === "number" || typeof value === "boolean") return `= ${String(value)}`;
  return `of type ${typeof value}`;
}

/** The system error code under a failed fetch ("ECONNREFUSED"), or a short description. */
function networkCode(error: unknown): string {
  if (!(error instanceof Error)) return "unknown error";
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    if ("code" in cause && typeof cause.code === "string") return cause.code;
    return cause.message;
  }
  return error.message;
}
