export type DeadlineKind = 'first_byte' | 'idle' | 'total';

/** A first-byte deadline that fired this late (a stall of the gateway's own loop) is extended by as much. */
const STALL_FORGIVEN_MS = 50;

/**
 * The abort reason when one of our own deadlines fires. Its name matches /timeout/i on purpose: the
 * providers' classifyTransportError then reports the aborted call as a retryable 504 `timeout`, not as a
 * client abort.
 */
export class UpstreamTimeoutError extends Error {
  constructor(
    readonly kind: DeadlineKind,
    readonly ms: number,
    target?: string,
  ) {
    super(`${target ? `${target}: ` : ''}${kind.replace('_', '-')} deadline of ${ms} ms exceeded`);
    this.name = 'UpstreamTimeoutError';
  }
}

export interface DeadlineOptions {
  /** The client's signal: its abort aborts the attempt too. */
  clientSignal?: AbortSignal;
  totalMs: number;
  firstByteMs: number;
  /** Longest wait for the next event once streaming (only while a read is pending). */
  idleMs: number;
  /** Named in timeout messages. */
  target?: string;
}

/** What `race` resolves with when the attempt was aborted before the raced promise settled. */
export const ABORTED: unique symbol = Symbol('aborted');

/**
 * One AbortController per upstream attempt carrying every deadline: total, first byte (until
 * `firstEvent()`), and the idle gap (armed only while a read is pending, so a slow client pulling with
 * backpressure is never mistaken for a stalled upstream). Timers and the client listener are released by
 * `dispose()`, which callers run in `finally`.
 *
 * Per event a stream arms and disarms the idle deadline and races one read: both are kept off the timer
 * list and the signal's listener list. The idle timer is created once and, when it fires while a read is
 * pending but younger than the deadline, re-armed for the remainder (a stalled read still fails within
 * `idleMs` of its start); `race` registers its waiter in a set that the one abort listener settles.
 *
 * A deadline that comes due is confirmed one poll phase later (a `setImmediate`): timers run before I/O in
 * a loop turn, so after the gateway's own loop was blocked past the due time, the upstream's bytes may be
 * sitting unread in the socket. They are read first; only if the awaited byte still has not come does the
 * deadline fire. And a first-byte deadline whose timer fired ≥ 50 ms late (the loop was stalled that
 * long) is extended once by that lateness: the gateway's own stall is not charged to the provider.
 */
export class AttemptDeadline {
  private readonly controller = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private firstByteTimer?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  /** performance.now() when the pending read started; undefined while no read is pending. */
  private readStartedAt?: number;
  private readonly waiters = new Set<(v: typeof ABORTED) => void>();
  private readonly onClientAbort = (): void => this.abort(this.opts.clientSignal?.reason);
  /** The deadline that fired, if any. */
  expired?: UpstreamTimeoutError;
  /** The first event arrived (`firstEvent`). */
  private answered = false;
  private disposed = false;

