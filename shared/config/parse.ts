import { parseDocument } from "yaml";
import type { z } from "zod";
import { fromZodIssues, type ConfigIssue } from "./issues.ts";
import { checkConfigRules, checkScheduleRules } from "./rules.ts";
import {
  configSchema,
  knownKeysAt,
  scheduleSectionsSchema,
  type Config,
  type ScheduleSections,
} from "./schema.ts";

export type ParseResult<T> =
  | { ok: true; config: T; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

/**
 * Reads YAML or JSON text (JSON is YAML) into plain data. Duplicate keys are errors: in a safety
 * config the second value silently winning is a trap.
 */
export function readConfigText(
  text: string,
): { ok: true; raw: unknown } | { ok: false; errors: ConfigIssue[] } {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    return {
      ok: false,
      errors: document.errors.map((error) => {
        const [line, column] = error.linePos?.[0]
          ? [error.linePos[0].line, error.linePos[0].col]
          : [0, 0];
        return {
          path: [],
          message: `expected valid YAML or JSON, found a syntax error at line ${line}, column ${column} (${(error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}); fix: correct the file there`,
        };
      }),
    };
  }
  return { ok: true, raw: document.toJS() as unknown };
}

/**
 * Validates each section (and each named entry of a map section) on its own, so one broken pool
 * never hides the errors of another, and cross-field rules still run on every part that parsed.
 */
function parseSections<S extends z.ZodObject>(
  schema: S,
  raw: unknown,
): { parts: Partial<z.output<S>>; errors: ConfigIssue[] } {
  const knownKeys = (path: readonly PropertyKey[]) => knownKeysAt(schema, path);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return {
      parts: {},
      errors: [
        {
          path: [],
          message: `expected a mapping of sections (${knownKeys([]).join(", ")}), found ${Array.isArray(raw) ? "a list" : raw === null || raw === undefined ? "an empty file" : typeof raw}; fix: start from examples/vor-power.yaml`,
        },
      ],
    };
  }
  const record = raw as Record<string, unknown>;
  const errors: ConfigIssue[] = [];
  const parts: Record<string, unknown> = {};
  const unknown = Object.keys(record).filter((key) => !(key in schema.shape));
  if (unknown.length > 0) {
    errors.push(
      ...fromZodIssues(
        [{ code: "unrecognized_keys", keys: unknown, path: [], message: "", input: record }],
        raw,
        knownKeys,
      ),
    );
  }
  for (const [key, sectionSchema] of Object.entries(schema.shape)) {
    const result = (sectionSchema as z.ZodType).safeParse(record[key], { reportInput: true });
    if (result.success) {
      parts[key] = result.data;
      continue;
    }
    const issues = result.error.issues.map((issue) => ({ ...issue, path: [key, ...issue.path] }));
    errors.push(...fromZodIssues(issues, raw, knownKeys));
    // Keep the valid entries of a named map, so rules can still check them.
    const value = record[key];
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const entries: Record<string, unknown> = {};
      const entrySchema = knownEntrySchema(sectionSchema as z.ZodType);
      if (entrySchema) {
        for (const [name, entry] of Object.entries(value)) {
          const parsed = entrySchema.safeParse(entry);
          if (parsed.success) entries[name] = parsed.data;
        }
        parts[key] = entries;
      }
    }
  }
  return { parts: parts as Partial<z.output<S>>, errors };
}

/** The value schema of a map section (`pools`, `schedules`, ...), or undefined for other sections. */
function knownEntrySchema(section: z.ZodType): z.ZodType | undefined {
  let node: z.core.$ZodType = section;
  for (;;) {
    const def = node._zod.def;
    if (def.type === "default" || def.type === "optional")
      node = (def as z.core.$ZodDefaultDef).innerType;
    else if (def.type === "record") return (def as z.core.$ZodRecordDef).valueType as z.ZodType;
    else return undefined;
  }
}

/** Validates a whole config: every error at once, and warnings; nothing runs on errors. */
export function parseConfig(raw: unknown): ParseResult<Config> {
  const { parts, errors } = parseSections(configSchema, raw);
  const rules = checkConfigRules(parts, raw);
  const allErrors = [...errors, ...rules.errors];
  if (allErrors.length > 0) return { ok: false, errors: allErrors, warnings: rules.warnings };
  return { ok: true, config: rules.config ?? (parts as Config), warnings: rules.warnings };
}

/**
 * Validates only the `schedules` and `runSchedules` sections (what `schedule eval` and `schedule
 * preview` read); other sections are ignored, so a schedule can be checked before the rest exists.
 */
export function parseScheduleSections(raw: unknown): ParseResult<ScheduleSections> {
  const picked =
    raw !== null && typeof raw === "object" && !Array.isArray(raw)
      ? Object.fromEntries(
          Object.entries(raw).filter(([key]) => key === "schedules" || key === "runSchedules"),
        )
      : raw;
  const { parts, errors } = parseSections(scheduleSectionsSchema, picked);
  const rules = checkScheduleRules(parts, undefined);
  const allErrors = [...errors, ...rules.errors];
  if (allErrors.length > 0) return { ok: false, errors: allErrors, warnings: rules.warnings };
  return { ok: true, config: parts as ScheduleSections, warnings: rules.warnings };
}
