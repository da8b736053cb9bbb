import type { AnthropicErrorType, ErrorPayload } from './types';
import type { OpenAIErrorBody } from './openai-types';

/** HTTP status → Anthropic error type (PROTOCOL.md §2.4 and §6.8). */
export function errorTypeForStatus(status: number): AnthropicErrorType {
  switch (status) {
    case 400:
    case 422:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 409:
      return 'conflict_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 408:
    case 504:
      return 'timeout_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/** Anthropic error type → the HTTP status a client expects for it. */
export function statusForErrorType(type: AnthropicErrorType): number {
  switch (type) {
    case 'invalid_request_error':
      return 400;
    case 'authentication_error':
      return 401;
    case 'billing_error':
      return 402;
    case 'permission_error':
      return 403;
    case 'not_found_error':
      return 404;
    case 'conflict_error':
      return 409;
    case 'request_too_large':
      return 413;
    case 'rate_limit_error':
      return 429;
    case 'api_error':
      return 500;
    case 'timeout_error':
      return 504;
    case 'overloaded_error':
      return 529;
  }
}

export function anthropicErrorBody(
  error: ErrorPayload,
  requestId?: string,
): { type: 'error'; error: ErrorPayload; request_id?: string } {
  return requestId ? { type: 'error', error, request_id: requestId } : { type: 'error', error };
}

export function openAIErrorBody(
  error: ErrorPayload,
  code: string | null = null,
  param: string | null = null,
): OpenAIErrorBody {
  return { error: { message: error.message, type: error.type, param, code } };
}

/**
 * An error that carries its client-facing meaning. Thrown anywhere (validation, routing, upstream) and
 * mapped once, at the edge, into the client's format.
 */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: AnthropicErrorType;
  readonly headers: Record<string, string>;
  /** The request field at fault (OpenAI's `error.param`), when one is. */
  readonly param?: string;
  constructor(
    status: number,
    message: string,
    opts: { type?: AnthropicErrorType; headers?: Record<string, string>; param?: string } = {},
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = status;
    this.type = opts.type ?? errorTypeForStatus(status);
    this.headers = opts.headers ?? {};
    this.param = opts.param;
  }
  toPayload(): ErrorPayload {
    return { type: this.type, message: this.message };
  }
}
