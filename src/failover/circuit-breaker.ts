export type CircuitState = 'closed' | 'open' | 'half_open';

export interface BreakerSettings {
  /** Open when failures / requests in the window reach this ratio… */
  errorRatio: number;
  /** …and the window holds at least this many requests. */
  minRequests: number;
  windowMs: number;
  /** Or open after this many failures in a row. */
  consecutiveFailures: number;
  /** First open period; doubles with each failed half-open probe… */
  openMs: number;
  /** …up to this cap. */
  maxOpenMs: number;
}

/** The part of a breaker shared across instances (Redis hash): when it reopens, how often it has tripped. */
export interface SharedBreakerState {
  /** Epoch ms until which the circuit is open; 0 = closed. */
  openUntil: number;
  /** Consecutive trips without a successful probe (drives the exponential open time). */
  level: number;
  /** Epoch ms of the last transition; the newest writer wins. */
  changedAt: number;
}

export type Admission =
  | { admitted: true; probe: boolean }
  | { admitted: false; until: number; reason: 'circuit_open' | 'half_open_busy' };

export type Transition = 'opened' | 'closed' | undefined;

const BUCKETS = 10;
/** A half-open probe that never reports back (crashed instance) stops blocking others after this. */
export const PROBE_LEASE_MS = 60_000;

/**
 * One target's circuit breaker: closed → open on an error ratio over a rolling window (with a minimum
 * request count) or on consecutive failures; open → half-open when the open period ends; half-open admits
 * exactly one probe whose outcome closes the circuit or reopens it for twice as long (capped). Pure and
 * clock-injected; sharing across instances is done by the caller through `snapshot` / `adopt`.
 */
export class CircuitBreaker {
  private readonly okCounts = new Array<number>(BUCKETS).fill(0);
  private readonly failCounts = new Array<number>(BUCKETS).fill(0);
  private readonly stamps = new Array<number>(BUCKETS).fill(-1);
  private consecutive = 0;
  private shared: SharedBreakerState = { openUntil: 0, level: 0, changedAt: 0 };
  private probeSince?: number;
  /** Attempts waiting for their first byte: token → start and what to do on a slow-call trip (start order). */
  private readonly waiting = new Map<number, number>();
  private nextToken = 1;
  /** When an attempt of this target last produced a first byte (or an answer); 0 = never. */
  private lastAnswerAt = 0;

  constructor(private settings: BreakerSettings) {}

  configure(settings: BreakerSettings): void {
    this.settings = settings;
  }

  state(now: number): CircuitState {
    if (this.shared.openUntil === 0) {
      return 'closed';
    }
    return now < this.shared.openUntil ? 'open' : 'half_open';
  }

  get openUntil(): number {
    return this.shared.openUntil;
  }

  /** Whether a request may go to the target now; in half-open the first caller becomes the probe. */
  admit(now: number): Admission {
    switch (this.state(now)) {
      case 'closed':
        return { admitted: true, probe: false };
      case 'open':
        return { admitted: false, until: this.shared.openUntil, reason: 'circuit_open' };
      case 'half_open':
        if (this.probeSince !== undefined && now - this.probeSince < PROBE_LEASE_MS) {
          return { admitted: false, until: now + 1000, reason: 'half_open_busy' };
        }
        this.probeSince = now;
        return { admitted: true, probe: true };
    }
  }

  /** An attempt went out: until `attemptSettled` it counts toward the slow-call trip. */
  attemptStarted(now: number): number {
    const token = this.nextToken++;
    this.waiting.set(token, now);
    return token;
  }

  /** The attempt produced its first byte (`answered`) or ended without one. */
  attemptSettled(token: number, answered: boolean, now: number): void {
    this.waiting.delete(token);
    if (answered) {
      this.lastAnswerAt = Math.max(this.lastAnswerAt, now);
    }
  }

  /** Attempts waiting for their first byte now. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** How long the oldest attempt still waiting for its first byte has waited (0 when none). */
  oldestWaitMs(now: number): number {
    for (const at of this.waiting.values()) {
      return now - at; // insertion order: the first is the oldest
    }
    return 0;
  }

