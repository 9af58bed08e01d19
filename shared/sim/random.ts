// A small seeded PRNG for the simulator: the same seed gives the same trace on every machine.
// Math.random cannot be seeded, and a trace that changes between runs cannot be compared.
import { InvariantError } from "../schedule/index.ts";

/** Draws from one seeded stream; every helper advances the same stream. */
export interface Random {
  /** uniform in [0, 1) */
  next(): number;
  /** uniform in [min, max) */
  uniform(min: number, max: number): number;
  /** true with probability `p` */
  chance(p: number): boolean;
  /** exponential with the given mean (waiting times between independent arrivals) */
  exponential(mean: number): number;
  /** standard normal (Box-Muller) */
  normal(): number;
  /** lognormal with the given median and sigma of its logarithm (right-skewed durations) */
  lognormal(median: number, sigma: number): number;
  /** Poisson-distributed count with the given mean */
  poisson(mean: number): number;
  /** one item of a non-empty list, uniformly */
  pick<T>(items: readonly T[]): T;
}

/**
 * mulberry32: 32-bit state, period 2^32, good enough to shape a workload (not for cryptography).
 * The seed is read as an unsigned 32-bit integer, so 1 and 2^32 + 1 give the same stream.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A seeded `Random` built on mulberry32. */
export function seededRandom(seed: number): Random {
  const next = mulberry32(seed);
  const random: Random = {
    next,
    uniform: (min, max) => min + (max - min) * next(),
    chance: (p) => next() < p,
    // 1 - next() lies in (0, 1], so the logarithm is finite.
    exponential: (mean) => -mean * Math.log(1 - next()),
    normal: () => {
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    lognormal: (median, sigma) => median * Math.exp(sigma * random.normal()),
    poisson: (mean) => {
      if (mean <= 0) return 0;
      // Knuth's product method underflows near exp(-745); split large means (sums of Poissons).
      if (mean > 100) return random.poisson(mean / 2) + random.poisson(mean / 2);
      const limit = Math.exp(-mean);
      let count = 0;
      let product = next();
      while (product > limit) {
        count += 1;
        product *= next();
      }
      return count;
    },
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new InvariantError("pick() needs a non-empty list");
      return item;
    },
  };
  return random;
}
