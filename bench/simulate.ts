// The simulator as a benchmark: the default two weeks, then a month at 10x the load on 80 hosts.
// Prints each comparison table and the simulator's own speed (simulated days per second).
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { loadConfig, type Config } from "../shared/config/index.ts";
import { NO_FAULTS } from "../shared/sim/faults.ts";
import { renderTable } from "../shared/sim/report.ts";
import { WORLD_DEFAULTS, simulate } from "../shared/sim/simulate.ts";
import { generateTrace } from "../shared/sim/trace-generate.ts";

const loaded = await loadConfig(
  fileURLToPath(new URL("../examples/vor-power.yaml", import.meta.url)),
);
if (!loaded.ok) throw new Error("the example config does not validate");
const start = Date.parse("2026-01-19T00:00:00Z");

async function run(label: string, config: Config, days: number, scale: number): Promise<void> {
  const trace = generateTrace({ config, start, days, seed: 1, scale });
  const t0 = performance.now();
  const result = await simulate({
    config,
    trace,
    traceName: `built-in, ${config.pools.compute?.max ?? 0} hosts`,
    settings: { ...WORLD_DEFAULTS, days, seed: 1, start },
    faults: NO_FAULTS,
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `== ${label}: ${trace.length} runs, ${days} days simulated in ${seconds.toFixed(1)} s (${(days / seconds).toFixed(1)} simulated days/s, vor-power run twice for the pre-warm comparison)`,
  );
  console.log(renderTable(result.report));
}

await run("default two weeks", loaded.config, 14, 1);
const compute = loaded.config.pools.compute;
if (!compute) throw new Error("the example has no pool compute");
const tenfold: Config = {
  ...loaded.config,
  pools: { compute: { ...compute, max: 80, maxStartsPerTick: 20 } },
  runSchedules: Object.fromEntries(
    Object.entries(loaded.config.runSchedules).map(([n, r]) => [n, { ...r, hosts: 40 }]),
  ),
};
// The generator grows ad hoc rates with the pool's max (max / 8): 80 hosts is 10x the load.
await run("a month at 10x the load on 80 hosts", tenfold, 30, 1);
