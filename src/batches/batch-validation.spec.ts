import { GatewayError } from '../protocol/errors';
import { parseCreateBatch } from './batch-validation';

const params = (extra: Record<string, unknown> = {}) => ({
  model: 'openai,gpt-fake',
  max_tokens: 16,
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

function rejection(body: unknown, max = 10): GatewayError {
  try {
    parseCreateBatch(body, max);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(400);
    expect((err as GatewayError).type).toBe('invalid_request_error');
    return err as GatewayError;
  }
  throw new Error('expected a 400');
}

describe('parseCreateBatch', () => {
  it('accepts valid requests and keeps params as sent', () => {
    const body = {
      requests: [
        { custom_id: 'a-1', params: params({ extra_field: 1 }) },
        { custom_id: 'B_2', params: params() },
      ],
    };
    const out = parseCreateBatch(body, 10);
    expect(out).toEqual(body.requests);
  });

  it.each([
    [{}, /requests: Field required/],
    [{ requests: 'x' }, /requests: must be an array/],
    [{ requests: [] }, /at least one request/],
    [{ requests: [1] }, /requests\[0\]: must be an object/],
    [{ requests: [{ params: params() }] }, /requests\[0\]\.custom_id: Field required/],
    [
      { requests: [{ custom_id: 'has space', params: params() }] },
      /requests\[0\]\.custom_id: .* must be 1-64/,
    ],
    [{ requests: [{ custom_id: 'x'.repeat(65), params: params() }] }, /must be 1-64/],
    [{ requests: [{ custom_id: 'a' }] }, /requests\[0\] \(custom_id "a"\): params: Field required/],
  ])('rejects %j', (body, message) => {
    expect(rejection(body).message).toMatch(message);
  });

  it('rejects a body that is not an object', () => {
    expect(rejection([1]).message).toMatch(/JSON object/);
  });

  it('rejects more than maxRequests', () => {
    const requests = Array.from({ length: 4 }, (_, i) => ({ custom_id: `r${i}`, params: params() }));
    expect(rejection({ requests }, 3).message).toMatch(/at most 3 requests \(got 4\)/);
  });

  it('names both requests of a duplicate custom_id', () => {
    const body = {
      requests: [
        { custom_id: 'a', params: params() },
        { custom_id: 'b', params: params() },
        { custom_id: 'a', params: params() },
      ],
    };
    expect(rejection(body).message).toBe(
      'requests[2].custom_id: duplicate custom_id "a" (also used by requests[0])',
    );
  });

  it('leaves what is inside params to the run (an invalid one is an errored result, as on Anthropic)', () => {
    const body = {
      requests: [
        { custom_id: 'ok', params: params() },
        { custom_id: 'bad', params: { model: 'x', messages: [{ role: 'user', content: 'hi' }] } },
        { custom_id: 's', params: params({ stream: true }) },
      ],
    };
    expect(parseCreateBatch(body, 10).map((r) => r.custom_id)).toEqual(['ok', 'bad', 's']);
    const notAnObject = { requests: [{ custom_id: 'e', params: [1] }] };
    expect(rejection(notAnObject).message).toMatch(
      /^requests\[0\] \(custom_id "e"\): params: Field required/,
    );
  });
});
