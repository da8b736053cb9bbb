import type { ErrorPayload, MessageResponse } from '../protocol/types';
import type { TraceCarrier } from '../tracing/trace-carrier';

/** The queue job name every batch request runs under (one job per request). */
export const BATCH_JOB = 'batch-request';

export type ProcessingStatus = 'in_progress' | 'canceling' | 'ended';

/** A request's final outcome; `processing` is every request without one. */
export const OUTCOMES = ['succeeded', 'errored', 'canceled', 'expired'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface RequestCounts {
  processing: number;
  succeeded: number;
  errored: number;
  canceled: number;
  expired: number;
}

/** What the store keeps about a batch (times in epoch milliseconds). */
export interface BatchRecord {
  id: string;
  status: ProcessingStatus;
  total: number;
  counts: RequestCounts;
  createdAt: number;
  expiresAt: number;
  endedAt: number | null;
  cancelInitiatedAt: number | null;
}

/** One request of a create body, validated. `params` is the Messages body exactly as the client sent it. */
export interface BatchRequestInput {
  custom_id: string;
  params: Record<string, unknown>;
}

/** `result` of one results line (Anthropic's MessageBatchResult). */
export type BatchResult =
  | { type: 'succeeded'; message: MessageResponse }
  | { type: 'errored'; error: { type: 'error'; error: ErrorPayload; request_id: string | null } }
  | { type: 'canceled' }
  | { type: 'expired' };

/** One line of the results file. */
export interface BatchResultLine {
  custom_id: string;
  result: BatchResult;
}

/** The job's data: small on purpose, the params stay in the store. */
export interface BatchJobData {
  batchId: string;
  index: number;
  /** The creating request's trace context (Tracing on): each batch request is a span of that trace. */
  trace?: TraceCarrier;
}

/** Anthropic's MessageBatch object. */
export interface MessageBatchView {
  id: string;
  type: 'message_batch';
  processing_status: ProcessingStatus;
  request_counts: RequestCounts;
  ended_at: string | null;
  created_at: string;
  expires_at: string;
  cancel_initiated_at: string | null;
  archived_at: string | null;
  results_url: string | null;
}

export interface MessageBatchPage {
  data: MessageBatchView[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

export interface DeletedMessageBatch {
  id: string;
  type: 'message_batch_deleted';
}

export const emptyCounts = (processing: number): RequestCounts => ({
  processing,
  succeeded: 0,
  errored: 0,
  canceled: 0,
  expired: 0,
});
