import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

interface Raw {
  status: number;
  headers: Headers;
  body: any;
}

async function call(
  gw: GatewayUnderTest,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Raw> {
  const res = await fetch(`${gw.url}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const anthropicShape = (type: string) => ({
  type: 'error',
  error: { type, message: expect.any(String) },
  request_id: expect.any(String),
});
const openAIShape = (type: string) => ({
  error: { message: expect.any(String), type, param: null, code: null },
});

const ANTHROPIC_CLIENT = { 'anthropic-version': '2023-06-01' };
const OPENAI_CLIENT = { 'user-agent': 'OpenAI/JS 6.49.0' };
const ask = (text: string) =>
  JSON.stringify({ model: 'openai,gpt-fake', max_tokens: 8, messages: [{ role: 'user', content: text }] });

describe('routes', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());

  describe('unknown /v1 routes answer in the format the client speaks', () => {
    it.each<[string, string, string, Record<string, string>, 'anthropic' | 'openai']>([
      ['an Anthropic client (anthropic-version)', 'GET', '/v1/foo', ANTHROPIC_CLIENT, 'anthropic'],
      ['a client sending x-api-key', 'POST', '/v1/foo', { 'x-api-key': 'k' }, 'anthropic'],
      ['an Anthropic path (/v1/complete)', 'POST', '/v1/complete', {}, 'anthropic'],
      ['an Anthropic path (/v1/files)', 'GET', '/v1/files', {}, 'anthropic'],
      ['a doubled slash before messages', 'POST', '//v1/messages/nope', {}, 'anthropic'],
      ['the OpenAI SDK (user agent)', 'POST', '/v1/embeddings', OPENAI_CLIENT, 'openai'],
      ['no hint at all', 'GET', '/v1/nope', {}, 'openai'],
      ['an OpenAI-only path', 'POST', '/v1/responses', {}, 'openai'],
      ['a doubled slash before chat/completions', 'POST', '/v1//chat/completions', {}, 'openai'],
    ])('%s: %s %s', async (_name, method, path, headers, format) => {
      const res = await call(gw, method, path, headers);
      expect(res.status).toBe(404);
      expect(res.body).toEqual(
        format === 'anthropic' ? anthropicShape('not_found_error') : openAIShape('not_found_error'),
      );
    });

    it('outside /v1 the plain shape stays', async () => {
      const res = await call(gw, 'GET', '/nope', ANTHROPIC_CLIENT);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: { type: 'not_found_error' }, statusCode: 404 });
    });

    it('SDKs raise NotFoundError with the message of the body', async () => {
      const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0 });
      const err = await openai.embeddings.create({ model: 'x', input: 'y' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect((err as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({
        message: 'No route for POST /v1/embeddings',
      });
      const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
      const aerr = await anthropic.beta.files.list().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(aerr).toBeInstanceOf(Anthropic.NotFoundError);
      expect((aerr as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject(
        anthropicShape('not_found_error'),
      );
    });
  });

  describe('a trailing slash is the same route', () => {
    it.each([
      ['/v1/messages/', ANTHROPIC_CLIENT],
      ['/v1/messages/?beta=true', ANTHROPIC_CLIENT],
      ['/v1/chat/completions/', {}],
    ])('POST %s answers', async (path, headers) => {
      const res = await call(
        gw,
        'POST',
        path,
        { 'content-type': 'application/json', ...headers },
        ask(`slash ${path}`),
      );
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.body)).toContain('Hello from fake provider');
    });

    it('GET /v1/models/ and POST /v1/messages/count_tokens/ answer', async () => {
      const models = await call(gw, 'GET', '/v1/models/');
      expect(models.status).toBe(200);
      expect(models.body.data.length).toBeGreaterThan(0);
      const count = await call(
        gw,
        'POST',
        '/v1/messages/count_tokens/',
        { 'content-type': 'application/json' },
        JSON.stringify({ model: 'openai,gpt-fake', messages: [{ role: 'user', content: 'count' }] }),
      );
      expect(count.status).toBe(200);
      expect(count.body.input_tokens).toBeGreaterThan(0);
    });
  });

  it('a trailing slash is no way around what is keyed on the path (client rate limits)', async () => {
    const limited = await startGateway({
      config: { RateLimit: { enabled: true, client: { rpm: 1, tpm: 0 } }, Cache: { enabled: false } },
    });
    try {
      const headers = { 'content-type': 'application/json', 'x-api-key': 'one-client' };
      expect((await call(limited, 'POST', '/v1/messages', headers, ask('first'))).status).toBe(200);
      expect((await call(limited, 'POST', '/v1/messages/', headers, ask('second'))).status).toBe(429);
      expect((await call(limited, 'POST', '/v1/chat/completions/', headers, ask('third'))).status).toBe(429);
    } finally {
      await limited.stop();
    }
  });

  it('a percent-encoded path is the same route, in the same error format (RFC 3986 unreserved characters)', async () => {
    const ok = await call(
      gw,
      'POST',
      '/v1/%6dessages',
      { 'content-type': 'application/json', ...ANTHROPIC_CLIENT },
      ask('encoded'),
    );
    expect(ok.status).toBe(200);
    expect(JSON.stringify(ok.body)).toContain('Hello from fake provider');
    // A bad body on that spelling is answered in the Anthropic format, as on /v1/messages.
    const bad = await call(
      gw,
      'POST',
      '/v1/%6D%65ssages',
      { 'content-type': 'application/json' },
      '{"model":',
    );
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  describe('a wrong method is 405 before anything is read from the body', () => {
    it.each<[string, string, Record<string, string>, string | undefined, 'anthropic' | 'openai', string]>([
      ['DELETE', '/v1/chat/completions', { 'content-type': 'application/json' }, undefined, 'openai', 'POST'],
      ['PATCH', '/v1/chat/completions', { 'content-type': 'application/json' }, undefined, 'openai', 'POST'],
      ['PUT', '/v1/chat/completions', { 'content-type': 'application/json' }, '{"broken', 'openai', 'POST'],
      ['DELETE', '/v1/messages', { 'content-type': 'application/json' }, undefined, 'anthropic', 'POST'],
      ['PUT', '/v1/messages/', { 'content-type': 'application/json' }, '{}', 'anthropic', 'POST'],
      ['POST', '/v1/models', { 'content-type': 'application/json' }, undefined, 'anthropic', 'GET'],
      [
        'POST',
        '/v1/models/router,vendor/model',
        { 'content-type': 'application/json' },
        '{',
        'anthropic',
        'GET',
      ],
      ['PUT', '/v1/messages/batches/msgbatch_1', {}, undefined, 'anthropic', 'GET, DELETE'],
    ])('%s %s', async (method, path, headers, body, format, allow) => {
      const res = await call(gw, method, path, headers, body);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect(res.body).toEqual(
        format === 'anthropic'
          ? anthropicShape('invalid_request_error')
          : openAIShape('invalid_request_error'),
      );
    });

    it('an unknown route with a broken JSON body is 404, not a complaint about the body', async () => {
      const res = await call(gw, 'POST', '/v1/nope', { 'content-type': 'application/json' }, '{"broken');
      expect(res.status).toBe(404);
    });
  });
});
