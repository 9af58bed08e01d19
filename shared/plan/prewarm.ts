import type { Pool } from "../config/index.ts";
import type { PoolControl } from "./snapshot.ts";

// The learned pre-warm (DESIGN.md, "Floor"): per hour-of-week slot, a level of demand the pool
// usually sees there, kept in the state store. It rises fast when demand is above it and decays
// slowly, so it tracks the busy end of a slot rather than its average: a burst that happens most
// Tuesdays at 09:00 finds hosts warm the next Tuesday.

const HOUR = 3_600_000;
const RISE = 0.2;
const DECAY = 0.02;
/** a level just above a whole host does not hold a second one */
const SLACK = 0.2;

/** "0" = Monday 00:00-01:00 UTC ... "167" = Sunday 23:00 UTC. */
export function slotOf(at: number): string {
  const hour = Math.floor(at / HOUR);
  // 1970-01-01 was a Thursday: shift so Monday is slot 0.
  return String((hour + 3 * 24) % 168);
}

/** The slot's new level after seeing `demand` once (one tick). */
export function learnedLevel(previous: number, demand: number): number {
  const rate = demand > previous ? RISE : DECAY;
  return Math.round((previous + rate * (demand - previous)) * 1000) / 1000;
}

/** Hosts to hold warm now: the level of this slot or of the slot a startup from now. */
export function prewarmHosts(pool: Pool, control: PoolControl, now: number): number {
  if (pool.prewarm !== "learned") return 0;
  const levels = [now, now + pool.startupEstimate].map((t) => control.learned[slotOf(t)] ?? 0);
  return Math.max(0, ...levels.map((level) => Math.ceil(level - SLACK)));
}
