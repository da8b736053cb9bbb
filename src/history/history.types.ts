/** One stored request (a row of the `requests` table), as the writer, the queries and the report see it. */
export interface HistoryRow {
  /** Date.now() when the request arrived. */
  ts: number;
  requestId: string;
  route: string;
  scenario: string | null;
  /** "provider,model" that served the answer (or the last one tried). */
  target: string | null;
  clientModel: string | null;
  status: number;
  stream: boolean;
  cache: 'HIT' | 'MISS' | 'BYPASS' | null;
  dedup: 'leader' | 'follower' | null;
  attempts: number;
  failovers: number;
  queueClass: string | null;
  queueWaitMs: number | null;
  ttfbMs: number | null;
  durationMs: number;
  upstreamMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheCreationTokens: number | null;
  errorType: string | null;
  errorSource: 'client' | 'upstream' | 'gateway' | null;
}

/** Nearest-rank percentiles in milliseconds; null without samples. */
export interface LatencyPercentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** A time window as the SLA counts it (`SlaHistorySource.window30d`; definitions in src/metrics/sla.types.ts). */
export interface WindowSummary extends LatencyPercentiles {
  /** Requests except client errors and client aborts. */
  total: number;
  /** Gateway or upstream failures. */
  failed: number;
}

export type HistoryState = 'ok' | 'failing' | 'disabled' | 'closed';

export interface HistoryStats {
  enabled: boolean;
  /** The resolved database path (`:memory:` included). */
  path: string | null;
  /** `failing` while the last write (or open) failed; requests are never affected. */
  state: HistoryState;
  queued: number;
  maxQueue: number;
  /** Rows handed to the writer since start. */
  accepted: number;
  written: number;
  /** Rows given up: queue full, or no room to keep a failed batch for a retry. */
  dropped: number;
  /** Batches (or opens) that failed; their rows are retried while the queue has room. */
  writeErrors: number;
  lastError: { message: string; code: string | null; at: number } | null;
  lastWriteAt: number | null;
  pruned: number;
  lastPruneAt: number | null;
}
