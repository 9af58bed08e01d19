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
