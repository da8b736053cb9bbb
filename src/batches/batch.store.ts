import type { BatchRecord, BatchRequestInput, BatchResult, BatchResultLine, Outcome } from './batch.types';

/** Injection token of the store the module picked (Redis when configured, else memory). */
export const BATCH_STORE = Symbol('BATCH_STORE');

export interface BatchPageQuery {
  limit: number;
  /** Newer than this id (the page right before it in the newest-first list). */
  beforeId?: string;
  /** Older than this id (the page right after it). */
  afterId?: string;
}

export interface BatchPageResult {
  /** Newest first. */
  batches: BatchRecord[];
  hasMore: boolean;
}

export interface Settlement {
  index: number;
  outcome: Outcome;
  result: BatchResult;
}

export interface SettleResult {
  /** Requests this call gave a result to (0 when they already had one, or the batch is gone). */
  settled: number;
  /** This call settled the last request: the batch ended now. */
  ended: boolean;
}

/**
 * Where batches live. Every request gets exactly one result, whatever races (retries, cancel, expiry,
 * two instances): `settle` only writes a result for a request that has none, updates the counts in the
 * same atomic step, and ends the batch when nothing is left processing.
 */
export interface BatchStore {
  /** Survives a restart of this process (Redis) or not (memory). */
  readonly durable: boolean;
  create(record: BatchRecord, requests: BatchRequestInput[]): Promise<void>;
  get(id: string): Promise<BatchRecord | undefined>;
  list(query: BatchPageQuery): Promise<BatchPageResult>;
  /** A request's params while it has no result yet; undefined once settled or when the batch is gone. */
  params(id: string, index: number): Promise<Record<string, unknown> | undefined>;
  /** Indexes of the requests without a result, ascending. */
  pending(id: string): Promise<number[]>;
  settle(id: string, settlements: Settlement[], now: number): Promise<SettleResult>;
  /** Gives every request still without a result this outcome (expiry); ends the batch. */
  settleRemaining(id: string, outcome: Outcome, result: BatchResult, now: number): Promise<SettleResult>;
  /** in_progress → canceling (other states unchanged); undefined when unknown. */
  cancel(id: string, now: number): Promise<BatchRecord | undefined>;
  /** Every request's line in request order (chunked reads for big batches). */
  results(id: string): AsyncIterable<BatchResultLine>;
  delete(id: string): Promise<boolean>;
  /** The batches not ended yet, soonest expiry first. */
  unfinished(): Promise<BatchRecord[]>;
  /** Drops what outlived its retention (list entries whose batch is gone, ended batches in memory). */
  prune(now: number): Promise<void>;
}
