import { readFile } from "node:fs/promises";
import type { ConfigIssue } from "./issues.ts";
import { parseConfig, parseScheduleSections, readConfigText, type ParseResult } from "./parse.ts";
import type { Config, ScheduleSections } from "./schema.ts";

// The only I/O of the config module: reading the file. Parsing and rules stay pure.

async function readRaw(
  file: string,
): Promise<{ ok: true; raw: unknown } | { ok: false; errors: ConfigIssue[] }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
    return {
      ok: false,
      errors: [
        {
          path: [],
          message: `expected a readable config file at ${file}, found ${code === "ENOENT" ? "no such file" : code}; fix: pass --config with the path of your vor-power.yaml`,
        },
      ],
    };
  }
  return readConfigText(text);
}

/**
 * Reads and validates a config kept in an SSM parameter (a Lambda's usual source), the same way as
 * a file. `read` fetches the parameter's text (the wiring module passes an SSM call).
 */
export async function loadConfigFromParameter(
  name: string,
  read: (name: string) => Promise<string>,
): Promise<ParseResult<Config>> {
  let text: string;
  try {
    text = await read(name);
  } catch (error) {
    const code = error instanceof Error ? error.name : "error";
    return {
      ok: false,
      errors: [
        {
          path: [],
          message: `expected a readable SSM parameter ${name} holding the config, found ${code}; fix: create it, and allow ssm:GetParameter on it`,
        },
      ],
      warnings: [],
    };
  }
  const read2 = readConfigText(text);
  return read2.ok ? parseConfig(read2.raw) : { ok: false, errors: read2.errors, warnings: [] };
}

/** Reads and validates a whole config file (YAML or JSON). */
export async function loadConfig(file: string): Promise<ParseResult<Config>> {
  const read = await readRaw(file);
  return read.ok ? parseConfig(read.raw) : { ok: false, errors: read.errors, warnings: [] };
}

/** Reads a config file and validates only its schedules and run schedules. */
export async function loadScheduleSections(file: string): Promise<ParseResult<ScheduleSections>> {
  const read = await readRaw(file);
  return read.ok
    ? parseScheduleSections(read.raw)
    : { ok: false, errors: read.errors, warnings: [] };
}
