import type { z } from "zod";

/** One problem found in a config file. `path` is the field's path; `message` says what was
 * expected, what was found and how to fix it. */
export interface ConfigIssue {
  path: readonly (string | number)[];
  message: string;
}

/** Renders a path as operators write it: `pools.compute.windows[0].schedule`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  return path
    .map((part, index) => {
      if (typeof part === "number") return `[${part}]`;
      const text = String(part);
      const plain = /^[A-Za-z_$][\w$-]*$/.test(text);
      if (!plain) return `[${JSON.stringify(text)}]`;
      return index === 0 ? text : `.${text}`;
    })
    .join("");
}

/** `pools.compute.min: expected ..., found ...; fix: ...` */
export function formatIssue(issue: ConfigIssue): string {
  return `${formatPath(issue.path)}: ${issue.message}`;
}

// Fields whose values are never shown, even when wrong: they may hold a secret pasted inline.
const SENSITIVE_KEYS = new Set(["password", "token", "secretId", "secret"]);

/** A short, safe description of a value found in the file. */
export function describeFound(value: unknown, path: readonly PropertyKey[] = []): string {
  const last = path[path.length - 1];
  if (typeof last === "string" && SENSITIVE_KEYS.has(last) && typeof value === "string") {
    return "an inline value (not shown)";
  }
  if (value === undefined) return "nothing (the field is missing)";
  if (value === null) return "null";
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return typeof value === "object" ? "an object" : typeof value;
}

const TYPE_WORDS: Record<string, string> = {
  object: "a mapping (key: value)",
  array: "a list",
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
};

/** Closest known key, for "did you mean" on unknown keys (a typo must never be silently ignored). */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const key of candidates) {
    const distance = editDistance(word.toLowerCase(), key.toLowerCase());
    if (
      distance <= Math.max(2, Math.floor(key.length / 4)) &&
      (!best || distance < best.distance)
    ) {
      best = { key, distance };
    }
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(
        Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

/**
 * Turns zod's issues into ours. Messages we wrote ourselves (they start with "expected") pass
 * through; zod's generic ones are rewritten to say expected, found and fix. `knownKeys` gives the
 * keys an object accepts, for unknown-key hints.
 */
export function fromZodIssues(
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  knownKeys: (path: readonly PropertyKey[]) => readonly string[],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    if (issue.message.startsWith("expected ")) {
      out.push({ path, message: issue.message });
      continue;
    }
    const found = describeFound(valueAt(raw, path), path);
    switch (issue.code) {
      case "unrecognized_keys": {
        const allowed = knownKeys(path);
        for (const key of issue.keys) {
          const hint = closest(key, allowed);
          out.push({
            path: [...path, key],
            message: `expected one of the known keys (${allowed.join(", ")}), found the unknown key ${JSON.stringify(key)}; fix: ${hint ? `did you mean ${JSON.stringify(hint)}?` : "remove it"} (unknown keys are errors so a typo never silently disables a setting)`,
          });
        }
        break;
      }
      case "invalid_type": {
        const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
        const fix =
          valueAt(raw, path) === undefined
            ? "fix: add this field, it is required"
            : `fix: write ${expected} here`;
        out.push({ path, message: `expected ${expected}, found ${found}; ${fix}` });
        break;
      }
      case "invalid_value": {
        const options = issue.values.map((v) => JSON.stringify(v)).join(", ");
        out.push({
          path,
          message: `expected one of ${options}, found ${found}; fix: use one of those values`,
        });
        break;
      }
      case "too_small":
      case "too_big": {
        const bound = String(issue.code === "too_small" ? issue.minimum : issue.maximum);
        const word = issue.code === "too_small" ? "at least" : "at most";
        const what =
          issue.origin === "array" ? `a list with ${word} ${bound} items` : `${word} ${bound}`;
        out.push({ path, message: `expected ${what}, found ${found}; fix: change it to ${what}` });
        break;
      }
      case "invalid_format": {
        out.push({
          path,
          message: `expected ${issue.format === "url" ? "a URL such as https://host:port/path" : `text in ${issue.format} format`}, found ${found}; fix: correct the value`,
        });
        break;
      }
      case "invalid_union": {
        // zod reports a discriminated union's unknown kind with the accepted values in `options`.
        const union = issue as { note?: string; options?: unknown[] };
        const expected =
          union.options !== undefined
            ? `one of the supported kinds (${union.options.map(String).join(", ")})`
            : "one of the accepted shapes";
        out.push({
          path,
          message: `expected ${expected}, found ${found}; fix: see \`vor-power schema config\` for the accepted shapes`,
        });
        break;
      }
      default:
        out.push({ path, message: `expected a valid value (${issue.message}), found ${found}` });
    }
  }
  return out;
}
