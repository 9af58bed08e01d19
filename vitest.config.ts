import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real services; give them room, but never hide a hang.
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
