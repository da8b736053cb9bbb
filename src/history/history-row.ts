import type { RequestOutcome } from '../common/request-outcome';
import type { HistoryRow } from './history.types';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The row stored for one finished request (pure: called on the request's emit, so it only copies fields). */
export function toHistoryRow(o: RequestOutcome): HistoryRow {
  const usage = o.usage;
  return {
    ts: o.startedAt,
    requestId: o.requestId,
    route: o.route,
    scenario: o.scenario ?? null,
    target: o.target ?? null,
    clientModel: o.clientModel ?? null,
    status: o.status,
    stream: o.stream,
    cache: o.cache ?? null,
    dedup: o.dedup ?? null,
    attempts: o.attempts,
    failovers: o.failovers,
    queueClass: o.queueClass ?? null,
    queueWaitMs: num(o.queueWaitMs),
    ttfbMs: num(o.ttfbMs),
    durationMs: num(o.durationMs) ?? 0,
    upstreamMs: num(o.upstreamMs),
    inputTokens: num(usage?.input_tokens),
    outputTokens: num(usage?.output_tokens),
    cacheReadTokens: num(usage?.cache_read_input_tokens),
    cacheCreationTokens: num(usage?.cache_creation_input_tokens),
    errorType: o.errorType ?? null,
    errorSource: o.errorSource ?? null,
  };
}
