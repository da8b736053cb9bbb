/** Why a sampled request was not mirrored (bounded: these are metric label values). */
export const DROP_REASONS = [
  /** `Shadow.maxConcurrent` copies already running. */
  'concurrency',
  /** The event loop lagged more than `Shadow.maxLagMs`. */
  'event_loop_lag',
  /** Interactive requests are waiting in the queue. */
  'queue_waiting',
  /** The copy's target has an open or half-open circuit, or a retry-after cooldown. */
  'circuit_open',
  /** The copy's target had no free provider slot (a copy never waits for one) or is at its rate limit. */
  'saturated',
  /** Another mirrored request with the same request id is still being compared. */
  'duplicate_id',
  /** `Shadow.target` is not a configured "provider,model". */
  'unknown_target',
  /** The process is shutting down. */
  'shutdown',
] as const;
export type ShadowDropReason = (typeof DROP_REASONS)[number];

/** How a copy ended (the `result` label of `switchyard_shadow_requests_total`). */
export const SHADOW_RESULTS = ['completed', 'failed', 'timed_out'] as const;
export type ShadowResult = (typeof SHADOW_RESULTS)[number];

/** `ok`: a complete answer; `error`: refused or broken; `timeout`: abandoned at `Shadow.timeoutMs`; `aborted`: client or shutdown. */
export type SideOutcome = 'ok' | 'error' | 'timeout' | 'aborted';

/** One side of a comparison; times are from the moment the client's request reached the responder. */
export interface ShadowSide {
  /** "provider,model" that answered (or was tried). */
  target?: string;
  outcome: SideOutcome;
  /** HTTP status (the client's for the primary; 200 or the error's for the copy). */
  status: number;
  ttfbMs?: number;
  durationMs?: number;
  /** Whole prompt: input plus cache reads and writes. */
  inputTokens?: number;
  outputTokens?: number;
  stopReason?: string;
  /** sha256 (hex, first 16) of the answer's text and tool-call input. */
  textHash?: string;
  /** Served from the response cache. */
  cache?: boolean;
  /** Error type and message when the side failed. */
  error?: string;
}

export interface ShadowDiff {
  /** Copy minus primary (positive: the copy was slower / wrote more). */
  ttfbMs?: number;
  durationMs?: number;
  outputTokens?: number;
  sameOutcome: boolean;
  sameStopReason: boolean;
  sameText: boolean;
}

export interface ShadowComparison {
  requestId: string;
  /** ISO time the request arrived. */
  at: string;
  scenario?: string;
  /** What the copy ran with: its target override and changed features (empty = same as the primary). */
  variant: { target?: string; features: Record<string, boolean> };
  primary: ShadowSide;
  shadow: ShadowSide;
  diff: ShadowDiff;
}

export interface ShadowCounters {
  /** Requests the share picked. */
  sampled: number;
  /** Copies that ran and ended (completed + failed + timed out); running ones are `inFlight`. */
  mirrored: number;
  completed: number;
  failed: number;
  timedOut: number;
  /** Copies whose primary outcome never arrived in time (nothing to compare). */
  unmatched: number;
  dropped: Record<ShadowDropReason, number>;
}

export interface Spread {
  n: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
}

export interface ShadowAggregates {
  /** Over the comparisons kept (the last `Shadow.keep`). */
  comparisons: number;
  ttfbDiffMs: Spread;
  durationDiffMs: Spread;
  outputTokenDiff: Spread;
  /** Share of comparisons whose outcome / stop reason / text differ (null when none). */
  outcomeMismatchRate: number | null;
  stopReasonMismatchRate: number | null;
  textMismatchRate: number | null;
}
