import { GatewayError } from '../protocol/errors';
import { ProviderError } from '../providers/provider.types';
import { errorEventFor, reviveError, serializeError } from './dedup-errors';

const roundTrip = (err: unknown): Error => reviveError(JSON.parse(JSON.stringify(serializeError(err))));

describe('dedup error transport', () => {
  it('revives a GatewayError with its status, type and headers', () => {
    const revived = roundTrip(
      new GatewayError(429, 'slow down', { type: 'rate_limit_error', headers: { 'retry-after': '3' } }),
    );
    expect(revived).toBeInstanceOf(GatewayError);
    expect(revived).toMatchObject({
      status: 429,
      type: 'rate_limit_error',
      message: 'slow down',
      headers: { 'retry-after': '3' },
    });
  });

  it('revives a ProviderError with its kind and retry hints', () => {
    const revived = roundTrip(
      new ProviderError('overloaded', {
        status: 529,
        kind: 'http',
        retryAfterMs: 1000,
        upstreamType: 'overloaded_error',
      }),
    );
    expect(revived).toBeInstanceOf(ProviderError);
    expect(revived).toMatchObject({
      status: 529,
      kind: 'http',
      retryable: true,
      retryAfterMs: 1000,
      upstreamType: 'overloaded_error',
    });
  });

  it('keeps the name and message of any other error', () => {
    const err = new TypeError('boom');
    expect(roundTrip(err)).toMatchObject({ name: 'TypeError', message: 'boom' });
    expect(roundTrip('plain string')).toMatchObject({ name: 'Error', message: 'plain string' });
  });

  it('maps failures after the first event to the Anthropic error event', () => {
    expect(errorEventFor(new GatewayError(504, 'too slow'))).toEqual({
      type: 'error',
      error: { type: 'timeout_error', message: 'too slow' },
    });
    expect(errorEventFor(new ProviderError('x', { status: 503, kind: 'http' }))).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'x' },
    });
    expect(errorEventFor(new Error('cut'))).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'cut' },
    });
  });
});
