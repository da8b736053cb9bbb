import { FAILOVER_TRIGGERS } from '../config/config.schema';
import { ProviderError } from '../providers/provider.types';
import { UpstreamTimeoutError } from '../timeout/deadline';
import { classifyFailure, FirstEventError, MidAnswerError } from './failover-triggers';

const all = new Set<string>(FAILOVER_TRIGGERS);
const http = (status: number, message = 'x', retryAfterMs?: number): ProviderError =>
  new ProviderError(message, { status, kind: 'http', retryAfterMs });

describe('classifyFailure', () => {
  it.each([408, 429, 500, 502, 503, 504, 529])('fails over on HTTP %i', (status) => {
    expect(classifyFailure(http(status), all)).toMatchObject({ trigger: `http_${status}`, failover: true });
  });

  it.each([400, 401, 403, 404, 413, 422])('does not fail over on HTTP %i', (status) => {
    expect(classifyFailure(http(status), all)).toMatchObject({ failover: false, breakerFailure: false });
  });

  it('a context-window 400 is its own trigger', () => {
    for (const msg of [
      'prompt is too long: 210000 tokens',
      "This model's maximum context length is 8192",
      'context_length_exceeded',
    ]) {
      expect(classifyFailure(http(400, msg), all)).toMatchObject({
        trigger: 'context_window',
        failover: true,
        breakerFailure: false,
      });
    }
  });

  it('401/403 flag the key', () => {
    expect(classifyFailure(http(401), all)).toMatchObject({
      keyBad: true,
      failover: false,
      scoreFailure: true,
    });
  });

  it('connection and timeout classes', () => {
    const refused = new ProviderError('ECONNREFUSED', { status: 502, kind: 'connect' });
    expect(classifyFailure(refused, all)).toMatchObject({
      trigger: 'connect',
      failover: true,
      breakerFailure: true,
    });
    const ours = new ProviderError('t', {
      status: 504,
      kind: 'timeout',
      cause: new UpstreamTimeoutError('first_byte', 10),
    });
    expect(classifyFailure(ours, all).trigger).toBe('first_byte_timeout');
    const undici = new ProviderError('t', { status: 504, kind: 'timeout' });
    expect(classifyFailure(undici, all).trigger).toBe('upstream_timeout');
  });

  it('a 429 with retry-after cools down instead of counting against the breaker', () => {
    expect(classifyFailure(http(429, 'slow down', 2000), all)).toMatchObject({
      failover: true,
      breakerFailure: false,
      scoreFailure: true,
    });
    expect(classifyFailure(http(429), all)).toMatchObject({ breakerFailure: true });
  });

  it('first-event errors fail over when they are server-side', () => {
    const overloaded = new FirstEventError('p,m', { type: 'overloaded_error', message: 'Overloaded' });
    expect(classifyFailure(overloaded, all)).toMatchObject({ trigger: 'first_event_error', failover: true });
    const invalid = new FirstEventError('p,m', { type: 'invalid_request_error', message: 'bad' });
    expect(classifyFailure(invalid, all)).toMatchObject({ failover: false });
  });

  it('name the target once, also when the message already does (a deadline of that target)', () => {
    const idle = { type: 'timeout_error' as const, message: 'p,m: idle deadline of 300 ms exceeded' };
    expect(new MidAnswerError('p,m', idle).message).toBe('p,m: idle deadline of 300 ms exceeded');
    expect(new FirstEventError('p,m', idle).message).toBe('p,m: idle deadline of 300 ms exceeded');
    expect(new MidAnswerError('p,m', { type: 'api_error', message: 'cut' }).message).toBe('p,m: cut');
  });

  it('client aborts and our own protocol failures never fail over', () => {
    expect(classifyFailure(new ProviderError('gone', { status: 499, kind: 'abort' }), all)).toMatchObject({
      clientAbort: true,
      failover: false,
    });
    const transformer = new ProviderError('transformer failed', {
      status: 500,
      kind: 'protocol',
      retryable: false,
    });
    expect(classifyFailure(transformer, all).failover).toBe(false);
  });

  it('disabled triggers are classified but do not fail over', () => {
    expect(classifyFailure(http(503), new Set(['connect']))).toMatchObject({
      trigger: 'http_503',
      failover: false,
      breakerFailure: true,
    });
  });
});
