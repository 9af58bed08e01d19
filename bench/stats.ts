// The statistics every benchmark prints, computed one way.

/** The list in ascending order (a copy). */
export const sortedOf = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

/** Nearest-rank percentile of a non-empty list (sorted here; NaN for an empty one). */
export function percentile(xs: readonly number[], p: number): number {
  const s = sortedOf(xs);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);
