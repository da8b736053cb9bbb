export interface Percentiles {
  samples: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * The last `capacity` latency samples (a ring, not a uniform reservoir: a provider's recent behaviour is
 * what a deadline should follow). A sorted copy is kept up to date on every sample (two binary searches
 * and a short move), so a percentile, asked for on every request, never sorts or allocates.
 */
export class LatencyWindow {
  private readonly ring: number[] = [];
  private next = 0;
  private readonly sorted: number[] = [];

  constructor(readonly capacity: number) {}

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      return;
    }
    const value = Math.round(ms);
    if (this.ring.length < this.capacity) {
      this.ring.push(value);
    } else {
      const evicted = this.ring[this.next];
      this.ring[this.next] = value;
      this.sorted.splice(lowerBound(this.sorted, evicted), 1);
    }
    this.sorted.splice(lowerBound(this.sorted, value), 0, value);
    this.next = (this.next + 1) % this.capacity;
  }

  get size(): number {
    return this.ring.length;
  }

  /** Oldest first (the order `load` expects), for persistence. */
  values(): number[] {
    if (this.ring.length < this.capacity) {
      return [...this.ring];
    }
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  /** Replaces the content with persisted samples (oldest first); only the newest `capacity` are kept. */
  load(samples: number[]): void {
    this.ring.length = 0;
    this.sorted.length = 0;
    this.next = 0;
    for (const s of samples.slice(-this.capacity)) {
      this.add(s);
    }
  }

  /** Nearest-rank percentile; null with no samples. */
  percentile(p: number): number | null {
    const n = this.sorted.length;
    if (n === 0) {
      return null;
    }
    const rank = Math.ceil((p / 100) * n);
    return this.sorted[Math.min(n - 1, Math.max(0, rank - 1))];
  }

  summary(): Percentiles {
    return {
      samples: this.size,
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
    };
  }
}

/** The first index of `sorted` whose value is not below `value`. */
function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}
