import { errorTypeForStatus } from '../protocol/errors';
import type { ErrorPayload } from '../protocol/types';
import { ProviderError, type ProviderConfig } from './provider.types';

type Headers = Record<string, string | string[] | undefined>;

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);
const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  // undici wraps socket errors (`fetch failed` style) — walk the cause chain, bounded.
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') {
      codes.push(code);
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return codes;
}

/** Codes a real transport failure carries somewhere in its cause chain (undici, sockets, DNS, TLS). */
function isTransportCode(code: string): boolean {
  return (
    CONNECT_CODES.has(code) || TIMEOUT_CODES.has(code) || TLS_CODE.test(code) || code.startsWith('UND_ERR')
  );
}

/**
 * A bug of the gateway's own code (a conversion that met a shape it did not expect: TypeError, a stack
 * overflow's RangeError…), as opposed to a socket, deadline or upstream failure.
 */
export function isGatewayFault(err: unknown): boolean {
  const programming = err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError;
  return programming && !codesOf(err).some(isTransportCode);
}

export type ConversionStage = 'request' | 'answer';

/**
 * The failure of our own conversion code: a 500 `api_error` that names no internal detail (the cause
 * stays on the error for the log), never retried (the same input fails the same way on every target),
 * and neutral to the target's breaker and health score (failover-triggers.ts: a non-retryable `protocol`
 * failure is no trigger and no malfunction).
 */
export function internalConversionError(
  err: unknown,
  origin: string,
  stage: ConversionStage = 'request',
): ProviderError {
  const what = stage === 'request' ? 'the request' : 'the upstream answer';
  return new ProviderError(`${origin}: internal error converting ${what}`, {
    status: 500,
    kind: 'protocol',
    retryable: false,
    upstreamType: 'api_error',
    cause: err,
  });
}

/** The gateway failed on its own (a conversion bug, a throwing transformer), not the upstream. */
export function isOwnFailure(err: ProviderError): boolean {
  return err.kind === 'protocol' && !err.retryable && err.status >= 500;
}

