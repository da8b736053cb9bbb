import { GatewayError } from '../protocol/errors';
import { ProviderError } from '../providers/provider.types';
import { classifyFailure } from './batch-errors';

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
