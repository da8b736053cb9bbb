import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WorkerInit, WorkerOp, WorkerReply } from './history-worker.protocol';

/** A failure reported by (or about) the history worker; `code` is SQLite's (`SQLITE_BUSY`…) or errno's. */
export class HistoryWorkerError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'HistoryWorkerError';
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * From source (ts-jest, tsx, ts-node) the worker is a .ts file: the thread registers tsx before loading
 * it. From dist it is plain JavaScript.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
if (workerData.tsxApi) { require(workerData.tsxApi).register(); }
require(workerData.entry);
`;

function tsxApi(): string | null {
  if (extname(__filename) !== '.ts') {
    return null;
  }
  try {
    return require.resolve('tsx/cjs/api');
  } catch {
    return 'tsx/cjs/api';
  }
}

/**
 * The event loop's side of the history worker thread: request/reply with ids, a deadline per call, and a
 * fresh thread after one died or stopped answering. It never throws synchronously; every failure is a
 * rejected promise for the caller to count.
 */
export class HistoryWorkerClient {
  private worker?: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly init: WorkerInit,
    private readonly callTimeoutMs = 10_000,
  ) {}

  get running(): boolean {
    return this.worker !== undefined;
  }

  call<T>(op: WorkerOp, timeoutMs = this.callTimeoutMs): Promise<T> {
    let worker: Worker;
    try {
      worker = this.spawn();
    } catch (err) {
      return Promise.reject(new HistoryWorkerError(`history worker: ${(err as Error).message}`, 'WORKER'));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HistoryWorkerError(`history worker did not answer within ${timeoutMs} ms`, 'TIMEOUT'));
        // A thread stuck on the disk keeps its queue of messages: replace it rather than pile more on.
        this.kill(new HistoryWorkerError('history worker replaced after a timeout', 'TIMEOUT'));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      worker.postMessage({ ...op, id });
    });
  }

  /** Closes the database and ends the thread (bounded: a thread that does not answer is terminated). */
  async close(timeoutMs = 2000): Promise<void> {
    if (!this.worker) {
      return;
    }
    await this.call({ op: 'close' }, timeoutMs).catch(() => undefined);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private spawn(): Worker {
    if (this.worker) {
      return this.worker;
    }
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: {
        init: this.init,
        entry: join(__dirname, `history.worker${extname(__filename)}`),
        tsxApi: tsxApi(),
      },
    });
    worker.unref(); // never what keeps the process alive
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (err) => {
      if (this.worker === worker) {
        this.kill(new HistoryWorkerError(`history worker failed: ${err.message}`, 'WORKER'));
      }
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) {
        this.worker = undefined;
        this.rejectAll(new HistoryWorkerError(`history worker exited (code ${code})`, 'WORKER'));
      }
    });
    this.worker = worker;
    return worker;
  }

  private settle(reply: WorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) {
      return; // answered after its deadline
    }
    this.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if (reply.ok) {
      pending.resolve(reply.result);
    } else {
      pending.reject(new HistoryWorkerError(reply.error.message, reply.error.code));
    }
  }

  private kill(reason: HistoryWorkerError): void {
    const worker = this.worker;
    this.worker = undefined;
    this.rejectAll(reason);
    void worker?.terminate().catch(() => undefined);
  }

  private rejectAll(reason: HistoryWorkerError): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(reason);
    }
  }
}
