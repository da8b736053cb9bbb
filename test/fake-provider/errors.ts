/** Error bodies in the format of the API that was hit (PROTOCOL §2.4, §5.5; Gemini google.rpc.Status). */
import { errorTypeForStatus } from '../../src/protocol/errors';
import type { RecordedApi } from './types';

/** The gateway's own status → Anthropic error type table: the fake answers like the real API would. */
export function anthropicErrorType(status: number): string {
  return errorTypeForStatus(status);
}

function openaiError(status: number): { type: string; code: string | null } {
  switch (status) {
    case 401:
      return { type: 'invalid_request_error', code: 'invalid_api_key' };
    case 403:
      return { type: 'permission_error', code: null };
    case 404:
      return { type: 'invalid_request_error', code: 'model_not_found' };
    case 429:
      return { type: 'rate_limit_error', code: 'rate_limit_exceeded' };
    default:
      return status >= 500
        ? { type: 'server_error', code: null }
        : { type: 'invalid_request_error', code: null };
  }
}

function geminiStatus(status: number): string {
  switch (status) {
    case 400:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 408:
    case 504:
      return 'DEADLINE_EXCEEDED';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 503:
      return 'UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION';
  }
}

export function defaultErrorMessage(status: number): string {
  if (status === 429) {
    return 'fake provider: rate limited';
  }
  if (status === 529 || status === 503) {
    return 'fake provider: overloaded';
  }
  return `fake provider: injected HTTP ${status}`;
}

/** JSON body of an HTTP error for the API family (models / count_tokens / other answer like Anthropic+OpenAI). */
export function errorBody(api: RecordedApi, status: number, message = defaultErrorMessage(status)): unknown {
  switch (api) {
    case 'openai':
    case 'models': {
      const { type, code } = openaiError(status);
      return { error: { message, type, param: null, code } };
    }
    case 'gemini':
      return { error: { code: status, message, status: geminiStatus(status) } };
    case 'anthropic':
    case 'count_tokens':
    case 'other':
      return {
        type: 'error',
        error: { type: anthropicErrorType(status), message },
        request_id: 'req_fake_error',
      };
  }
}

/** The in-band (after HTTP 200) error frame of a stream. */
export function streamErrorFrame(
  api: 'openai' | 'anthropic' | 'gemini',
  errorType?: string,
  message?: string,
  code?: number,
): string {
  const msg = message ?? 'fake provider: injected stream error';
  switch (api) {
    case 'anthropic':
      return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: errorType ?? 'overloaded_error', message: msg } })}\n\n`;
    case 'openai':
      return `data: ${JSON.stringify({ error: { message: msg, type: errorType ?? 'server_error', param: null, code: code ?? null } })}\n\n`;
    case 'gemini':
      return `data: ${JSON.stringify({ error: { code: code ?? 500, message: msg, status: errorType ?? 'INTERNAL' } })}\r\n\r\n`;
  }
}
