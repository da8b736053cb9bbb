import type { LatencyPercentiles } from './history.types';

/** 1-based nearest rank of percentile `p` among `n` sorted samples (the same rule as LatencyWindow). */
export function nearestRank(p: number, n: number): number {
  return Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
}

/** Nearest-rank percentile of ascending `sorted`; null when empty. */
export function percentileOfSorted(sorted: readonly number[], p: number): number | null {
  return sorted.length === 0 ? null : sorted[nearestRank(p, sorted.length) - 1];
}

/** p50/p95/p99 of unsorted samples (sorted in place). */
export function percentiles(samples: number[]): LatencyPercentiles {
  samples.sort((a, b) => a - b);
  return {
    p50: percentileOfSorted(samples, 50),
    p95: percentileOfSorted(samples, 95),
    p99: percentileOfSorted(samples, 99),
  };
}
