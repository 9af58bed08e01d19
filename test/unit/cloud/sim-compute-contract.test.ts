import { NO_FAULTS } from "../../../shared/sim/faults.ts";
import { seededRandom } from "../../../shared/sim/random.ts";
import { SimCompute } from "../../../shared/sim/sim-ports.ts";
import { World } from "../../../shared/sim/world.ts";
import { describeComputeProviderContract } from "../../support/compute-provider-contract.ts";
import { MINUTE_MS, worldSettings } from "../../support/sim-builders.ts";

// The simulator's compute keeps the contract the EC2 adapter keeps (test/integration/aws-ec2.test.ts),
// so what the simulator shows about starts, stops and tags holds on AWS.

describeComputeProviderContract("SimCompute", () => {
  const world = new World(worldSettings(), [], {});
  return {
    provider: new SimCompute(world, NO_FAULTS, seededRandom(1)),
    poolTag: "vor:pool",
    createHosts: (pool, count) => {
      const ids = Array.from(
        { length: count },
        (_, i) => `${pool}-h${String(i + 1).padStart(2, "0")}`,
      );
      for (const id of ids)
        world.hosts.push({
          id,
          pool,
          cloud: "stopped",
          tags: { "vor:pool": pool },
          runs: new Set(),
          idleSince: world.now,
        });
      return Promise.resolve(ids);
    },
    settle: () => {
      // Longer than a boot (bootMin) and a stop (30 s) in the simulated world.
      world.advance(world.now + 10 * MINUTE_MS, () => false);
      return Promise.resolve();
    },
  };
});
