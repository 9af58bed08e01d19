import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

/** Writes `content` (an object becomes YAML) to a new temporary file and returns its path. */
export function tempConfigFile(content: unknown, name = "vor-power.yaml"): string {
  const dir = mkdtempSync(join(tmpdir(), "vor-power-test-"));
  const file = join(dir, name);
  writeFileSync(file, typeof content === "string" ? content : stringify(content));
  return file;
}
