export type DeadlineKind = 'first_byte' | 'idle' | 'total';

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
 */
export class AttemptDeadline {
  private readonly controller = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private firstByteTimer?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  private readonly onClientAbort = (): void => this.abort(this.opts.clientSignal?.reason);
  /** The deadline that fired, if any. */
  expired?: UpstreamTimeoutError;

  constructor(private readonly opts: DeadlineOptions) {
    const client = opts.clientSignal;
    if (client?.aborted) {
      this.abort(client.reason);
      return;
    }
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
    this.clear(this.firstByteTimer);
    this.firstByteTimer = undefined;
  }

  /** A read of the next event starts. */
  armIdle(): void {
    this.clear(this.idleTimer);
    this.idleTimer = this.schedule('idle', this.opts.idleMs);
  }

  /** The read returned. */
  disarmIdle(): void {
    this.clear(this.idleTimer);
    this.idleTimer = undefined;
  }

  abort(reason?: unknown): void {
    if (!this.controller.signal.aborted) {
      this.controller.abort(reason);
    }
  }

  /**
   * Settles with the promise's outcome, or with ABORTED as soon as the attempt is aborted. The abort
   * listener is removed when the promise settles (a long-lived Promise.race partner would accumulate one
   * reaction per event of a long stream).
   */
  race<T>(promise: Promise<T>): Promise<T | typeof ABORTED> {
    const signal = this.controller.signal;
    if (signal.aborted) {
      promise.catch(() => undefined);
      return Promise.resolve(ABORTED);
    }
    return new Promise<T | typeof ABORTED>((resolve, reject) => {
      const onAbort = (): void => resolve(ABORTED);
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- pass the original through untouched
          reject(err);
        },
      );
    });
  }

  dispose(): void {
    for (const t of this.timers) {
      clearTimeout(t);
    }
    this.timers.clear();
    this.firstByteTimer = undefined;
    this.idleTimer = undefined;
    this.opts.clientSignal?.removeEventListener('abort', this.onClientAbort);
  }

  private schedule(kind: DeadlineKind, ms: number): NodeJS.Timeout | undefined {
    if (!Number.isFinite(ms)) {
      return undefined;
    }
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.aborted) {
          this.expired = new UpstreamTimeoutError(kind, Math.round(ms), this.opts.target);
          this.abort(this.expired);
        }
      },
      Math.max(0, ms),
    );
    this.timers.add(timer);
    return timer;
  }

  private clear(timer: NodeJS.Timeout | undefined): void {
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(timer);
    }
  }
}
