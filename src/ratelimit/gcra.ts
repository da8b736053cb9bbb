/**
 * GCRA (generic cell rate algorithm) — the math shared by the Redis script and the in-process limiter.
 *
 * A bucket allows `limit` units per `periodMs`, in bursts of up to `limit`. Its whole state is one number,
 * the theoretical arrival time (TAT): the moment the bucket would be empty again. A call of cost `c` moves
 * the TAT forward by `c × periodMs / limit`; it is allowed while the TAT stays within one period of now.
 */

/** One bucket touched by a call. `key` names it in the store; `cost` may be negative when settling. */
export interface GcraBucket {
  key: string;
  /** Units per period; may be fractional (an instance's share limit / N). Must be > 0. */
  limit: number;
  periodMs: number;
  cost: number;
}

/**
 * `check`: all-or-nothing admission (a call denied on one bucket consumes none); costs are capped at the
 * bucket's limit so that no call is refused forever. `adjust`: settles a difference after the fact, never
 * denies — a credit never takes a bucket below empty, a charge leaves at most one extra period of debt.
 */
export type GcraMode = 'check' | 'adjust';

export interface GcraOutcome {
  allowed: boolean;
  /** When denied: ms until the call would be allowed. */
  retryAfterMs: number;
  /** When denied: index of the bucket that waits longest. */
  limitingIndex: number;
  /** Whole units left in each bucket after the call (0 when in debt). */
  remaining: number[];
  /** The cost applied to each bucket (after capping); zeros when denied. */
  applied: number[];
}

/** Floating-point slack: `limit` calls of T ms each must fit exactly into one period. */
const EPSILON_MS = 0.001;

/** Cost of one call as applied: capped at the limit in `check` mode so a large call can always pass eventually. */
export function appliedCost(bucket: GcraBucket, mode: GcraMode): number {
  return mode === 'check' ? Math.min(bucket.cost, bucket.limit) : bucket.cost;
}

/**
 * One call against `buckets` whose stored TATs are `tats` (0 or any past time = empty). Returns the outcome
 * and the TATs to store (unchanged when denied). Pure: the clock is a parameter.
 */
export function gcraApply(
  tats: readonly number[],
  buckets: readonly GcraBucket[],
  now: number,
  mode: GcraMode,
): { outcome: GcraOutcome; next: number[] } {
  const start: number[] = [];
  const next: number[] = [];
  let retryAfterMs = 0;
  let limitingIndex = -1;
  buckets.forEach((b, i) => {
    const interval = b.periodMs / b.limit;
    const tau = b.periodMs;
    const tat = Math.max(tats[i] ?? 0, now);
    let nt = tat + appliedCost(b, mode) * interval;
    if (mode === 'check') {
      const wait = nt - tau - now;
      if (wait > EPSILON_MS && wait > retryAfterMs) {
        retryAfterMs = wait;
        limitingIndex = i;
      }
    } else {
      nt = Math.min(Math.max(nt, now), now + 2 * tau);
    }
    start.push(tat);
    next.push(nt);
  });
  const allowed = limitingIndex < 0;
  const basis = allowed ? next : start;
  const remaining = buckets.map((b, i) => {
    const interval = b.periodMs / b.limit;
    return Math.max(0, Math.floor((b.periodMs - (basis[i] - now) + EPSILON_MS) / interval));
  });
  return {
    outcome: {
      allowed,
      retryAfterMs: allowed ? 0 : Math.ceil(retryAfterMs),
      limitingIndex,
      remaining,
      applied: allowed ? buckets.map((b) => appliedCost(b, mode)) : buckets.map(() => 0),
    },
    next: allowed ? next : buckets.map((_b, i) => tats[i] ?? 0),
  };
}

/**
 * The in-process store of TATs (the local form of the limiter). Bounded: past `maxKeys` the entries that
 * are already empty go first, then the oldest; an evicted bucket simply starts empty again.
 */
export class LocalGcra {
  private readonly tats = new Map<string, number>();

  constructor(private readonly maxKeys = 10_000) {}

  get size(): number {
    return this.tats.size;
  }

  apply(buckets: readonly GcraBucket[], now: number, mode: GcraMode): GcraOutcome {
    const current = buckets.map((b) => this.tats.get(b.key) ?? 0);
    const { outcome, next } = gcraApply(current, buckets, now, mode);
    if (outcome.allowed) {
      buckets.forEach((b, i) => this.store(b.key, next[i], now));
    }
    return outcome;
  }

  clear(): void {
    this.tats.clear();
  }

  private store(key: string, tat: number, now: number): void {
    if (tat <= now) {
      this.tats.delete(key);
      return;
    }
    // Re-inserting keeps Map order = least recently written first.
    this.tats.delete(key);
    if (this.tats.size >= this.maxKeys) {
      this.evict(now);
    }
    this.tats.set(key, tat);
  }

  /** Frees a tenth of the room at once, so a store full of live buckets does not scan on every write. */
  private evict(now: number): void {
    for (const [k, t] of this.tats) {
      if (t <= now) {
        this.tats.delete(k);
      }
    }
    const target = Math.floor(this.maxKeys * 0.9);
    while (this.tats.size > target) {
      const oldest = this.tats.keys().next().value as string;
      this.tats.delete(oldest);
    }
  }
}
