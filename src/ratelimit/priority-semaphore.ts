/** Why a wait for a slot ended without one. */
export type WaitFailure = 'timeout' | 'aborted';

/** The rejection of `acquire`: `why` says whether the wait timed out or the caller left. */
export class WaitError extends Error {
  constructor(readonly why: WaitFailure) {
    super(why === 'timeout' ? 'no slot within the wait' : 'the wait was aborted');
    this.name = 'WaitError';
  }
}

interface Waiter {
  priority: number;
  seq: number;
  grant: (release: () => void) => void;
  fail: (why: WaitFailure) => void;
}

/**
 * An in-process counting semaphore whose waiters are served by priority (higher first), then in arrival
 * order. It is the local form of the cluster-wide provider slots and the in-process queue scheduler.
 */
export class PrioritySemaphore {
  private held = 0;
  private seq = 0;
  private readonly waiters: Waiter[] = [];

  constructor(private limit: number) {}

  get inUse(): number {
    return this.held;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Waiting counts per priority (the queue depth by class). */
  waitingByPriority(): Map<number, number> {
    const out = new Map<number, number>();
    for (const w of this.waiters) {
      out.set(w.priority, (out.get(w.priority) ?? 0) + 1);
    }
    return out;
  }

  setLimit(limit: number): void {
    this.limit = Math.max(1, limit);
    this.drain();
  }

  /** A slot at once, if one is free and nobody with a claim is waiting; else undefined. */
  tryAcquire(): (() => void) | undefined {
    if (this.held < this.limit && this.waiters.length === 0) {
      this.held += 1;
      return this.releaser();
    }
    return undefined;
  }

  /** Resolves with the release function, or rejects with a WaitError. */
  acquire(priority: number, signal?: AbortSignal, maxWaitMs?: number): Promise<() => void> {
    const now = this.tryAcquire();
    if (now) {
      return Promise.resolve(now);
    }
    if (signal?.aborted) {
      return Promise.reject<() => void>(new WaitError('aborted'));
    }
    return new Promise<() => void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        priority,
        seq: this.seq++,
        grant: (release) => {
          cleanup();
          resolve(release);
        },
        fail: (why) => {
          cleanup();
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) {
            this.waiters.splice(i, 1);
          }
          reject(new WaitError(why));
        },
      };
      const onAbort = (): void => waiter.fail('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      if (maxWaitMs !== undefined && Number.isFinite(maxWaitMs)) {
        timer = setTimeout(() => waiter.fail('timeout'), maxWaitMs);
      }
      this.insert(waiter);
    });
  }

  private insert(w: Waiter): void {
    // Binary search on (priority desc, seq asc): the head is always the next to be served.
    let lo = 0;
    let hi = this.waiters.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.waiters[mid];
      if (m.priority > w.priority || (m.priority === w.priority && m.seq < w.seq)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    this.waiters.splice(lo, 0, w);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      this.held -= 1;
      this.drain();
    };
  }

  private drain(): void {
    while (this.held < this.limit && this.waiters.length > 0) {
      const next = this.waiters.shift() as Waiter;
      this.held += 1;
      next.grant(this.releaser());
    }
  }
}
