import { classifyFailure } from '../failover/failover-triggers';
import { GatewayError } from '../protocol/errors';
import { asProviderError } from './adapter-support';
import { ProviderError } from './provider.types';
import { classifyTransportError, isGatewayFault, midStreamErrorPayload } from './upstream-errors';

const ALL = new Set(['protocol', 'connect', 'http_502', 'http_500']);

function thrown(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (err) {
    return err as ProviderError;
  }
  throw new Error('did not throw');
}

/** A bug in our own conversion code is neither the target's failure nor worth retrying. */
describe('conversion failures', () => {
  const bug = () => {
    throw new TypeError("Cannot read properties of null (reading 'type')");
  };

  it('asProviderError: a TypeError becomes a neutral, non-retryable 500 without its text', () => {
    const err = thrown(() => asProviderError(bug, 'p'));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ status: 500, kind: 'protocol', retryable: false, upstreamType: 'api_error' });
    expect(err.message).toBe('p: internal error converting the request');
    expect(err.cause).toBeInstanceOf(TypeError);
    const cls = classifyFailure(err, ALL);
    expect(cls).toMatchObject({ failover: false, breakerFailure: false, scoreFailure: false });
  });

  it('asProviderError: a stack overflow too, and the answer stage says so', () => {
    const overflow = (): never => {
      const r = (n: number): number => r(n + 1) + 1;
      return r(0) as never;
    };
    expect(thrown(() => asProviderError(overflow, 'p')).message).toBe(
      'p: internal error converting the request',
    );
    expect(thrown(() => asProviderError(bug, 'p', 'answer')).message).toBe(
      'p: internal error converting the upstream answer',
    );
  });

  it('asProviderError: GatewayErrors keep their meaning', () => {
    const err = thrown(() =>
      asProviderError(() => {
        throw new GatewayError(400, 'messages: bad');
      }, 'p'),
    );
    expect(err).toMatchObject({ status: 400, retryable: false, message: 'p: messages: bad' });
  });

  it('classifyTransportError: programming errors are ours, transport errors stay retryable 502s', () => {
    expect(
      classifyTransportError(new RangeError('Maximum call stack size exceeded'), undefined, 't'),
    ).toMatchObject({ status: 500, retryable: false, message: 't: internal error converting the request' });
    const nodeArg = Object.assign(new TypeError('The "data" argument must be of type string'), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
    expect(isGatewayFault(nodeArg)).toBe(true);
    const fetchFailed = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    expect(isGatewayFault(fetchFailed)).toBe(false);
    expect(classifyTransportError(fetchFailed, undefined, 't')).toMatchObject({
      status: 502,
      kind: 'connect',
      retryable: true,
    });
    const undici = Object.assign(new TypeError('other side closed'), { code: 'UND_ERR_SOCKET' });
    expect(classifyTransportError(undici, undefined, 't')).toMatchObject({ status: 502, retryable: true });
    expect(classifyTransportError(new Error('weird'), undefined, 't')).toMatchObject({
      status: 502,
      retryable: true,
    });
  });

  it('mid-stream, a conversion bug is an api_error without its text', () => {
    expect(midStreamErrorPayload(new TypeError('x is undefined'))).toEqual({
      type: 'api_error',
      message: 'upstream: internal error converting the upstream answer',
    });
  });
});
