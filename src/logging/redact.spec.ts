import { CENSOR, createRedactor, redactUrl } from './redact';

describe('createRedactor', () => {
  const redact = createRedactor(['sessionToken']);

  it('censors secret keys at any depth, case-insensitively, without touching the original', () => {
    const line = {
      msg: 'upstream call',
      headers: { Authorization: 'Bearer sk-1', 'X-Api-Key': 'sk-2', accept: 'json' },
      provider: { name: 'p', api_key: 'sk-3', nested: [{ deep: { APIKEY: 'sk-4', password: 'hunter2' } }] },
      sessiontoken: 'tok',
    };
    const copy = JSON.parse(JSON.stringify(line)) as typeof line;
    const out = redact(line);
    expect(out).toEqual({
      msg: 'upstream call',
      headers: { Authorization: CENSOR, 'X-Api-Key': CENSOR, accept: 'json' },
      provider: { name: 'p', api_key: CENSOR, nested: [{ deep: { APIKEY: CENSOR, password: CENSOR } }] },
      sessiontoken: CENSOR,
    });
    expect(line).toEqual(copy);
  });

  it('returns the very same objects when there is nothing to hide (no allocation on the hot path)', () => {
    const inner = { a: 1, b: [1, 2, { c: 'x' }] };
    const line = { requestId: 'r-1', inner };
    expect(redact(line)).toBe(line);
    const mixed = { safe: inner, unsafe: { password: 'p' } };
    const out = redact(mixed);
    expect(out.safe).toBe(inner);
    expect(out.unsafe).toEqual({ password: CENSOR });
    expect(redact('plain string')).toBe('plain string');
  });

  it('keeps an error an error (prototype, message, stack) while censoring its properties', () => {
    class UpstreamError extends Error {
      constructor(
        message: string,
        readonly config: Record<string, unknown>,
      ) {
        super(message);
        this.name = 'UpstreamError';
      }
    }
    const err = new UpstreamError('boom', { headers: { authorization: 'Bearer sk-5' }, url: 'http://x' });
    const out = redact({ err }).err;
    expect(out).toBeInstanceOf(UpstreamError);
    expect(out).not.toBe(err);
    expect(out.message).toBe('boom');
    expect(out.stack).toBe(err.stack);
    expect(out.config).toEqual({ headers: { authorization: CENSOR }, url: 'http://x' });
    expect(err.config.headers).toEqual({ authorization: 'Bearer sk-5' });
  });

  it('does not walk class instances (requests, sockets, buffers) nor past eight levels', () => {
    class Holder {
      password = 'inside a class';
    }
    const holder = new Holder();
    expect(redact({ holder }).holder).toBe(holder);
    let deep: Record<string, unknown> = { password: 'too deep' };
    for (let i = 0; i < 9; i++) {
      deep = { next: deep };
    }
    expect(redact(deep)).toBe(deep);
    let shallow: Record<string, unknown> = { password: 'reached' };
    for (let i = 0; i < 8; i++) {
      shallow = { next: shallow };
    }
    expect(JSON.stringify(redact(shallow))).toContain(CENSOR);
  });
});

describe('redactUrl', () => {
  it('hides a key passed in the query', () => {
    expect(redactUrl('/dashboard?key=abc&x=1')).toBe('/dashboard?key=[redacted]&x=1');
    expect(redactUrl('/v1/messages')).toBe('/v1/messages');
  });

  it('hides every secret-looking query parameter and URL credentials, keeps the rest', () => {
    expect(
      redactUrl('/v1/messages?beta=true&token=t1&access_token=t2&x-api-key=k1&API-KEY=k2&sig=s1&keyPrefix=ccr'),
    ).toBe(
      '/v1/messages?beta=true&token=[redacted]&access_token=[redacted]&x-api-key=[redacted]&API-KEY=[redacted]&sig=[redacted]&keyPrefix=ccr',
    );
    expect(redactUrl('/v1/messages?client%5Fsecret=s2&key=')).toBe('/v1/messages?client%5Fsecret=[redacted]&key=');
    expect(redactUrl('https://bob:pa55@proxy.example:8080/v1/chat/completions?alt=sse&key=AIza1')).toBe(
      'https://[redacted]@proxy.example:8080/v1/chat/completions?alt=sse&key=[redacted]',
    );
    expect(redactUrl('/v1/messages?note=a@b')).toBe('/v1/messages?note=a@b');
    expect(redactUrl(undefined)).toBeUndefined();
  });
});