function isTimeoutReason(reason: unknown): boolean {
  const name = (reason as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && /timeout/i.test(name);
}

/**
 * Maps a transport failure (undici error, abort) to a ProviderError. The signal decides abort vs. deadline:
 * an AbortSignal.timeout()-style reason means our own deadline fired (504, retryable), anything else means
 * the client went away (499, never retried).
 */
export function classifyTransportError(
  err: unknown,
  signal?: AbortSignal,
  origin = 'upstream',
): ProviderError {
  if (err instanceof ProviderError) {
    return err;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (signal?.aborted || (err as { name?: string } | null)?.name === 'AbortError') {
    const reason: unknown = signal?.aborted ? signal.reason : err;
    if (isTimeoutReason(reason)) {
      return new ProviderError(`${origin}: deadline exceeded`, {
        status: 504,
        kind: 'timeout',
        retryable: true,
        cause: err,
      });
    }
    return new ProviderError(`${origin}: request aborted`, {
      status: 499,
      kind: 'abort',
      retryable: false,
      cause: err,
    });
  }
  if (isGatewayFault(err)) {
    // Before the first event this is the request's conversion (the adapters convert answers inside
    // asProviderError, which names the stage); a transport never throws a bare TypeError.
    return internalConversionError(err, origin);
  }
  const codes = codesOf(err);
  if (codes.some((c) => TIMEOUT_CODES.has(c))) {
    return new ProviderError(`${origin}: ${message}`, {
      status: 504,
      kind: 'timeout',
      retryable: true,
      cause: err,
    });
  }
  if (codes.some((c) => CONNECT_CODES.has(c) || TLS_CODE.test(c)) || codes.includes('UND_ERR_ABORTED')) {
    // UND_ERR_ABORTED without our signal aborted = a proxy tunnel refusal: still a connection problem.
    return new ProviderError(`${origin}: ${message}`, {
      status: 502,
      kind: 'connect',
      retryable: true,
      cause: err,
    });
  }
  return new ProviderError(`${origin}: ${message}`, {
    status: 502,
    kind: 'protocol',
    retryable: true,
    cause: err,
  });
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `retry-after-ms`, then `retry-after` as seconds or an HTTP date. */
export function parseRetryAfter(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number(header(headers, 'retry-after-ms'));
  if (header(headers, 'retry-after-ms') !== undefined && Number.isFinite(ms) && ms >= 0) {
    return Math.round(ms);
  }
  const raw = header(headers, 'retry-after')?.trim();
  if (!raw) {
    return undefined;
  }
  if (/^\d+(\.\d+)?$/.test(raw)) {
    return Math.round(Number(raw) * 1000);
  }
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Pulls a human message and a type out of the error body shapes upstreams use. */
export function parseErrorBody(text: string): { message?: string; type?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text.trim() ? { message: text.trim().slice(0, 2000) } : {};
  }
  const obj = Array.isArray(json) ? json[0] : json; // Gemini sometimes wraps errors in an array
  const error = (obj as { error?: unknown } | null)?.error;
  if (typeof error === 'string') {
    return { message: error };
  }
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; type?: unknown; status?: unknown; code?: unknown };
    return {
      message: typeof e.message === 'string' ? e.message : JSON.stringify(error),
      type: typeof e.type === 'string' ? e.type : typeof e.status === 'string' ? e.status : undefined,
    };
  }
  const msg = (obj as { message?: unknown } | null)?.message;
  return typeof msg === 'string' ? { message: msg } : { message: text.slice(0, 2000) };
}

const FORWARDED_HEADERS = ['retry-after', 'retry-after-ms', 'x-should-retry'];

/** A non-2xx upstream answer → ProviderError with the upstream status, message and retry hints. */
export function providerErrorFromResponse(
  status: number,
  headers: Headers,
  bodyText: string,
  source: string | ProviderSecrets,
): ProviderError {
  const origin = typeof source === 'string' ? source : source.name;
  const parsed = parseErrorBody(typeof source === 'string' ? bodyText : withoutSecrets(bodyText, source));
  const kept: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const v = header(headers, name);
    if (v !== undefined) {
      kept[name] = v;
    }
  }
  const shouldRetry = header(headers, 'x-should-retry');
  return new ProviderError(parsed.message ?? `${origin} returned HTTP ${status}`, {
    status,
    kind: 'http',
    retryAfterMs: parseRetryAfter(headers),
    upstreamType: parsed.type,
    headers: kept,
    retryable: shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : undefined,
  });
}

/** A failure after the first event, as the payload of the terminal `error` event. */
export function midStreamErrorPayload(err: unknown, signal?: AbortSignal): ErrorPayload {
  if (isGatewayFault(err) && !signal?.aborted) {
    return { type: 'api_error', message: internalConversionError(err, 'upstream', 'answer').message };
  }
  const pe = classifyTransportError(err, signal);
  if (pe.kind === 'timeout') {
    return { type: 'timeout_error', message: pe.message };
  }
  if (pe.kind === 'http') {
    return { type: errorTypeForStatus(pe.status), message: pe.message };
  }
  return { type: 'api_error', message: pe.message };
}

type ProviderSecrets = Pick<ProviderConfig, 'name' | 'api_key' | 'headers'>;

/** Shorter values are not scrubbed (they would mangle ordinary words). */
const MIN_SECRET_LENGTH = 6;

/**
 * An upstream's text with the provider's own key material (its `api_key`, its configured header values)
 * replaced by `[redacted]`: some providers and proxies echo the key they refused ("Incorrect API key
 * provided: Bearer sk-…"), and that text becomes the client's error message and a log line.
 */
export function withoutSecrets(text: string, provider: ProviderSecrets): string {
  let out = text;
  const secrets = [provider.api_key, ...Object.values(provider.headers ?? {})]
    .filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  for (const secret of secrets) {
    if (out.includes(secret)) {
      out = out.replaceAll(secret, '[redacted]');
    }
  }
  return out;
}
