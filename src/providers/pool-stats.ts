import type { PoolCounts } from './pool-elastic';

/** undici PoolStats of one origin plus the pool-management counters (UpstreamClient.stats()). */
export interface OriginStats extends PoolCounts {
  origin: string;
  /** Connection limit: the fixed `connections`, or the elastic pool's current one. */
  limit: number;
  /** Grow/shrink events so far (auto-tuning). */
  tuneEvents: number;
  /** Idle health pings sent, and how many got no answer. */
  pings: number;
  pingFailures: number;
}

export interface OriginActivity {
  /** Last real request (warm-up and pings excluded); 0 = never. */
  lastUsedAt: number;
  tuneEvents: number;
  pings: number;
  pingFailures: number;
}

/** Per-origin counters beside the pools; one entry per origin, like the pools themselves. */
export class OriginLedger {
  private readonly byOrigin = new Map<string, OriginActivity>();

  of(origin: string): OriginActivity {
    let a = this.byOrigin.get(origin);
    if (!a) {
      a = { lastUsedAt: 0, tuneEvents: 0, pings: 0, pingFailures: 0 };
      this.byOrigin.set(origin, a);
    }
    return a;
  }

  stats(origin: string, s: PoolCounts, limit: number): OriginStats {
    const a = this.of(origin);
    return {
      origin,
      connected: s.connected,
      free: s.free,
      pending: s.pending,
      running: s.running,
      queued: s.queued,
      size: s.size,
      limit,
      tuneEvents: a.tuneEvents,
      pings: a.pings,
      pingFailures: a.pingFailures,
    };
  }
}
