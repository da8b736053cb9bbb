import type { LatencyPercentiles } from '../history.types';

export interface TokenTotals {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
  total: number;
}

/** Counts shared by the whole period and each model. Rates are 0..1, null when nothing to divide by. */
export interface ReportCounts {
  requests: number;
  /** Answered without error. */
  succeeded: number;
  /** Every error except client aborts (client 4xx, gateway and upstream failures). */
  errors: number;
  errorRate: number | null;
  /** Gateway or upstream failures: what the SLA counts against availability. */
  failures: number;
  failureRate: number | null;
  cacheHits: number;
  cacheMisses: number;
  /** hits / (hits + misses); requests that bypassed the cache are not counted. */
  cacheHitRate: number | null;
  /** Moves along failover chains, summed. */
  failovers: number;
  /** Requests that needed at least one failover. */
  requestsWithFailover: number;
  /** Duration of the answers without error, ms. */
  latencyMs: LatencyPercentiles;
  /** Time to first byte of the answers without error, ms. */
  ttfbMs: LatencyPercentiles;
  tokens: TokenTotals;
}

export interface ModelReport extends ReportCounts {
  /** "provider,model" that served (or was last tried); the client's model when none was routed. */
  model: string;
}

export interface ReportSummary extends ReportCounts {
  /** 1 − failureRate. */
  availability: number | null;
  clientErrors: number;
  aborts: number;
  dedupFollowers: number;
  streamed: number;
  attempts: number;
}

export interface TimelineBucket {
  start: string;
  requests: number;
  errors: number;
  failures: number;
  /** p95 duration of the bucket's answers without error, ms. */
  p95Ms: number | null;
}

/** The `switchyard report` document: the JSON format as is, and what the text and HTML formats show. */
export interface HistoryReport {
  generatedAt: string;
  period: { since: string; until: string };
  source: string;
  summary: ReportSummary;
  /** Most requests first (the top models). */
  models: ModelReport[];
  errors: { errorType: string; errorSource: string | null; count: number }[];
  scenarios: { scenario: string; requests: number }[];
  timeline: { bucketMs: number; buckets: TimelineBucket[] };
}
