const BUCKETS = 12;

/**
 * Rolling-window budget for hedged requests: a hedge may start only while hedges stay within
 * `percent` of the requests seen in the window, so a slow provider cannot double the load on the others.
 */
export class HedgeBudget {
  private readonly requests = new Array<number>(BUCKETS).fill(0);
  private readonly hedges = new Array<number>(BUCKETS).fill(0);
  private readonly stamps = new Array<number>(BUCKETS).fill(-1);

  constructor(private windowMs: number) {}

  configure(windowMs: number): void {
    this.windowMs = windowMs;
  }

  noteRequest(now: number): void {
    this.requests[this.bucket(now)] += 1;
  }

  /** Takes one hedge from the budget if there is room. */
  tryAcquire(now: number, percent: number): boolean {
    const { requests, hedges } = this.totals(now);
    if (hedges + 1 > (percent / 100) * requests) {
      return false;
    }
    this.hedges[this.bucket(now)] += 1;
    return true;
  }

  totals(now: number): { requests: number; hedges: number } {
    const current = Math.floor(now / this.bucketMs());
    let requests = 0;
    let hedges = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.stamps[i] > current - BUCKETS) {
        requests += this.requests[i];
        hedges += this.hedges[i];
      }
    }
    return { requests, hedges };
  }

  private bucketMs(): number {
    return Math.max(1, Math.ceil(this.windowMs / BUCKETS));
  }

  private bucket(now: number): number {
    const stamp = Math.floor(now / this.bucketMs());
    const i = stamp % BUCKETS;
    if (this.stamps[i] !== stamp) {
      this.stamps[i] = stamp;
      this.requests[i] = 0;
      this.hedges[i] = 0;
    }
    return i;
  }
}
