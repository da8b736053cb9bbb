import { parentPort, workerData } from 'node:worker_threads';
import { HistoryDb } from './history-db';
import type { WorkerInit, WorkerOp, WorkerReply, WorkerRequest } from './history-worker.protocol';

/**
 * The history worker thread: owns the SQLite connection so that a slow, full or locked disk only ever
 * blocks this thread. Any failure closes a file connection; the next message reopens it (a directory made
 * writable again, a file deleted or replaced underneath, a closed connection — writing resumes by itself).
 */
const init = (workerData as { init: WorkerInit }).init;
let db: HistoryDb | undefined;

function connection(): HistoryDb {
  if (db?.isOpen && !db.fileReplaced()) {
    return db;
  }
  db?.close();
  db = undefined;
  db = HistoryDb.open(init.path, { busyTimeoutMs: init.busyTimeoutMs });
  return db;
}

function handle(req: WorkerOp): unknown {
  switch (req.op) {
    case 'open':
      connection();
      return null;
    case 'insert':
      connection().insert(req.rows);
      return req.rows.length;
    case 'prune':
      return connection().prune(req.beforeTs);
    case 'window':
      return connection().window(req.from, req.to);
    case 'ttfbSamples':
      return connection().ttfbSamples(req.sinceTs, req.perTarget);
    case 'close':
      db?.close();
      db = undefined;
      return null;
  }
}

parentPort?.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: req.id, ok: true, result: handle(req) };
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const code = typeof e.code === 'string' ? e.code : null;
    // A lock held by another process is transient; anything else may have left the handle unusable.
    // An in-memory database is never dropped: closing it would lose every row.
    if (code !== 'SQLITE_BUSY' && init.path !== ':memory:') {
      try {
        db?.close();
      } catch {
        // already unusable
      }
      db = undefined;
    }
    reply = { id: req.id, ok: false, error: { message: e.message, code } };
  }
  parentPort?.postMessage(reply);
});
