// What any simple online policy can reach on the built-in workload: keep `spare` idle hosts warm
// above busy + pending during office hours (07-19 UTC, weekdays), the nightly batch's 4 hosts from
// 01:45, and stop a host idle for `idle` minutes. Prints cost (x the oracle's) against mean wait,
// the frontier DESIGN.md's simulator goal (<= 1.3x, <= 1 min) is measured against. Not a policy of
// vor-power: a yardstick (`npm run bench:frontier`).
import { fileURLToPath } from "node:url";
import { loadConfig } from "../shared/config/index.ts";
import { runOracle } from "../shared/sim/oracle.ts";
import { WORLD_DEFAULTS } from "../shared/sim/simulate.ts";
import { generateTrace } from "../shared/sim/trace-generate.ts";
import { World, bootedReady } from "../shared/sim/world.ts";

const MINUTE = 60_000;
const loaded = await loadConfig(
  fileURLToPath(new URL("../examples/vor-power.yaml", import.meta.url)),
);
if (!loaded.ok) throw new Error("the example config does not validate");
const config = loaded.config;
const start = Date.parse("2026-01-19T00:00:00Z");
const days = 14;
const warmMs = (WORLD_DEFAULTS.bootMin + WORLD_DEFAULTS.bootstrapMin) * MINUTE;

for (const seed of [1, 2, 3]) {
  const settings = { ...WORLD_DEFAULTS, days, seed, start };
  const trace = generateTrace({ config, start, days, seed });
  const oracleCost =
    (runOracle(trace, settings).hostMinutes / 60) * WORLD_DEFAULTS.pricePerHostHour;
  console.log(`seed ${seed}: ${trace.length} runs, oracle cost ${oracleCost.toFixed(2)}`);
  for (const spare of [0, 1, 2]) {
    for (const idle of [5, 20]) {
      const world = new World(settings, trace, { compute: { hosts: 8, runsPerHost: 1 } });
      const ready = bootedReady(world);
      for (let t = start; t < start + days * 1440 * MINUTE; t += MINUTE) {
        world.advance(t, ready);
        const at = new Date(t);
        const hour = at.getUTCHours();
        const weekday = at.getUTCDay() >= 1 && at.getUTCDay() <= 5;
        const office = weekday && hour >= 7 && hour < 19;
        const batch =
          weekday && ((hour === 1 && at.getUTCMinutes() >= 45) || (hour >= 2 && hour < 5)) ? 4 : 0;
        const busy = world.hosts.filter((h) => h.runs.size > 0).length;
        const need = world.pendingRuns("compute").reduce((sum, r) => sum + r.hosts, 0);
        const desired = Math.min(8, Math.max(batch, busy + need + (office ? spare : 0)));
        const on = world.hosts.filter((h) => h.cloud === "pending" || h.cloud === "running");
        let toStart = desired - on.length;
        for (const host of world.hosts) {
          if (toStart <= 0) break;
          if (host.cloud === "stopped" && world.start(host)) {
            host.readyAt = t + warmMs;
            toStart--;
          }
        }
        let excess = on.length - desired;
        for (const host of on) {
          if (excess <= 0) break;
          if (
            host.cloud === "running" &&
            host.runs.size === 0 &&
            t - host.idleSince >= idle * MINUTE
          ) {
            world.stop(host);
            excess--;
          }
        }
        world.dispatch(ready);
      }
      const { waitsMin } = world.finish();
      const cost = (world.measures.hostMinutes / 60) * WORLD_DEFAULTS.pricePerHostHour;
      const mean = waitsMin.reduce((a, b) => a + b, 0) / Math.max(1, waitsMin.length);
      console.log(
        `  spare ${spare}, idle ${String(idle).padStart(2)} min: ${(cost / oracleCost).toFixed(2)}x the oracle, mean wait ${mean.toFixed(2)} min`,
      );
    }
  }
}