  /** Attempts that have waited at least `slowMs` for their first byte. */
  slowCalls(now: number, slowMs: number): number {
    let n = 0;
    for (const at of this.waiting.values()) {
      if (now - at < slowMs) {
        break; // in start order: every later one is younger
      }
      n += 1;
    }
    return n;
  }

  /**
   * The slow-call trip (a hang signature): at least `minCalls` attempts have each waited `slowMs` for a
   * first byte and none of the target's attempts produced one in that time. Errors open a breaker as soon
   * as they come back; a provider that accepts connections and never answers would otherwise keep it
   * closed until every waiting request's first-byte deadline ran out.
   */
  tripIfSlow(now: number, slowMs: number, minCalls: number): Transition {
    if (this.state(now) !== 'closed' || this.waiting.size < minCalls || now - this.lastAnswerAt < slowMs) {
      return undefined;
    }
    if (this.slowCalls(now, slowMs) < minCalls) {
      return undefined;
    }
    // The attempts already waiting keep their own deadlines: a trip only turns new traffic away (if it was
    // wrong, nothing that was on its way is lost), and their failovers stay spread like their arrivals.
    return this.open(now);
  }

  /** The probe ended without a verdict (client abort, lost hedge, a request-specific 4xx). */
  releaseProbe(): void {
    this.probeSince = undefined;
  }

  onSuccess(now: number, probe: boolean): Transition {
    if (probe || this.state(now) === 'half_open') {
      return this.close(now);
    }
    this.record(now, true);
    this.consecutive = 0;
    return undefined;
  }

  onFailure(now: number, probe: boolean): Transition {
    if (probe) {
      return this.open(now);
    }
    if (this.state(now) !== 'closed') {
      return undefined; // a request admitted before the trip: the trip already accounted for it
    }
    this.record(now, false);
    this.consecutive += 1;
    const { requests, failures } = this.counts(now);
    const s = this.settings;
    if (
      this.consecutive >= s.consecutiveFailures ||
      (requests >= s.minRequests && failures / requests >= s.errorRatio)
    ) {
      return this.open(now);
    }
    return undefined;
  }

  counts(now: number): { requests: number; failures: number; consecutive: number } {
    const current = Math.floor(now / this.bucketMs());
    let ok = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.stamps[i] > current - BUCKETS) {
        ok += this.okCounts[i];
        failures += this.failCounts[i];
      }
    }
    return { requests: ok + failures, failures, consecutive: this.consecutive };
  }

  snapshot(): SharedBreakerState {
    return { ...this.shared };
  }

  /** Takes another instance's newer transition; returns whether anything changed. */
  adopt(remote: SharedBreakerState): boolean {
    if (remote.changedAt <= this.shared.changedAt) {
      return false;
    }
    const wasOpen = this.shared.openUntil !== 0;
    this.shared = { ...remote };
    this.probeSince = undefined;
    if (wasOpen !== (remote.openUntil !== 0)) {
      this.resetWindow();
    }
    return true;
  }

  private open(now: number): Transition {
    const level = this.shared.level + 1;
    const ms = Math.min(this.settings.maxOpenMs, this.settings.openMs * 2 ** Math.min(level - 1, 30));
    this.shared = { openUntil: now + ms, level, changedAt: now };
    this.probeSince = undefined;
    this.resetWindow();
    return 'opened';
  }

  private close(now: number): Transition {
    this.shared = { openUntil: 0, level: 0, changedAt: now };
    this.probeSince = undefined;
    this.resetWindow();
    return 'closed';
  }

  private resetWindow(): void {
    this.okCounts.fill(0);
    this.failCounts.fill(0);
    this.stamps.fill(-1);
    this.consecutive = 0;
  }

  private bucketMs(): number {
    return Math.max(1, Math.ceil(this.settings.windowMs / BUCKETS));
  }

  private record(now: number, ok: boolean): void {
    const stamp = Math.floor(now / this.bucketMs());
    const i = stamp % BUCKETS;
    if (this.stamps[i] !== stamp) {
      this.stamps[i] = stamp;
      this.okCounts[i] = 0;
      this.failCounts[i] = 0;
    }
    if (ok) {
      this.okCounts[i] += 1;
    } else {
      this.failCounts[i] += 1;
    }
  }
}
