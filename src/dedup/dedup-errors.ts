import { GatewayError, errorTypeForStatus } from '../protocol/errors';
import type { AnthropicErrorType, ErrorEvent } from '../protocol/types';
import { ProviderError, type ProviderErrorKind } from '../providers/provider.types';

/** What crosses Redis when a leader fails before its first event, so remote followers fail the same way. */
export interface SerializedError {
  name: string;
  message: string;
  status?: number;
  type?: AnthropicErrorType;
  kind?: ProviderErrorKind;
  retryable?: boolean;
  retryAfterMs?: number;
  upstreamType?: string;
  headers?: Record<string, string>;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof GatewayError) {
    return { name: err.name, message: err.message, status: err.status, type: err.type, headers: err.headers };
  }
  if (err instanceof ProviderError) {
    return {
      name: err.name,
      message: err.message,
      status: err.status,
      kind: err.kind,
      retryable: err.retryable,
      retryAfterMs: err.retryAfterMs,
      upstreamType: err.upstreamType,
      headers: err.headers,
    };
  }
  if (err instanceof Error) {
    return { name: err.name, message: err.message };
  }
  return { name: 'Error', message: String(err) };
}

/** Rebuilds the typed error so the edge maps a remote failure exactly as it maps a local one. */
export function reviveError(s: SerializedError): Error {
  if (s.name === 'GatewayError' && s.status !== undefined) {
    return new GatewayError(s.status, s.message, { type: s.type, headers: s.headers });
  }
  if (s.name === 'ProviderError' && s.status !== undefined && s.kind !== undefined) {
    return new ProviderError(s.message, {
      status: s.status,
      kind: s.kind,
      retryable: s.retryable,
      retryAfterMs: s.retryAfterMs,
      upstreamType: s.upstreamType,
      headers: s.headers,
    });
  }
  const err = new Error(s.message);
  err.name = s.name;
  return err;
}

/** The terminal event for a failure after the first event (past the commit point). */
export function errorEventFor(err: unknown): ErrorEvent {
  if (err instanceof GatewayError) {
    return { type: 'error', error: err.toPayload() };
  }
  if (err instanceof ProviderError) {
    return { type: 'error', error: { type: errorTypeForStatus(err.status), message: err.message } };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { type: 'error', error: { type: 'api_error', message } };
}
