import { z } from "zod";
import { configSchema } from "./schema.ts";

/** The JSON Schema of the config file as written (durations as text), for editors. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }),
    title: "vor-power configuration",
    description:
      "vor-power config (DESIGN.md, Configuration). Durations are text such as 90s, 20m, 3h.",
  };
}
