import type { BatchRecord, MessageBatchView } from './batch.types';

type Headers = Record<string, string | string[] | undefined>;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function firstValue(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  const first = raw?.split(',')[0]?.trim();
  return first ? first : undefined;
}

/** A host[:port] as clients send it (no path, no credentials, no spaces). */
const HOST = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?$/;

/**
 * The origin the client reached this gateway at, for an absolute `results_url`: a reverse proxy's
 * `x-forwarded-proto` / `x-forwarded-host` first, then the Host header. A malformed value is ignored
 * rather than echoed into a URL.
 */
export function requestOrigin(headers: Headers, encrypted: boolean, fallbackHost: string): string {
  const forwardedProto = firstValue(headers['x-forwarded-proto'])?.toLowerCase();
  const proto =
    forwardedProto === 'https' || forwardedProto === 'http' ? forwardedProto : encrypted ? 'https' : 'http';
  const candidates = [firstValue(headers['x-forwarded-host']), firstValue(headers.host)];
  const host = candidates.find((h) => h !== undefined && HOST.test(h)) ?? fallbackHost;
  return `${proto}://${host}`;
}

export function resultsUrl(origin: string, id: string): string {
  return `${origin}/v1/messages/batches/${id}/results`;
}

/** Anthropic's MessageBatch object; `results_url` only once the batch ended. */
export function toMessageBatch(record: BatchRecord, origin: string): MessageBatchView {
  return {
    id: record.id,
    type: 'message_batch',
    processing_status: record.status,
    request_counts: { ...record.counts },
    ended_at: iso(record.endedAt),
    created_at: new Date(record.createdAt).toISOString(),
    expires_at: new Date(record.expiresAt).toISOString(),
    cancel_initiated_at: iso(record.cancelInitiatedAt),
    archived_at: null,
    results_url: record.status === 'ended' ? resultsUrl(origin, record.id) : null,
  };
}
