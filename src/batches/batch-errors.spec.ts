import { rememberAttempts, type AttemptRecord } from '../failover/failover.types';
import { GatewayError } from '../protocol/errors';
import { ProviderError } from '../providers/provider.types';
import { capacityWaitMs, classifyFailure } from './batch-errors';

describe('classifyFailure', () => {
  it.each([
    [400, 'invalid_request_error', false],
    [401, 'authentication_error', false],
    [404, 'not_found_error', false],
    [408, 'timeout_error', true],
    [429, 'rate_limit_error', true],
    [500, 'api_error', true],
    [503, 'overloaded_error', true],
    [529, 'overloaded_error', true],
  ] as const)('GatewayError %d → %s, retryable %s', (status, type, retryable) => {
    expect(classifyFailure(new GatewayError(status, 'm'))).toEqual({
      retryable,
      error: { type, message: 'm' },
      unexpected: false,
    });
  });

  it('follows ProviderError.retryable and retries connection failures and timeouts', () => {
    expect(classifyFailure(new ProviderError('bad', { status: 400, kind: 'http' }))).toEqual({
      retryable: false,
      error: { type: 'invalid_request_error', message: 'bad' },
      unexpected: false,
    });
    const down = new ProviderError('down', { status: 502, kind: 'connect', retryable: false });
    expect(classifyFailure(down).retryable).toBe(true);
    expect(classifyFailure(new ProviderError('slow', { status: 504, kind: 'timeout' })).error.type).toBe(
      'timeout_error',
    );
  });

  it('retries unexpected errors and never shows their details', () => {
    expect(classifyFailure(new TypeError('secret internals'))).toEqual({
      retryable: true,
      error: { type: 'api_error', message: 'Internal server error' },
      unexpected: true,
    });
  });
});

describe('capacityWaitMs', () => {
  const unavailable = (attempts: AttemptRecord[], retryAfter = '7'): GatewayError => {
    const err = new GatewayError(503, 'All upstream targets are unavailable right now', {
      type: 'overloaded_error',
      headers: { 'retry-after': retryAfter },
    });
    rememberAttempts(err, attempts);
    return err;
  };
  const skipped = (reason: string): AttemptRecord => ({ target: 'p,m', outcome: 'skipped', reason, ms: 0 });

  it('waits out a chain skipped only for capacity, for its retry-after', () => {
    expect(capacityWaitMs(unavailable([skipped('rate_limited')]), 0)).toBe(7000);
    expect(capacityWaitMs(unavailable([skipped('cooldown'), skipped('saturated')]), 3)).toBe(7000);
  });

  it('waits out an upstream 429: its retry-after, else 1 s doubling up to a minute', () => {
    const limited = new ProviderError('slow down', { status: 429, kind: 'http', retryAfterMs: 2500 });
    expect(capacityWaitMs(limited, 0)).toBe(2500);
    const bare = new ProviderError('slow down', { status: 429, kind: 'http' });
    expect([0, 1, 2, 6, 7, 20].map((n) => capacityWaitMs(bare, n))).toEqual([
      1000, 2000, 4000, 60_000, 60_000, 60_000,
    ]);
    expect(capacityWaitMs(new GatewayError(429, 'limited', { headers: { 'retry-after': '3' } }), 0)).toBe(
      3000,
    );
  });

  it('leaves every other failure to the attempts: broken targets, 5xx, 4xx, bugs', () => {
    expect(capacityWaitMs(unavailable([skipped('circuit_open')]), 0)).toBeUndefined();
    expect(capacityWaitMs(unavailable([skipped('rate_limited'), skipped('circuit_open')]), 0)).toBeUndefined();
    const failed: AttemptRecord = { target: 'p,m', outcome: 'failed', reason: 'status_503', ms: 5 };
    expect(capacityWaitMs(unavailable([failed]), 0)).toBeUndefined();
    expect(capacityWaitMs(unavailable([]), 0)).toBeUndefined();
    expect(
      capacityWaitMs(new ProviderError('busy', { status: 529, kind: 'http', retryAfterMs: 1000 }), 0),
    ).toBeUndefined();
    expect(capacityWaitMs(new GatewayError(400, 'bad'), 0)).toBeUndefined();
    expect(capacityWaitMs(new TypeError('bug'), 0)).toBeUndefined();
  });
});
