import { rememberAttempts } from '../../failover/failover.types';
import { ProviderError } from '../../providers/provider.types';
import { GatewayError } from '../../protocol/errors';
import { buildErrorResponse, errorFormatFor } from './error-response';

describe('errorFormatFor', () => {
  it.each([
    ['/v1/messages?beta=true', {}, 'anthropic'],
    ['/v1/messages/batches/x', { 'user-agent': 'OpenAI/JS 6' }, 'anthropic'],
    ['/v1/chat/completions', { 'anthropic-version': '2023-06-01' }, 'openai'],
    ['/v1/models', {}, 'anthropic'],
    ['/v1/models/x', { 'user-agent': 'OpenAI/JS 6.49.0' }, 'openai'],
    ['/v1/models?format=openai', {}, 'openai'],
    ['/v1/foo', { 'anthropic-version': '2023-06-01' }, 'anthropic'],
    ['/v1/foo', { 'x-api-key': 'k' }, 'anthropic'],
    ['/v1/complete', {}, 'anthropic'],
    ['/v1/files/abc', {}, 'anthropic'],
    ['//v1/messages', {}, 'anthropic'],
    ['/v1//chat/completions', {}, 'openai'],
    ['/v1/embeddings', {}, 'openai'],
    ['/v1', {}, 'openai'],
    ['/api/cache', { 'anthropic-version': '2023-06-01' }, 'plain'],
    ['/v10/x', {}, 'plain'],
  ])('%s %j → %s', (url, headers, format) => {
    expect(errorFormatFor(url, headers)).toBe(format);
  });
});

describe('OpenAI error param', () => {
  const body = (err: unknown) =>
    buildErrorResponse(err, '/v1/chat/completions', 'r').body as { error: { param: unknown } };

  it('is the explicit param, else the field the message starts with, only for 400s', () => {
    expect(body(new GatewayError(400, 'x: bad', { param: 'temperature' })).error.param).toBe('temperature');
    expect(body(new GatewayError(400, 'messages[1].content[0].type: unsupported')).error.param).toBe(
      'messages[1].content[0].type',
    );
    expect(body(new GatewayError(400, 'Request body is not valid JSON: x')).error.param).toBeNull();
    expect(body(new GatewayError(400, 'body: must be an object')).error.param).toBeNull();
    expect(body(new GatewayError(404, 'model: nowhere,m is not configured')).error.param).toBeNull();
  });
});

describe('error after failover', () => {
  it('names the target whose error it is in x-switchyard-target and counts the calls made', () => {
    const err = new ProviderError('overloaded', { status: 529, kind: 'http' });
    rememberAttempts(err, [
      { target: 'a,m1', outcome: 'failed', reason: 'http_503', status: 503, ms: 3 },
      { target: 'c,m3', outcome: 'skipped', reason: 'open', ms: 0 },
      { target: 'b,m2', outcome: 'failed', reason: 'http_529', status: 529, ms: 4 },
    ]);
    const res = buildErrorResponse(err, '/v1/messages', 'r1');
    expect(res.status).toBe(529);
    expect(res.headers['x-switchyard-target']).toBe('b,m2');
    expect(res.headers['x-switchyard-attempts']).toBe('2');
  });

  it('leaves the routed target alone when every target was skipped', () => {
    const err = new GatewayError(503, 'All upstream targets are unavailable right now', {
      type: 'overloaded_error',
    });
    rememberAttempts(err, [{ target: 'a,m1', outcome: 'skipped', reason: 'cooldown', ms: 0 }]);
    const res = buildErrorResponse(err, '/v1/messages', 'r1');
    expect(res.headers['x-switchyard-target']).toBeUndefined();
    expect(res.headers['x-switchyard-attempts']).toBe('0');
  });
});
