import { addInto, binOf, newSketch, quantile } from './latency-sketch';

/** What one finished request contributes to the SLA. */
export type SlaSample =
  /** A client error or abort: seen, but not counted for availability. */
  { kind: 'excluded' } | { kind: 'failed' } | { kind: 'ok'; latencyMs: number };

/** Sums over a span of time. */
export interface SlaTotals {
  total: number;
  failed: number;
  excluded: number;
  /** Successful answers slower than the latency target. */
  slow: number;
  /** Successful answers' latency bins (latency-sketch). */
  latency: Uint32Array;
}

interface Bucket extends SlaTotals {
  /** Start of the bucket's span (epoch ms, a multiple of the bucket width); -1 = never used. */
  start: number;
}

const emptyTotals = (): SlaTotals => ({ total: 0, failed: 0, excluded: 0, slow: 0, latency: newSketch() });

/**
 * A ring of fixed-width time buckets covering `width × size` ms: memory is fixed at construction (one latency
 * sketch per bucket) whatever the traffic. A bucket is reset when time comes back round to it.
 */
export class SlaRing {
  private readonly buckets: Bucket[];

  constructor(
    readonly widthMs: number,
    readonly size: number,
  ) {
    this.buckets = Array.from({ length: size }, () => ({ start: -1, ...emptyTotals() }));
  }

  get spanMs(): number {
    return this.widthMs * this.size;
  }

  add(now: number, sample: SlaSample, slowAboveMs: number): void {
    const b = this.bucketAt(now);
    switch (sample.kind) {
      case 'excluded':
        b.excluded++;
        return;
      case 'failed':
        b.total++;
        b.failed++;
        return;
      case 'ok': {
        b.total++;
        b.latency[binOf(sample.latencyMs)]++;
        if (sample.latencyMs > slowAboveMs) {
          b.slow++;
        }
        return;
      }
    }
  }

  /**
   * Everything recorded in the buckets that start within (now − windowMs, now]: the window covers between
   * `windowMs − width` and `windowMs` of the past, never more.
   */
  sum(now: number, windowMs: number): SlaTotals {
    const out = emptyTotals();
    const from = now - windowMs;
    for (const b of this.buckets) {
      if (b.start < 0 || b.start <= from || b.start > now) {
        continue;
      }
      out.total += b.total;
      out.failed += b.failed;
      out.excluded += b.excluded;
      out.slow += b.slow;
      addInto(out.latency, b.latency);
    }
    return out;
  }

  private bucketAt(now: number): Bucket {
    const slot = Math.floor(now / this.widthMs);
    const b = this.buckets[slot % this.size];
    const start = slot * this.widthMs;
    if (b.start !== start) {
      b.start = start;
      b.total = 0;
      b.failed = 0;
      b.excluded = 0;
      b.slow = 0;
      b.latency.fill(0);
    }
    return b;
  }
}

export const WINDOW_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000, '24h': 24 * 60 * 60_000 } as const;
export type MemoryWindow = keyof typeof WINDOW_MS;

/**
 * The in-memory SLA windows of this instance: 10-second buckets for the last hour (5 m and 1 h windows),
 * 5-minute buckets for the last day (24 h). About 400 KB in all, fixed.
 */
export class SlaWindows {
  private readonly fine = new SlaRing(10_000, 361);
  private readonly coarse = new SlaRing(5 * 60_000, 289);

  constructor(private readonly slowAboveMs: number) {}

  record(now: number, sample: SlaSample): void {
    this.fine.add(now, sample, this.slowAboveMs);
    this.coarse.add(now, sample, this.slowAboveMs);
  }

  totals(window: MemoryWindow, now: number): SlaTotals {
    const ms = WINDOW_MS[window];
    return (ms <= this.fine.spanMs - this.fine.widthMs ? this.fine : this.coarse).sum(now, ms);
  }
}

export interface SlaFigures {
  availability: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Failure ratio over the allowed one. */
  burnRate: number | null;
  /** Slow share of successful answers over the allowed 5 %. */
  latencyBurnRate: number | null;
}

/** Availability, percentiles and burn rates of a window against the targets. */
export function figures(t: SlaTotals, availabilityTarget: number): SlaFigures {
  const ok = t.total - t.failed;
  const allowed = 1 - availabilityTarget;
  return {
    availability: t.total > 0 ? ok / t.total : null,
    p50: quantile(t.latency, ok, 0.5),
    p95: quantile(t.latency, ok, 0.95),
    p99: quantile(t.latency, ok, 0.99),
    burnRate: t.total > 0 ? t.failed / t.total / allowed : null,
    latencyBurnRate: ok > 0 ? t.slow / ok / 0.05 : null,
  };
}
