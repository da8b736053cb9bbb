import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { RequestOutcomeService, type RequestOutcome } from '../../src/common/request-outcome';
import { eventually, startGateway, type GatewayUnderTest } from '../support/gateway';
import { messages, post, unique } from './support';

/**
 * The RequestOutcome contract as the request path emits it: exactly one per request on /v1/messages and
 * /v1/chat/completions — answered, failed, streamed, aborted — with every field the path knows.
 */
describe('RequestOutcome: one per request, filled from the real request path', () => {
  let gw: GatewayUnderTest;
  const seen: RequestOutcome[] = [];
  const byId = (id: string | null): RequestOutcome[] => seen.filter((o) => o.requestId === id);
  const one = async (id: string | null): Promise<RequestOutcome> => {
    await eventually(() => byId(id).length > 0);
    expect(byId(id)).toHaveLength(1);
    return byId(id)[0];
  };

  beforeAll(async () => {
    gw = await startGateway({
      config: {
        Failover: { health: { enabled: false } },
        RateLimit: { enabled: true, keys: { 'limited-client': { rpm: 1 } } },
      },
    });
    gw.app.get(RequestOutcomeService).subscribe((o) => seen.push(o));
  });
  afterAll(() => gw.stop());

  it('a streamed answer (Anthropic SDK): status, route, target, cache, dedup, attempts, timings, usage', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'sk-client', maxRetries: 0 });
    const { response, data: stream } = await client.messages
      .create({
        model: 'claude-sonnet-4',
        max_tokens: 64,
        messages: [
          {
            role: 'user',
            content: unique('outcome stream', { usage: { input: 12, output: 7, cacheRead: 3 } }),
          },
        ],
        stream: true,
      })
      .withResponse();
    for await (const _ of stream) {
      // drain
    }
    const o = await one(response.headers.get('x-request-id'));
    expect(o).toMatchObject({
      route: 'messages',
      scenario: 'default',
      target: 'openai,gpt-fake',
      clientModel: 'claude-sonnet-4',
      status: 200,
      stream: true,
      cache: 'MISS',
      dedup: 'leader',
      attempts: 1,
      failovers: 0,
      queueClass: 'interactive',
      usage: {
        input_tokens: 12,
        output_tokens: 7,
        cache_read_input_tokens: 3,
        cache_creation_input_tokens: 0,
      },
    });
    expect(o.errorType).toBeUndefined();
    expect(o.errorSource).toBeUndefined();
    expect(Math.abs(o.startedAt - Date.now())).toBeLessThan(10_000);
    expect(o.queueWaitMs).toBeGreaterThanOrEqual(0);
    expect(o.ttfbMs).toBeGreaterThan(0);
    expect(o.ttfbMs).toBeLessThanOrEqual(o.durationMs);
    expect(o.upstreamMs).toBeGreaterThan(0);
    expect(o.upstreamMs).toBeLessThanOrEqual(o.durationMs);
  });

  it('a JSON answer (OpenAI SDK) and then its cache hit: no upstream call, no upstream time', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
    const prompt = unique('outcome cache');
    const first = await client.chat.completions
      .create({ model: 'gpt-4o', max_tokens: 16, messages: [{ role: 'user', content: prompt }] })
      .withResponse();
    const miss = await one(first.response.headers.get('x-request-id'));
    expect(miss).toMatchObject({
      route: 'chat_completions',
      status: 200,
      stream: false,
      cache: 'MISS',
      attempts: 1,
    });
    expect(miss.ttfbMs).toBe(miss.durationMs); // a JSON answer's first byte is its body
    await eventually(
      async () =>
        (
          await post(gw, '/v1/chat/completions', {
            model: 'gpt-4o',
            max_tokens: 16,
            messages: [{ role: 'user', content: prompt }],
          })
        ).headers.get('x-switchyard-cache') === 'HIT',
    );
    const hit = await client.chat.completions
      .create({ model: 'gpt-4o', max_tokens: 16, messages: [{ role: 'user', content: prompt }] })
      .withResponse();
    const o = await one(hit.response.headers.get('x-request-id'));
    expect(o).toMatchObject({
      status: 200,
      cache: 'HIT',
      attempts: 0,
      failovers: 0,
      usage: { input_tokens: 10, output_tokens: 20 },
    });
    expect(o.upstreamMs).toBeUndefined();
    expect(o.queueClass).toBeUndefined();
  });

  it('a coalesced follower shares the leader’s call: attempts 0, dedup follower', async () => {
    const prompt = unique('outcome dedup', { firstByteDelayMs: 400 });
    const leader = post(gw, '/v1/messages', messages(prompt));
    await eventually(() =>
      gw.fake.requests.some((r) => JSON.stringify(r.body).includes(prompt.slice(0, 40))),
    );
    const follower = await post(gw, '/v1/messages', messages(prompt));
    const led = await leader;
    expect(follower.headers.get('x-switchyard-dedup')).toBe('follower');
    expect(await one(led.headers.get('x-request-id'))).toMatchObject({ dedup: 'leader', attempts: 1 });
    const o = await one(follower.headers.get('x-request-id'));
    expect(o).toMatchObject({ status: 200, dedup: 'follower', attempts: 0, usage: { input_tokens: 10 } });
    expect(o.upstreamMs).toBeUndefined();
  });

  it('client errors: validation 400 and the client’s own rate limit 429 are the client’s', async () => {
    const bad = await post(gw, '/v1/messages', { model: 'x', messages: 'nope' });
    expect(bad.status).toBe(400);
    expect(await one(bad.headers.get('x-request-id'))).toMatchObject({
      route: 'messages',
      status: 400,
      errorType: 'invalid_request_error',
      errorSource: 'client',
      attempts: 0,
      clientModel: 'x',
    });
    const key = { 'x-api-key': 'limited-client' };
    expect((await post(gw, '/v1/messages', messages(unique('rl 1')), key)).status).toBe(200);
    const limited = await post(gw, '/v1/messages', messages(unique('rl 2')), key);
    expect(limited.status).toBe(429);
    const o = await one(limited.headers.get('x-request-id'));
    expect(o).toMatchObject({ status: 429, errorType: 'rate_limit_error', errorSource: 'client' });
    expect(JSON.stringify(o)).not.toContain('limited-client'); // never the key
  });

  it('an upstream failure: the provider’s status, blamed on the upstream, with its attempts', async () => {
    const res = await post(gw, '/v1/chat/completions', {
      model: 'gpt-4o',
      messages: [
        { role: 'user', content: unique('outcome 503', { fault: { type: 'status', status: 503 } }) },
      ],
    });
    expect(res.status).toBe(503);
    const o = await one(res.headers.get('x-request-id'));
    expect(o).toMatchObject({
      route: 'chat_completions',
      status: 503,
      errorSource: 'upstream',
      target: 'openai,gpt-fake',
      scenario: 'default',
    });
    expect(o.attempts).toBeGreaterThanOrEqual(1);
    expect(o.upstreamMs).toBeGreaterThanOrEqual(0);
  });

  it('a stream that fails after its first byte keeps status 200 and says so; a client that leaves is an abort', async () => {
    const broken = await post(
      gw,
      '/v1/messages',
      messages(unique('outcome cut', { fault: { type: 'stream-error' }, chunkCount: 6 }), { stream: true }),
    );
    expect(broken.status).toBe(200);
    expect(await one(broken.headers.get('x-request-id'))).toMatchObject({
      status: 200,
      stream: true,
      errorSource: 'upstream',
      errorType: expect.any(String),
    });

    const controller = new AbortController();
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        messages(unique('outcome abort', { chunkCount: 40, chunkGapMs: 50 }), { stream: true }),
      ),
      signal: controller.signal,
    });
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    controller.abort();
    const o = await one(res.headers.get('x-request-id'));
    expect(o).toMatchObject({ status: 200, stream: true, errorType: 'client_abort', errorSource: 'client' });
    expect(o.durationMs).toBeLessThan(1500); // reported when the client left, not when the answer would have ended
  });

  it('nothing for other routes; never two outcomes for one request', async () => {
    const before = seen.length;
    await post(gw, '/v1/messages/count_tokens', messages('count me'));
    await fetch(`${gw.url}/v1/models`);
    await fetch(`${gw.url}/health/live`);
    await fetch(`${gw.url}/metrics`);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.length).toBe(before);
    const ids = seen.map((o) => o.requestId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
