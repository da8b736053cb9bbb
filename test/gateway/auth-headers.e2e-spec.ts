import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

const KEY = 'gateway-key-both';
const body = (text: string) =>
  JSON.stringify({ model: 'openai,gpt-fake', max_tokens: 8, messages: [{ role: 'user', content: text }] });

async function send(gw: GatewayUnderTest, headers: Record<string, string>, text: string): Promise<Response> {
  return fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body(text),
  });
}

/** PROTOCOL.md §1.1: some clients send x-api-key and Authorization together; either may carry the key. */
describe('API key in x-api-key and/or Authorization: Bearer', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ userConfig: { APIKEY: KEY } });
  });
  afterAll(() => gw.stop());

  it.each([
    [
      'x-api-key wrong, Bearer right',
      { 'x-api-key': 'sk-ant-some-provider-key', authorization: `Bearer ${KEY}` },
      200,
    ],
    ['x-api-key right, Bearer wrong', { 'x-api-key': KEY, authorization: 'Bearer sk-other' }, 200],
    ['both right', { 'x-api-key': KEY, authorization: `Bearer ${KEY}` }, 200],
    ['x-api-key alone', { 'x-api-key': KEY }, 200],
    ['Bearer alone (any case)', { authorization: `bearer   ${KEY}` }, 200],
    ['both wrong', { 'x-api-key': 'nope', authorization: 'Bearer nope' }, 401],
    ['x-api-key wrong alone', { 'x-api-key': 'nope' }, 401],
    ['neither', {}, 401],
  ])('%s: %j → %i', async (name, headers, status) => {
    const res = await send(gw, headers, name);
    expect(res.status).toBe(status);
    if (status === 401) {
      expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    }
  });
});

describe('a request without the key is refused before its body is read', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ userConfig: { APIKEY: KEY } });
  });
  afterAll(() => gw.stop());

  const post = (path: string, headers: Record<string, string>, payload: string): Promise<Response> =>
    fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
    });

  it('a broken body without the key is a 401 (not a 400 about the body), in each client format', async () => {
    const anthropic = await post('/v1/messages', {}, '{"model":');
    expect(anthropic.status).toBe(401);
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const openai = await post('/v1/chat/completions', { authorization: 'Bearer nope' }, '{"model":');
    expect(openai.status).toBe(401);
    expect(await openai.json()).toMatchObject({
      error: { type: 'authentication_error', message: 'Invalid API key' },
    });
    // With the key, the same body is the client's mistake.
    expect((await post('/v1/messages', { 'x-api-key': KEY }, '{"model":')).status).toBe(400);
  });

  it('a large upload without the key gets its 401, and the refusal is counted like any other', async () => {
    const big = JSON.stringify({
      model: 'm',
      max_tokens: 1,
      messages: [{ role: 'user', content: 'x'.repeat(8 << 20) }],
    });
    const res = await post('/v1/messages', {}, big);
    expect(res.status).toBe(401);
    await res.text();
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_requests_total\{[^}]*status="401"[^}]*\} [1-9]/);
  });

  it('unknown routes stay 404 and public GETs stay open', async () => {
    expect((await post('/v1/nope', {}, '{}')).status).toBe(404);
    expect((await fetch(`${gw.url}/health/live`)).status).toBe(200);
  });
});

describe('the identity of a client that sends both headers', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({
      userConfig: { APIKEY: KEY },
      // One request per minute per client key: shows which key a request is counted against.
      config: { RateLimit: { enabled: true, client: { rpm: 1, tpm: 0 } }, Cache: { enabled: false } },
    });
  });
  afterAll(() => gw.stop());

  it('is the key that matched: rotating the other header opens no new rate-limit bucket', async () => {
    expect((await send(gw, { authorization: `Bearer ${KEY}` }, 'first')).status).toBe(200);
    for (const other of ['sk-ant-a', 'sk-ant-b', 'sk-ant-c']) {
      const res = await send(gw, { 'x-api-key': other, authorization: `Bearer ${KEY}` }, `rotate ${other}`);
      expect(res.status).toBe(429);
    }
  });
});

describe('SDK clients that send both headers', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ userConfig: { APIKEY: KEY } });
  });
  afterAll(() => gw.stop());

  it('Anthropic SDK: gateway key as the auth token, a provider key in x-api-key (SDK 0.x, Claude Code)', async () => {
    const client = new Anthropic({
      baseURL: gw.url,
      authToken: KEY,
      apiKey: null,
      defaultHeaders: { 'x-api-key': 'sk-ant-api03-real-anthropic-key' },
      maxRetries: 0,
    });
    const msg = await client.messages.create({
      model: 'openai,gpt-fake',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'both headers, Anthropic SDK' }],
    });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake provider' });
  });

  it('OpenAI SDK: gateway key as apiKey, another key in x-api-key', async () => {
    const client = new OpenAI({
      baseURL: `${gw.url}/v1`,
      apiKey: KEY,
      defaultHeaders: { 'x-api-key': 'sk-something-else' },
      maxRetries: 0,
    });
    const res = await client.chat.completions.create({
      model: 'openai,gpt-fake',
      messages: [{ role: 'user', content: 'both headers, OpenAI SDK' }],
    });
    expect(res.choices[0].message.content).toBe('Hello from fake provider');
  });

  it('neither header right → AuthenticationError', async () => {
    const client = new Anthropic({
      baseURL: gw.url,
      apiKey: 'wrong',
      defaultHeaders: { 'x-api-key': 'also-wrong' },
      maxRetries: 0,
    });
    await expect(
      client.messages.create({
        model: 'openai,gpt-fake',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
  });
});
