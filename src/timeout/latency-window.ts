export interface Percentiles {
  samples: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * The last `capacity` latency samples (a ring, not a uniform reservoir: a provider's recent behaviour is
 * what a deadline should follow). Percentiles are computed on demand and cached until the next sample.
 */
export class LatencyWindow {
  private readonly ring: number[] = [];
  private next = 0;
  private sorted: number[] | null = null;

  constructor(readonly capacity: number) {}

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      return;
    }
    const value = Math.round(ms);
    if (this.ring.length < this.capacity) {
      this.ring.push(value);
    } else {
      this.ring[this.next] = value;
    }
    this.next = (this.next + 1) % this.capacity;
    this.sorted = null;
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
    this.next = 0;
    this.sorted = null;
    for (const s of samples.slice(-this.capacity)) {
      this.add(s);
    }
  }

  /** Nearest-rank percentile; null with no samples. */
  percentile(p: number): number | null {
    if (this.ring.length === 0) {
      return null;
    }
    this.sorted ??= [...this.ring].sort((a, b) => a - b);
    const rank = Math.ceil((p / 100) * this.sorted.length);
    return this.sorted[Math.min(this.sorted.length - 1, Math.max(0, rank - 1))];
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
