import { Injectable } from '@nestjs/common';
import type { FeatureSet } from '../features/feature-set';
import type { Usage } from '../protocol/types';

/**
 * One finished client request, as the observability consumers see it (Prometheus, SLA windows, SQLite
 * history, status page). Emitted exactly once per request on /v1/messages and /v1/chat/completions —
 * success or error, streamed or not, including client aborts.
 */
export interface RequestOutcome {
  /** Date.now() when the request arrived. */
  startedAt: number;
  requestId: string;
  /** 'messages' | 'chat_completions' | 'batch' (a batch request run by a worker). */
  route: 'messages' | 'chat_completions' | 'batch';
  /** Routed scenario (default, background, think, longContext, webSearch, image, explicit, subagent, custom). */
  scenario?: string;
  /** "provider,model" that served the answer (or the last one tried). */
  target?: string;
  /** The model the client asked for. */
  clientModel?: string;
  /** HTTP status sent to the client (200 for a stream that later ended with an error event). */
  status: number;
  stream: boolean;
  cache?: 'HIT' | 'MISS' | 'BYPASS';
  dedup?: 'leader' | 'follower';
  /** Upstream calls made (0 for a cache hit / follower). */
  attempts: number;
  /** Moves along the chain before the answer (attempts that failed or were skipped). */
  failovers: number;
  queueClass?: 'interactive' | 'batch' | 'background';
  queueWaitMs?: number;
  /** Time to the first byte written to the client. */
  ttfbMs?: number;
  /** Time until the last byte (or the error) was written. */
  durationMs: number;
  /** Upstream time (first attempt start → last event), when an upstream call happened. */
  upstreamMs?: number;
  usage?: Partial<Usage>;
  /** Anthropic error type when the request failed (status ≥ 400 or a terminal error event); 'client_abort' when the client left. */
  errorType?: string;
  /** Who is to blame for a failure: the client (4xx), the upstream provider, or the gateway itself. */
  errorSource?: 'client' | 'upstream' | 'gateway';
  /** The request's feature flags (docs/features.md), when they were decided; absent = all on. */
  features?: FeatureSet;
}

export type OutcomeListener = (outcome: RequestOutcome) => void;

/** The fan-out point for finished requests: cheap, synchronous, listener failures never reach a request. */
@Injectable()
export class RequestOutcomeService {
  private readonly listeners: OutcomeListener[] = [];

  subscribe(listener: OutcomeListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) {
        this.listeners.splice(i, 1);
      }
    };
  }

  emit(outcome: RequestOutcome): void {
    for (const listener of this.listeners) {
      try {
        listener(outcome);
      } catch {
        // observability must never break a request
      }
    }
  }
}
