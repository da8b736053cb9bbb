import { redactUrl } from '../logging/redact';
import type { ProviderError } from './provider.types';
import type { UpstreamRequest } from './upstream.client';

/** One upstream call as the debug log shows it: never a header, a body or a credential. */
export interface UpstreamCallRecord {
  method: string;
  /** The request URL, secret-looking query parameters (`?key=`) redacted. */
  url: string;
  /** Absent when the call failed before an answer (refused, reset, timeout, abort). */
  status?: number;
  /** From the start of the call until the response headers arrived, or until it failed. */
  durationMs: number;
  requestBytes?: number;
  /** The response's content-length, when the upstream sent one (a stream has none). */
  responseBytes?: number;
  /** The failure's kind and message, for a call that got no answer. */
  error?: string;
}

/** Receives each call's record and its request (to tell which provider it went to; not to log its headers). */
export type UpstreamCallSink = (call: UpstreamCallRecord, req: UpstreamRequest) => void;

type Answer = { statusCode: number; headers: Record<string, string | string[] | undefined> };

function byteLength(body: UpstreamRequest['body']): number | undefined {
  if (body === undefined) {
    return undefined;
  }
  return typeof body === 'string' ? Buffer.byteLength(body) : body.length;
}

/** Builds the record and hands it to the sink; a sink's failure never fails the call. */
export function reportCall(
  sink: UpstreamCallSink,
  req: UpstreamRequest,
  startedAt: number,
  answer: Answer | undefined,
  failure?: ProviderError,
): void {
  try {
    const length = answer?.headers['content-length'];
    sink(
      {
        method: req.method ?? 'POST',
        url: redactUrl(req.url) ?? req.url,
        status: answer?.statusCode,
        durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
        requestBytes: byteLength(req.body),
        responseBytes: typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : undefined,
        error: failure ? `${failure.kind}: ${failure.message}` : undefined,
      },
      req,
    );
  } catch {
    // logging must never fail an upstream call
  }
}
