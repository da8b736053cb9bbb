import { HttpException } from '@nestjs/common';
import { GatewayError, anthropicErrorBody, errorTypeForStatus, openAIErrorBody } from '../../protocol/errors';
import type { AnthropicErrorType, ErrorPayload } from '../../protocol/types';
import { ProviderError } from '../../providers/provider.types';
import { isOwnFailure } from '../../providers/upstream-errors';
import { attemptsOf } from '../../failover/failover.types';

export type ErrorFormat = 'anthropic' | 'openai' | 'plain';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** 5xx that is our own fault: log with stack. */
  unexpected: boolean;
}

type RequestHeaders = Record<string, string | string[] | undefined>;

/** Anthropic API paths a client may try on the gateway (the OpenAI-only ones fall to the OpenAI shape). */
const ANTHROPIC_PATHS = /^\/v1\/(messages|models|complete|files|skills|organizations)(\/|$)/;

/**
 * Which error format the client speaks: the route's own for the two ingresses; elsewhere under /v1 (the
 * models list, unknown routes) the one its request looks like — Anthropic for an `anthropic-version` or
 * `x-api-key` header (what Anthropic SDKs and Claude Code send), OpenAI for the OpenAI SDK's user agent
 * or `?format=openai`, else by the path (an Anthropic API path such as /v1/complete, /v1/files, /v1/models),
 * OpenAI otherwise.
 */
export function errorFormatFor(url: string, headers: RequestHeaders = {}): ErrorFormat {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/\/{2,}/g, '/');
  if (path.startsWith('/v1/messages')) {
    return 'anthropic';
  }
  if (path.startsWith('/v1/chat/completions') || path.startsWith('/v1/completions')) {
    return 'openai';
  }
  if (path !== '/v1' && !path.startsWith('/v1/')) {
    return 'plain';
  }
  if (headers['anthropic-version'] !== undefined || headers['x-api-key'] !== undefined) {
    return 'anthropic';
  }
  const ua = headers['user-agent'];
  if ((typeof ua === 'string' && /^openai\//i.test(ua)) || /[?&]format=openai(&|$)/.test(url)) {
    return 'openai';
  }
  return ANTHROPIC_PATHS.test(path) ? 'anthropic' : 'openai';
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/** A field path as the gateway's 400 messages start with it: `temperature: …`, `messages[2].content[0]: …`. */
const FIELD_PREFIX = /^([A-Za-z_][A-Za-z0-9_]*(?:\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)*)(?:…)?: /;

/**
 * OpenAI's `error.param` for a 400: the field the error names (explicitly, or as its message's
 * `field: …` prefix, the convention of every validation message here). Upstream errors keep null: their
 * text is the provider's, prefixed with its name.
 */
function paramOf(err: GatewayError): string | null {
  if (err.status !== 400 && err.status !== 422) {
    return null;
  }
  if (err.param !== undefined) {
    return err.param;
  }
  const field = FIELD_PREFIX.exec(err.message)?.[1];
  return field === undefined || field === 'body' ? null : field;
}

function classify(err: unknown): {
  status: number;
  type?: AnthropicErrorType;
  message: string;
  headers: Record<string, string>;
  unexpected: boolean;
  param?: string | null;
} {
  if (err instanceof GatewayError) {
    return {
      status: err.status,
      type: err.type,
      message: err.message,
      headers: err.headers,
      unexpected: false,
      param: paramOf(err),
    };
  }
  if (err instanceof ProviderError) {
    const headers: Record<string, string> = {};
    if (err.retryAfterMs !== undefined) {
      headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
    }
    const status = err.kind === 'abort' ? 499 : err.status;
    if (isOwnFailure(err)) {
      // Our own bug or a throwing transformer: the same request fails the same way again (SDKs retry 5xx
      // unless told), and it is logged with its cause, which the message deliberately leaves out.
      headers['x-should-retry'] = 'false';
      return { status, message: err.message, headers, unexpected: true };
    }
    return { status, message: err.message, headers, unexpected: false };
  }
  if (err instanceof HttpException) {
    const response = err.getResponse();
    const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
    const message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : err.message;
    return { status: err.getStatus(), message, headers: {}, unexpected: false };
  }
  const fst = err as FastifyLikeError;
  if (typeof fst?.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
    if (fst.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return {
        status: 413,
        type: 'request_too_large',
        message: 'Request body is too large',
        headers: {},
        unexpected: false,
      };
    }
    if (fst.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return {
        status: 400,
        message: 'Request body is empty; a JSON object is required',
        headers: {},
        unexpected: false,
      };
    }
    if (
      fst.statusCode === 400 &&
      (fst.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError)
    ) {
      return {
        status: 400,
        message: `Request body is not valid JSON: ${fst.message}`,
        headers: {},
        unexpected: false,
      };
    }
    return { status: fst.statusCode, message: fst.message ?? 'Bad request', headers: {}, unexpected: false };
  }
  return { status: 500, message: 'Internal server error', headers: {}, unexpected: true };
}

/**
 * Maps any error to the client's own format (PROTOCOL.md §2.4, §5.5). Never a stack trace in a body.
 */
export function buildErrorResponse(
  err: unknown,
  url: string,
  requestId: string | undefined,
  requestHeaders?: RequestHeaders,
): ErrorResponse {
  const c = classify(err);
  const payload: ErrorPayload = { type: c.type ?? errorTypeForStatus(c.status), message: c.message };
  const headers = { ...c.headers };
  const attempts = attemptsOf(err);
  if (attempts) {
    headers['x-switchyard-attempts'] = String(attempts.filter((a) => a.outcome !== 'skipped').length);
    // After a failover the error is the last tried target's, not the routed one's (set with the route).
    const failed = attempts.filter((a) => a.outcome === 'failed').at(-1);
    if (failed) {
      headers['x-switchyard-target'] = failed.target;
    }
  }
  if (c.status >= 400 && c.status < 500 && c.status !== 408 && c.status !== 409 && c.status !== 429) {
    headers['x-should-retry'] = 'false';
  }
  switch (errorFormatFor(url, requestHeaders)) {
    case 'anthropic':
      return {
        status: c.status,
        headers,
        body: anthropicErrorBody(payload, requestId),
        unexpected: c.unexpected,
      };
    case 'openai':
      return {
        status: c.status,
        headers,
        body: openAIErrorBody(payload, null, c.param ?? null),
        unexpected: c.unexpected,
      };
    case 'plain':
      return {
        status: c.status,
        headers,
        body: { error: { type: payload.type, message: payload.message }, statusCode: c.status, requestId },
        unexpected: c.unexpected,
      };
  }
}
