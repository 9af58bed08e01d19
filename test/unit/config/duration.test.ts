import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../../shared/config/index.ts";

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000],
    ["20m", 1_200_000],
    ["3h", 10_800_000],
    ["1d", 86_400_000],
    ["500ms", 500],
    ["1h30m", 5_400_000],
    ["0s", 0],
  ])("reads %s as %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["20", "20 m", "m", "1.5h", "-5m", "5M", "", "5 min"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it("reads back what formatDuration writes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * 86_400_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});