  constructor(private readonly opts: DeadlineOptions) {
    const client = opts.clientSignal;
    if (client?.aborted) {
      this.abort(client.reason);
      return;
    }
    this.controller.signal.addEventListener('abort', () => this.releaseWaiters(), { once: true });
    client?.addEventListener('abort', this.onClientAbort, { once: true });
    this.schedule('total', opts.totalMs);
    this.firstByteTimer = this.schedule('first_byte', Math.min(opts.firstByteMs, opts.totalMs));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** The first event arrived: the first-byte deadline no longer applies. */
  firstEvent(): void {
    this.answered = true;
    this.clear(this.firstByteTimer);
    this.firstByteTimer = undefined;
  }

  /** A read of the next event starts. */
  armIdle(): void {
    if (!Number.isFinite(this.opts.idleMs) || this.aborted) {
      return;
    }
    this.readStartedAt = performance.now();
    if (!this.idleTimer) {
      this.idleTimer = this.idleCheck(this.opts.idleMs);
    }
  }

  /** The read returned. */
  disarmIdle(): void {
    this.readStartedAt = undefined;
  }

  abort(reason?: unknown): void {
    if (!this.controller.signal.aborted) {
      this.controller.abort(reason);
    }
  }

  /**
   * Settles with the promise's outcome, or with ABORTED as soon as the attempt is aborted. Nothing stays
   * behind once the promise settles (a long stream races one read per event).
   */
  race<T>(promise: Promise<T>): Promise<T | typeof ABORTED> {
    if (this.aborted) {
      promise.catch(() => undefined);
      return Promise.resolve(ABORTED);
    }
    return new Promise<T | typeof ABORTED>((resolve, reject) => {
      const waiter = resolve as (v: typeof ABORTED) => void;
      this.waiters.add(waiter);
      promise.then(
        (value) => {
          this.waiters.delete(waiter);
          resolve(value);
        },
        (err: unknown) => {
          this.waiters.delete(waiter);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- pass the original through untouched
          reject(err);
        },
      );
    });
  }

  dispose(): void {
    this.disposed = true;
    for (const t of this.timers) {
      clearTimeout(t);
    }
    this.timers.clear();
    this.firstByteTimer = undefined;
    this.idleTimer = undefined;
    this.readStartedAt = undefined;
    this.opts.clientSignal?.removeEventListener('abort', this.onClientAbort);
  }

  private releaseWaiters(): void {
    for (const w of this.waiters) {
      w(ABORTED);
    }
    this.waiters.clear();
  }

  /** The idle timer: fires the deadline for a read pending `idleMs`, re-arms for a younger one. */
  private idleCheck(delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const started = this.readStartedAt;
      if (started === undefined || this.aborted) {
        this.idleTimer = undefined;
        return; // no read pending: the next armIdle starts a fresh timer
      }
      const waited = performance.now() - started;
      if (waited + 1 < this.opts.idleMs) {
        this.idleTimer = this.idleCheck(this.opts.idleMs - waited);
        return;
      }
      // Still `idleTimer` (armIdle starts none meanwhile) until the poll phase has had its turn.
      this.afterPoll(() => {
        this.idleTimer = undefined;
        const now = this.readStartedAt;
        if (now === started) {
          this.expire('idle', this.opts.idleMs);
        } else if (now !== undefined) {
          // That read returned and the next one started meanwhile: guard it for what remains of its wait.
          this.idleTimer = this.idleCheck(this.opts.idleMs - (performance.now() - now));
        }
      });
    }, Math.max(0, delayMs));
    this.timers.add(timer);
    return timer;
  }

  /**
   * Gives up on a first byte now (a half-open probe past the slow-call threshold: it will not answer in time).
   * A no-op once the first event arrived: an answer that started is never cut by this.
   */
  expireFirstByteNow(waitedMs: number): void {
    if (!this.answered) {
      this.expire('first_byte', waitedMs);
    }
  }

  private expire(kind: DeadlineKind, ms: number): void {
    if (!this.aborted) {
      this.expired = new UpstreamTimeoutError(kind, Math.round(ms), this.opts.target);
      this.abort(this.expired);
    }
  }

  /**
   * `forgiven`: the first-byte deadline already got its one extension for a stall of our own loop; `ms`
   * is then that extension and `deadlineMs` the deadline named in the error.
   */
  private schedule(
    kind: DeadlineKind,
    ms: number,
    forgiven = false,
    deadlineMs = ms,
  ): NodeJS.Timeout | undefined {
    if (!Number.isFinite(ms)) {
      return undefined;
    }
    const due = performance.now() + ms;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        const late = performance.now() - due;
        this.afterPoll(() => {
          if (kind !== 'first_byte') {
            this.expire(kind, deadlineMs);
          } else if (this.answered) {
            return;
          } else if (!forgiven && late >= STALL_FORGIVEN_MS) {
            // Our own loop ran this long past the deadline before it could even look: time the gateway
            // could not read or write is not charged to the provider (once; a real hang still fails).
            this.firstByteTimer = this.schedule(kind, late, true, deadlineMs);
          } else {
            this.expire(kind, deadlineMs);
          }
        });
      },
      Math.max(0, ms),
    );
    this.timers.add(timer);
    return timer;
  }

  /** Runs `check` after this loop turn's I/O (see the class comment), unless disposed or aborted meanwhile. */
  private afterPoll(check: () => void): void {
    setImmediate(() => {
      if (!this.disposed && !this.aborted) {
        check();
      }
    });
  }

  private clear(timer: NodeJS.Timeout | undefined): void {
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(timer);
    }
  }
}
