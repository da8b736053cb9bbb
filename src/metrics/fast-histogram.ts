import type { Registry } from 'prom-client';

/** Bucket upper bounds in seconds. */
export const BUCKETS = {
  /**
   * Whole requests and upstream calls: LLM answers run from milliseconds (cache) to minutes, up to the
   * default API_TIMEOUT_MS of 600 s (long extended-thinking answers): beyond the last bound a quantile reads
   * as that bound.
   */
  request: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600],
  /** First bytes (client TTFB, upstream TTFB). */
  firstByte: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 60],
  /** Gateway overhead: what the gateway adds, sub-millisecond to a few seconds. */
  overhead: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  /** Gaps between upstream chunks, up to the default idle deadline's ceiling (AdaptiveTimeout.idle.maxMs). */
  gap: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  /** Queue wait. */
  queue: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
} as const;

/**
 * Observations kept locally (per upstream attempt, say) and merged into a histogram series once: a per-chunk
 * observation costs a short loop and two additions, no label lookup.
 */
export class LocalBuckets {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) {
      i++;
    }
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** One label set of a FastHistogram. */
export class HistogramSeries extends LocalBuckets {
  constructor(
    bounds: readonly number[],
    readonly labels: Record<string, string>,
  ) {
    super(bounds);
  }

  merge(local: LocalBuckets): void {
    if (local.count === 0 || local.bounds !== this.bounds) {
      return;
    }
    for (let i = 0; i < this.counts.length; i++) {
      this.counts[i] += local.counts[i];
    }
    this.sum += local.sum;
    this.count += local.count;
  }
}

const OVERFLOW = 'other';

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A Prometheus histogram (registered in a prom-client Registry, exported in its text format) whose series
 * are resolved once and kept: `series(...)` is a Map lookup, `observe` a short loop. Series are capped; label
 * values past the cap fold into one series labelled `other`, so a label gone wrong cannot grow memory.
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly all = new Map<string, HistogramSeries>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly bounds: readonly number[],
    private readonly maxSeries = 2_000,
  ) {
    registry.registerMetric(this as never);
  }

  series(...values: string[]): HistogramSeries {
    const key = values.join('\u0001');
    let s = this.all.get(key);
    if (!s) {
      const overflow = this.labelNames.map(() => OVERFLOW);
      if (this.all.size >= this.maxSeries && key !== overflow.join('\u0001')) {
        return this.series(...overflow); // created once, one past the cap
      }
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
      s = new HistogramSeries(this.bounds, labels);
      this.all.set(key, s);
    }
    return s;
  }

  observe(value: number, ...labelValues: string[]): void {
    this.series(...labelValues).observe(value);
  }

  reset(): void {
    this.all.clear();
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const s of this.all.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i];
        values.push({ labels: { ...s.labels, le }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }
}
