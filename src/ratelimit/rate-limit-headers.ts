/**
 * Reading an upstream's own rate-limit headers (pure). Anthropic sends `anthropic-ratelimit-<kind>-limit |
 * -remaining | -reset` (reset = RFC 3339 time) for requests, tokens, input-tokens and output-tokens; OpenAI
 * (and most OpenAI-compatible providers) `x-ratelimit-limit | remaining | reset-<requests|tokens>` with
 * Go-style durations (`6m0s`, `1s`, `20ms`); both may send `retry-after` (seconds or an HTTP date), OpenAI
 * also `retry-after-ms`.
 */

export type HeaderBag = Record<string, string | string[] | undefined>;

export interface LimitWindow {
  limit?: number;
  remaining?: number;
  /** Epoch ms at which `remaining` is back to `limit`. */
  resetAt?: number;
}

export interface ObservedLimits {
  requests?: LimitWindow;
  tokens?: LimitWindow;
  inputTokens?: LimitWindow;
  outputTokens?: LimitWindow;
  /** Epoch ms from `retry-after-ms` / `retry-after`. */
  retryAt?: number;
}

export const WINDOW_NAMES = ['requests', 'tokens', 'inputTokens', 'outputTokens'] as const;
type WindowName = (typeof WINDOW_NAMES)[number];

/** Header names per window: [limit, remaining, reset]. */
const WINDOW_HEADERS: Record<WindowName, [string, string, string][]> = {
  requests: [
    [
      'anthropic-ratelimit-requests-limit',
      'anthropic-ratelimit-requests-remaining',
      'anthropic-ratelimit-requests-reset',
    ],
    ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'],
  ],
  tokens: [
    [
      'anthropic-ratelimit-tokens-limit',
      'anthropic-ratelimit-tokens-remaining',
      'anthropic-ratelimit-tokens-reset',
    ],
    ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
  ],
  inputTokens: [
    [
      'anthropic-ratelimit-input-tokens-limit',
      'anthropic-ratelimit-input-tokens-remaining',
      'anthropic-ratelimit-input-tokens-reset',
    ],
  ],
  outputTokens: [
    [
      'anthropic-ratelimit-output-tokens-limit',
      'anthropic-ratelimit-output-tokens-remaining',
      'anthropic-ratelimit-output-tokens-reset',
    ],
  ],
};

/** A learned block never lasts longer than this, whatever a header says. */
export const MAX_LEARNED_BLOCK_MS = 60 * 60 * 1000;
/** `remaining: 0` without a usable reset blocks this long. */
export const DEFAULT_BLOCK_MS = 1000;

const first = (v: string | string[] | undefined): string | undefined => {
  const s = Array.isArray(v) ? v[0] : v;
  const t = s?.trim();
  return t ? t : undefined;
};

const count = (v: string | undefined): number | undefined => {
  if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) {
    return undefined;
  }
  return Math.floor(Number(v));
};

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** A Go-style duration (`6m0s`, `1h2m3.5s`, `20ms`, `59.56s`) in ms, or undefined. */
export function parseDuration(text: string): number | undefined {
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let parts = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const m = DURATION_PART.exec(text);
    if (!m) {
      return undefined;
    }
    total += Number(m[1]) * UNIT_MS[m[2]];
    parts += 1;
  }
  return parts > 0 ? total : undefined;
}

/**
 * A reset value as epoch ms: a duration (`6m0s`), an RFC 3339 / HTTP date, or a bare number (seconds from
 * now; epoch seconds or ms when it is that large).
 */
export function parseReset(text: string, now: number): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    if (n >= 1e12) {
      return n;
    }
    return n >= 1e9 ? n * 1000 : now + n * 1000;
  }
  const duration = parseDuration(text);
  if (duration !== undefined) {
    return now + duration;
  }
  const date = Date.parse(text);
  return Number.isFinite(date) ? date : undefined;
}

/** `retry-after-ms`, else `retry-after` (delay in seconds or an HTTP date), as epoch ms. */
export function parseRetryAt(headers: HeaderBag, now: number): number | undefined {
  const ms = first(headers['retry-after-ms']);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) {
    return now + Number(ms);
  }
  const value = first(headers['retry-after']);
  if (value === undefined) {
    return undefined;
  }
  if (/^\d+(\.\d+)?$/.test(value)) {
    return now + Number(value) * 1000;
  }
  const date = Date.parse(value);
  return Number.isFinite(date) ? date : undefined;
}

function readWindow(
  headers: HeaderBag,
  names: [string, string, string][],
  now: number,
): LimitWindow | undefined {
  for (const [limitName, remainingName, resetName] of names) {
    const remaining = count(first(headers[remainingName]));
    const limit = count(first(headers[limitName]));
    const resetText = first(headers[resetName]);
    const resetAt = resetText === undefined ? undefined : parseReset(resetText, now);
    if (remaining !== undefined || limit !== undefined || resetAt !== undefined) {
      const w: LimitWindow = {};
      if (limit !== undefined) {
        w.limit = limit;
      }
      if (remaining !== undefined) {
        w.remaining = remaining;
      }
      if (resetAt !== undefined) {
        w.resetAt = resetAt;
      }
      return w;
    }
  }
  return undefined;
}

/** Everything a response says about its provider's limits; undefined when it says nothing. */
export function parseRateLimitHeaders(headers: HeaderBag, now: number): ObservedLimits | undefined {
  let out: ObservedLimits | undefined;
  for (const name of WINDOW_NAMES) {
    const w = readWindow(headers, WINDOW_HEADERS[name], now);
    if (w) {
      out ??= {};
      out[name] = w;
    }
  }
  const retryAt = parseRetryAt(headers, now);
  if (retryAt !== undefined) {
    out ??= {};
    out.retryAt = retryAt;
  }
  return out;
}

/**
 * Until when the provider should not be called (epoch ms), or undefined: a window with nothing left blocks
 * until its reset; a 429's retry-after blocks until then. (A 503/529 retry-after is an overload, not a
 * quota: the failover cooldown of that one target handles it.) Bounded by MAX_LEARNED_BLOCK_MS.
 */
export function limitedUntil(observed: ObservedLimits, status: number, now: number): number | undefined {
  let until = 0;
  for (const name of WINDOW_NAMES) {
    const w = observed[name];
    if (w?.remaining === 0) {
      until = Math.max(until, w.resetAt ?? now + DEFAULT_BLOCK_MS);
    }
  }
  if (status === 429 && observed.retryAt !== undefined) {
    until = Math.max(until, observed.retryAt);
  }
  return until > now ? Math.min(until, now + MAX_LEARNED_BLOCK_MS) : undefined;
}
