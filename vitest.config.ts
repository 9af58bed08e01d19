import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real services; give them room, but never hide a hang.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Powertools (the Lambda handlers' logs and metrics) stays quiet; tests read its calls through
    // spies. Set before any test file loads, as the handlers build their logger at import.
    env: { POWERTOOLS_LOG_LEVEL: "SILENT", POWERTOOLS_METRICS_DISABLED: "true" },
  },
});
