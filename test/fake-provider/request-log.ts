/** The fake's request log: bounded history, in-flight counters and `waitFor` waiters. */
import type { RecordedRequest } from './types';

interface Waiter {
  pred: (r: RecordedRequest[]) => boolean;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class RequestLog {
  /** Mutated in place so references held by tests stay live across reset(). */
  readonly requests: RecordedRequest[] = [];
  private seq = 0;
  private open = 0;
  private highWater = 0;
  private refused = 0;
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly max: number) {}

  begin(r: Omit<RecordedRequest, 'seq'>): RecordedRequest {
    const rec: RecordedRequest = { seq: ++this.seq, ...r };
    this.requests.push(rec);
    if (this.requests.length > this.max) {
      this.requests.splice(0, this.requests.length - this.max);
    }
    this.open++;
    this.highWater = Math.max(this.highWater, this.open);
    this.changed();
    return rec;
  }

  end(rec: RecordedRequest, closedByClient: boolean): void {
    const now = Date.now();
    rec.finishedAt = now;
    if (closedByClient) {
      rec.closedByClient = true;
      rec.clientClosedAt = now;
    }
    this.open = Math.max(0, this.open - 1);
    this.changed();
  }

  countRefused(): void {
    this.refused++;
  }

  refusedConnections(): number {
    return this.refused;
  }

  inFlight(): number {
    return this.open;
  }

  maxInFlight(): number {
    return this.highWater;
  }

  count(filter?: Partial<Pick<RecordedRequest, 'api' | 'path' | 'model'>>): number {
    if (!filter) {
      return this.requests.length;
    }
    let n = 0;
    for (const r of this.requests) {
      if (
        (filter.api === undefined || r.api === filter.api) &&
        (filter.path === undefined || r.path === filter.path) &&
        (filter.model === undefined || r.model === filter.model)
      ) {
        n++;
      }
    }
    return n;
  }

  /** Clears history and high-water mark; open requests stay counted (they are still open). */
  reset(): void {
    this.requests.length = 0;
    this.highWater = this.open;
    this.refused = 0;
  }

  waitFor(pred: (r: RecordedRequest[]) => boolean, timeoutMs = 5000): Promise<void> {
    if (pred(this.requests)) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(
            new Error(
              `fake provider: waitFor timed out after ${timeoutMs} ms (${this.requests.length} requests)`,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Re-evaluates waiters; call after any change to a record. */
  changed(): void {
    for (const w of this.waiters) {
      let ok = false;
      try {
        ok = w.pred(this.requests);
      } catch (e) {
        this.settle(w);
        w.reject(e as Error);
        continue;
      }
      if (ok) {
        this.settle(w);
        w.resolve();
      }
    }
  }

  /** On server close: pending waiters fail instead of holding timers. */
  rejectAll(reason: string): void {
    for (const w of [...this.waiters]) {
      this.settle(w);
      w.reject(new Error(reason));
    }
  }

  private settle(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
  }
}
