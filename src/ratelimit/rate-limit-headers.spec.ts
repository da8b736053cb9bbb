import {
  DEFAULT_BLOCK_MS,
  MAX_LEARNED_BLOCK_MS,
  limitedUntil,
  parseDuration,
  parseRateLimitHeaders,
  parseReset,
  parseRetryAt,
} from './rate-limit-headers';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');

describe('parseDuration (OpenAI reset values)', () => {
  it.each([
    ['6m0s', 360_000],
    ['1s', 1000],
    ['20ms', 20],
    ['59.56s', 59_560],
    ['2m59.56s', 179_560],
    ['1h2m3.5s', 3_723_500],
    ['0s', 0],
  ])('%s = %i ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 6);
  });

  it.each(['', 's', '6x', '1s garbage', '-1s', '2025-06-01T12:00:00Z'])('rejects %p', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseReset', () => {
  it('reads RFC 3339 times, durations and bare numbers', () => {
    expect(parseReset('2025-06-01T12:00:30Z', NOW)).toBe(NOW + 30_000);
    expect(parseReset('6m0s', NOW)).toBe(NOW + 360_000);
    expect(parseReset('7', NOW)).toBe(NOW + 7000); // seconds from now
    expect(parseReset(String(NOW / 1000 + 5), NOW)).toBe(NOW + 5000); // epoch seconds
    expect(parseReset(String(NOW + 5), NOW)).toBe(NOW + 5); // epoch ms
    expect(parseReset('soon', NOW)).toBeUndefined();
  });
});

describe('parseRetryAt', () => {
  it('prefers retry-after-ms, then retry-after seconds or HTTP date', () => {
    expect(parseRetryAt({ 'retry-after-ms': '1500', 'retry-after': '9' }, NOW)).toBe(NOW + 1500);
    expect(parseRetryAt({ 'retry-after': '2' }, NOW)).toBe(NOW + 2000);
    expect(parseRetryAt({ 'retry-after': '0.5' }, NOW)).toBe(NOW + 500);
    expect(parseRetryAt({ 'retry-after': 'Sun, 01 Jun 2025 12:01:00 GMT' }, NOW)).toBe(NOW + 60_000);
    expect(parseRetryAt({ 'retry-after': 'later' }, NOW)).toBeUndefined();
    expect(parseRetryAt({}, NOW)).toBeUndefined();
  });
});

describe('parseRateLimitHeaders', () => {
  it('reads Anthropic headers for requests, tokens, input and output tokens', () => {
    const observed = parseRateLimitHeaders(
      {
        'anthropic-ratelimit-requests-limit': '50',
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': '2025-06-01T12:00:12Z',
        'anthropic-ratelimit-tokens-limit': '40000',
        'anthropic-ratelimit-tokens-remaining': '39000',
        'anthropic-ratelimit-tokens-reset': '2025-06-01T12:00:01Z',
        'anthropic-ratelimit-input-tokens-remaining': '30000',
        'anthropic-ratelimit-output-tokens-limit': '8000',
        'anthropic-ratelimit-output-tokens-remaining': '8000',
        'anthropic-ratelimit-output-tokens-reset': '2025-06-01T12:00:00Z',
        'request-id': 'req_1',
      },
      NOW,
    );
    expect(observed).toEqual({
      requests: { limit: 50, remaining: 0, resetAt: NOW + 12_000 },
      tokens: { limit: 40_000, remaining: 39_000, resetAt: NOW + 1000 },
      inputTokens: { remaining: 30_000 },
      outputTokens: { limit: 8000, remaining: 8000, resetAt: NOW },
    });
  });

  it('reads OpenAI headers with duration resets, and retry-after', () => {
    const observed = parseRateLimitHeaders(
      {
        'x-ratelimit-limit-requests': '60',
        'x-ratelimit-remaining-requests': '59',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-limit-tokens': '150000',
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-tokens': '6m0s',
        'retry-after': '3',
      },
      NOW,
    );
    expect(observed).toEqual({
      requests: { limit: 60, remaining: 59, resetAt: NOW + 1000 },
      tokens: { limit: 150_000, remaining: 0, resetAt: NOW + 360_000 },
      retryAt: NOW + 3000,
    });
  });

  it('takes the first value of a repeated header and ignores malformed counts', () => {
    const observed = parseRateLimitHeaders(
      {
        'x-ratelimit-remaining-requests': ['0', '7'],
        'x-ratelimit-reset-requests': ['20ms'],
        'x-ratelimit-remaining-tokens': 'lots',
      },
      NOW,
    );
    expect(observed).toEqual({ requests: { remaining: 0, resetAt: NOW + 20 } });
  });

  it('says nothing for a response without rate-limit headers', () => {
    expect(
      parseRateLimitHeaders({ 'content-type': 'text/event-stream', 'x-request-id': 'r' }, NOW),
    ).toBeUndefined();
  });
});

describe('limitedUntil', () => {
  it('blocks until the reset of a window with nothing left (the latest one wins)', () => {
    const observed = {
      requests: { remaining: 0, resetAt: NOW + 5000 },
      tokens: { remaining: 0, resetAt: NOW + 9000 },
      outputTokens: { remaining: 10, resetAt: NOW + 60_000 },
    };
    expect(limitedUntil(observed, 200, NOW)).toBe(NOW + 9000);
  });

  it('does not block while something is left', () => {
    expect(limitedUntil({ requests: { remaining: 1, resetAt: NOW + 5000 } }, 200, NOW)).toBeUndefined();
  });

  it('a window at 0 without a reset blocks for a short default', () => {
    expect(limitedUntil({ tokens: { remaining: 0 } }, 200, NOW)).toBe(NOW + DEFAULT_BLOCK_MS);
  });

  it('honours retry-after on a 429 only (a 503/529 retry-after is an overload, not a quota)', () => {
    expect(limitedUntil({ retryAt: NOW + 4000 }, 429, NOW)).toBe(NOW + 4000);
    expect(limitedUntil({ retryAt: NOW + 4000 }, 529, NOW)).toBeUndefined();
    expect(limitedUntil({ retryAt: NOW + 4000 }, 200, NOW)).toBeUndefined();
  });

  it('ignores resets already past and caps absurd ones', () => {
    expect(limitedUntil({ requests: { remaining: 0, resetAt: NOW - 1 } }, 200, NOW)).toBeUndefined();
    expect(limitedUntil({ requests: { remaining: 0, resetAt: NOW + 86_400_000 } }, 200, NOW)).toBe(
      NOW + MAX_LEARNED_BLOCK_MS,
    );
  });
});
