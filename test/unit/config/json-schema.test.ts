import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configJsonSchema } from "../../../shared/config/index.ts";

describe("configJsonSchema", () => {
  it("matches the committed examples/vor-power.schema.json (regenerate: npx vor-power schema config)", () => {
    const committed: unknown = JSON.parse(readFileSync("examples/vor-power.schema.json", "utf8"));

    expect(committed).toEqual(configJsonSchema());
  });

  it("forbids unknown keys in a pool, as the parser does", () => {
    const schema = configJsonSchema() as {
      properties: {
        pools: { additionalProperties: { additionalProperties: boolean; properties: object } };
      };
    };

    const pool = schema.properties.pools.additionalProperties;

    expect(pool.additionalProperties).toBe(false);
    expect(Object.keys(pool.properties)).toContain("drainGrace");
  });
});
