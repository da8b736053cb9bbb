import type { HistoryRow } from './history.types';

/** Messages between the gateway's event loop and the history worker thread (structured clone). */
export type WorkerOp =
  | { op: 'open' }
  | { op: 'insert'; rows: HistoryRow[] }
  | { op: 'prune'; beforeTs: number }
  | { op: 'window'; from: number; to: number }
  | { op: 'ttfbSamples'; sinceTs: number; perTarget: number }
  | { op: 'close' };

export type WorkerRequest = WorkerOp & { id: number };

export type WorkerReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; code: string | null } };

export interface WorkerInit {
  path: string;
  busyTimeoutMs: number;
}
