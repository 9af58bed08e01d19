/** A half-open span of instants [start, end), in epoch milliseconds. */
export interface Interval {
  readonly start: number;
  readonly end: number;
}

/**
 * Sorts and unites intervals, also joining those separated by at most `maxGapMs`. Empty
 * intervals are dropped. The result is ordered and disjoint.
 */
export function mergeIntervals(intervals: readonly Interval[], maxGapMs: number): Interval[] {
  const sorted = intervals.filter((i) => i.start < i.end).sort((a, b) => a.start - b.start);
  const merged: Interval[] = [];
  for (const next of sorted) {
    const last = merged.at(-1);
    if (last && next.start - last.end <= maxGapMs) {
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, next.end) };
    } else {
      merged.push(next);
    }
  }
  return merged;
}

/** Whether any of `intervals` contains `instant`. */
export function covers(intervals: readonly Interval[], instant: number): boolean {
  return intervals.some((i) => i.start <= instant && instant < i.end);
}
