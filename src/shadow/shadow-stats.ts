import { percentileOfSorted } from '../history/percentile';
import {
  DROP_REASONS,
  type ShadowAggregates,
  type ShadowComparison,
  type ShadowCounters,
  type ShadowDropReason,
  type Spread,
} from './shadow.types';

const zeroDrops = (): Record<ShadowDropReason, number> =>
  Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<ShadowDropReason, number>;

function spread(values: number[]): Spread {
  if (values.length === 0) {
    return { n: 0, mean: null, p50: null, p95: null };
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    n: values.length,
    mean: Math.round(mean * 10) / 10,
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
  };
}

const rate = (hits: number, n: number): number | null =>
  n === 0 ? null : Math.round((hits / n) * 1e4) / 1e4;

/**
 * What `GET /api/shadow` reports: counters since the last reset and the last `keep` comparisons, from which
 * the aggregates are computed when asked. Bounded by `keep` whatever the traffic.
 */
export class ShadowStats {
  private counters: ShadowCounters = ShadowStats.fresh();
  /** Oldest first; at most `keep`. */
  private recent: ShadowComparison[] = [];

  private static fresh(): ShadowCounters {
    return {
      sampled: 0,
      mirrored: 0,
      completed: 0,
      failed: 0,
      timedOut: 0,
      unmatched: 0,
      dropped: zeroDrops(),
    };
  }

  sampled(): void {
    this.counters.sampled += 1;
  }

  dropped(reason: ShadowDropReason): void {
    this.counters.dropped[reason] += 1;
  }

  ended(result: 'completed' | 'failed' | 'timed_out'): void {
    this.counters.mirrored += 1;
    if (result === 'completed') {
      this.counters.completed += 1;
    } else if (result === 'failed') {
      this.counters.failed += 1;
    } else {
      this.counters.timedOut += 1;
    }
  }

  unmatched(): void {
    this.counters.unmatched += 1;
  }

  add(comparison: ShadowComparison, keep: number): void {
    this.recent.push(comparison);
    if (this.recent.length > keep) {
      this.recent.splice(0, this.recent.length - keep);
    }
  }

  reset(): void {
    this.counters = ShadowStats.fresh();
    this.recent = [];
  }

  snapshot(): ShadowCounters {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  /** Newest first, at most `limit`. */
  comparisons(limit = this.recent.length): ShadowComparison[] {
    return limit <= 0 ? [] : this.recent.slice(-limit).reverse();
  }

  aggregates(): ShadowAggregates {
    const all = this.recent;
    // Latency and tokens only mean something where both sides answered.
    const both = all.filter((c) => c.primary.outcome === 'ok' && c.shadow.outcome === 'ok');
    const ofBoth = (pick: (c: ShadowComparison) => number | undefined): number[] =>
      both.map(pick).filter((v): v is number => v !== undefined);
    return {
      comparisons: all.length,
      ttfbDiffMs: spread(ofBoth((c) => c.diff.ttfbMs)),
      durationDiffMs: spread(ofBoth((c) => c.diff.durationMs)),
      outputTokenDiff: spread(ofBoth((c) => c.diff.outputTokens)),
      outcomeMismatchRate: rate(all.filter((c) => !c.diff.sameOutcome).length, all.length),
      stopReasonMismatchRate: rate(both.filter((c) => !c.diff.sameStopReason).length, both.length),
      textMismatchRate: rate(both.filter((c) => !c.diff.sameText).length, both.length),
    };
  }
}
