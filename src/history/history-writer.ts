import type { HistoryRow, HistoryStats } from './history.types';

export interface HistoryWriterOptions {
  batchSize: number;
  flushIntervalMs: number;
  maxQueue: number;
}

/** Writes one batch in one transaction; rejects when nothing was written. */
export type WriteBatch = (rows: HistoryRow[]) => Promise<void>;

export type WriterStats = Pick<
  HistoryStats,
  'queued' | 'maxQueue' | 'accepted' | 'written' | 'dropped' | 'writeErrors' | 'lastError' | 'lastWriteAt'
> & { failing: boolean };

const errorCode = (err: Error): string | null => {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
};

/**
 * The bounded queue between finished requests and SQLite. `push` is O(1) and never waits: when the queue
 * is full the row is dropped and counted. One batch is in flight at a time; a full batch is written at
 * once (next macrotask, never inside the request's call stack), a partial one on the interval. A failed
 * batch goes back to the front while there is room, so a transient failure (a lock, a full disk freed)
 * loses nothing and a lasting one holds at most `maxQueue` rows.
 */
export class HistoryWriter {
  private queue: HistoryRow[] = [];
  private inFlight?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private kick?: NodeJS.Immediate;
  private closed = false;
  private accepted = 0;
  private written = 0;
  private dropped = 0;
  private writeErrors = 0;
  private failing = false;
  private lastError: WriterStats['lastError'] = null;
  private lastWriteAt: number | null = null;

  constructor(
    private readonly write: WriteBatch,
    private readonly opts: HistoryWriterOptions,
    /** Called after every batch with its error (undefined = written): state changes, logging. */
    private readonly onBatch: (err: Error | undefined, rows: number) => void = () => undefined,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flushOnce(), this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /** False when the row was dropped (queue full or writer closed). */
  push(row: HistoryRow): boolean {
    if (this.closed || this.queue.length >= this.opts.maxQueue) {
      this.dropped++;
      return false;
    }
    this.queue.push(row);
    this.accepted++;
    if (this.queue.length >= this.opts.batchSize) {
      this.scheduleKick();
    }
    return true;
  }

  /** Writes one batch, or joins the one in flight. */
  flushOnce(): Promise<void> {
    if (this.inFlight) {
      return this.inFlight;
    }
    if (this.queue.length === 0) {
      return Promise.resolve();
    }
    const batch = this.queue.splice(0, this.opts.batchSize);
    const attempt = (async () => {
      try {
        await this.write(batch);
      } catch (err) {
        this.failed(batch, err as Error);
        return;
      }
      this.written += batch.length;
      this.lastWriteAt = Date.now();
      this.failing = false;
      this.onBatch(undefined, batch.length);
      if (this.queue.length >= this.opts.batchSize) {
        this.scheduleKick();
      }
    })();
    this.inFlight = attempt.finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Stops accepting rows and writes what is queued, until the queue is empty, a batch fails, or the
   * deadline passes (shutdown must not hang on a dead disk).
   */
  async drain(deadlineMs: number): Promise<void> {
    this.closed = true;
    this.stopTimers();
    const until = Date.now() + deadlineMs;
    while (this.queue.length > 0 || this.inFlight) {
      const remaining = until - Date.now();
      if (remaining <= 0) {
        return;
      }
      const errors = this.writeErrors;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), remaining);
      });
      try {
        // A write stuck on the disk must not hold the shutdown past the deadline.
        if ((await Promise.race([this.flushOnce(), deadline])) === 'deadline') {
          return;
        }
      } finally {
        clearTimeout(timer);
      }
      if (this.writeErrors > errors) {
        return;
      }
    }
  }

  stop(): void {
    this.closed = true;
    this.stopTimers();
  }

  /** A failure outside a batch (opening the database) also makes the history `failing`. */
  noteFailure(err: Error): void {
    this.writeErrors++;
    this.failing = true;
    this.lastError = { message: err.message, code: errorCode(err), at: Date.now() };
  }

  noteSuccess(): void {
    this.failing = false;
  }

  stats(): WriterStats {
    return {
      queued: this.queue.length,
      maxQueue: this.opts.maxQueue,
      accepted: this.accepted,
      written: this.written,
      dropped: this.dropped,
      writeErrors: this.writeErrors,
      lastError: this.lastError,
      lastWriteAt: this.lastWriteAt,
      failing: this.failing,
    };
  }

  private failed(batch: HistoryRow[], err: Error): void {
    this.noteFailure(err);
    // Retry later, oldest first; what does not fit is given up (the newest rows of the queue stay).
    const room = Math.max(0, this.opts.maxQueue - this.queue.length);
    const kept = batch.length <= room ? batch : batch.slice(batch.length - room);
    this.dropped += batch.length - kept.length;
    if (!this.closed && kept.length > 0) {
      this.queue = kept.concat(this.queue);
    } else {
      this.dropped += kept.length;
    }
    this.onBatch(err, batch.length);
  }

  private scheduleKick(): void {
    if (this.kick || this.closed) {
      return;
    }
    this.kick = setImmediate(() => {
      this.kick = undefined;
      void this.flushOnce();
    });
  }

  private stopTimers(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.kick) {
      clearImmediate(this.kick);
      this.kick = undefined;
    }
  }
}
