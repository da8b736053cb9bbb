import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import { eventually, startGateway, type GatewayUnderTest } from '../support/gateway';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';

const body = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'openai,gpt-fake',
  max_tokens: 64,
  messages: [{ role: 'user', content }],
  ...extra,
});

async function post(gw: GatewayUnderTest, path: string, payload: object, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The text of an answer in any of the four shapes (Anthropic/OpenAI × JSON/SSE). */
function answerText(text: string): string {
  if (!text.startsWith('event:') && !text.startsWith('data:')) {
    const json = JSON.parse(text);
    return json.content ? json.content.map((b: { text?: string }) => b.text ?? '').join('') : json.choices[0].message.content;
  }
  let out = '';
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') {
      continue;
    }
    const data = JSON.parse(line.slice(6));
    out += data.delta?.text ?? data.choices?.[0]?.delta?.content ?? '';
  }
  return out;
}

describe('response cache on the request path', () => {
  let gw: GatewayUnderTest;
  let redis: ThrowawayRedis;
  beforeAll(async () => {
    redis = await startRedisServer();
    gw = await startGateway({ env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await gw.stop();
    await redis.stop();
  });

  const shapes = [
    ['anthropic json', '/v1/messages', false],
    ['anthropic sse', '/v1/messages', true],
    ['openai json', '/v1/chat/completions', false],
    ['openai sse', '/v1/chat/completions', true],
  ] as const;

  it.each(shapes)('an answer stored by one shape is served to every other (stored by %s)', async (_name, path, stream) => {
    const prompt = `cache matrix ${randomUUID()} [[fake:${JSON.stringify({ text: 'Cached answer, 你好 🌍' })}]]`;
    const before = gw.fake.count();
    const first = await post(gw, path, body(prompt, { stream }));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-switchyard-cache')).toBe('MISS');
    await eventually(async () => (await post(gw, '/v1/messages', body(prompt))).headers.get('x-switchyard-cache') === 'HIT');
    for (const [, otherPath, otherStream] of shapes) {
      const again = await post(gw, otherPath, body(prompt, { stream: otherStream }));
      expect(again.status).toBe(200);
      expect(again.headers.get('x-switchyard-cache')).toBe('HIT');
      expect(answerText(again.text)).toBe('Cached answer, 你好 🌍');
      if (otherStream) {
        expect(again.text.trimEnd().endsWith(otherPath === '/v1/messages' ? 'data: {"type":"message_stop"}' : 'data: [DONE]')).toBe(true);
      }
    }
    expect(gw.fake.count() - before).toBe(1);
  });

  it('honours cache-control: no-cache (read bypassed), no-store (nothing stored), max-age', async () => {
    const prompt = `policy ${randomUUID()}`;
    const noStore = await post(gw, '/v1/messages', body(prompt), { 'cache-control': 'no-store' });
    expect(noStore.headers.get('x-switchyard-cache')).toBe('BYPASS');
    const miss = await post(gw, '/v1/messages', body(prompt));
    expect(miss.headers.get('x-switchyard-cache')).toBe('MISS');
    await eventually(async () => (await post(gw, '/v1/messages', body(prompt))).headers.get('x-switchyard-cache') === 'HIT');
    const noCache = await post(gw, '/v1/messages', body(prompt), { 'cache-control': 'no-cache' });
    expect(noCache.headers.get('x-switchyard-cache')).toBe('BYPASS');
    await new Promise((r) => setTimeout(r, 1100));
    const tooOld = await post(gw, '/v1/messages', body(prompt), { 'cache-control': 'max-age=0' });
    expect(tooOld.headers.get('x-switchyard-cache')).not.toBe('HIT');
  });

  it('never stores an error, a cut stream or an aborted answer', async () => {
    for (const fault of [{ type: 'status', status: 500 }, { type: 'cut' }]) {
      const prompt = `nostore ${randomUUID()} [[fake:${JSON.stringify({ fault, chunkCount: 6 })}]]`;
      await post(gw, '/v1/messages', body(prompt, { stream: true }));
      await new Promise((r) => setTimeout(r, 100));
      const before = gw.fake.count();
      const again = await post(gw, '/v1/messages', body(prompt, { stream: true }));
      expect(again.headers.get('x-switchyard-cache')).not.toBe('HIT');
      expect(gw.fake.count()).toBe(before + 1);
    }
    const prompt = `aborted ${randomUUID()} [[fake:${JSON.stringify({ chunkCount: 5, chunkGapMs: 200 })}]]`;
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body(prompt, { stream: true })),
      signal: controller.signal,
    });
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    controller.abort();
    await new Promise((r) => setTimeout(r, 300));
    const after = await post(gw, '/v1/messages', body(prompt, { stream: true }), { 'cache-control': 'max-age=60' });
    expect(after.headers.get('x-switchyard-cache')).toBe('MISS');
  });

  it('entries live in Redis: a second gateway on the same Redis hits them', async () => {
    const prompt = `shared ${randomUUID()}`;
    await post(gw, '/v1/messages', body(prompt));
    const other = await startGateway({ env: { REDIS_URL: redis.url } });
    try {
      await eventually(async () => ((await (await fetch(`${other.url}/health/ready`)).json()) as any).details.redis.mode === 'redis');
      // Both gateways' providers point at their own fake; the key is the same target name and request.
      await eventually(async () => (await post(other, '/v1/messages', body(prompt))).headers.get('x-switchyard-cache') === 'HIT');
      expect(other.fake.count({ api: 'openai' })).toBe(0);
    } finally {
      await other.stop();
    }
  });

  it('reports stats and explains keys on the admin API', async () => {
    const stats = (await (await fetch(`${gw.url}/api/cache/stats`)).json()) as any;
    expect(stats.hits).toBeGreaterThan(0);
    expect(stats.stores).toBeGreaterThan(0);
    expect(stats.compression.ratio).toBeGreaterThan(1);
    const explain = await fetch(`${gw.url}/api/cache/explain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: body('explain me'), target: 'openai,gpt-fake' }),
    });
    const explained = (await explain.json()) as any;
    expect(explained.key).toMatch(/cache:v1:[0-9a-f]{64}$/);
    expect(Object.keys(explained.fields)).toEqual(expect.arrayContaining(['messages', 'target', 'max_tokens']));

    const all = (await (await fetch(`${gw.url}/api/stats`)).json()) as any;
    expect(all.process.rssMb).toBeGreaterThan(0);
    expect(all.cache.hits).toBe(stats.hits);
    expect(all.dedup.leaders).toBeGreaterThan(0);
    expect(all.pools).toEqual(expect.arrayContaining([expect.objectContaining({ origin: gw.fake.url })]));
    expect(all.modes.cache).toBe('redis');
    expect(all.compression).toEqual(expect.objectContaining({ rawBytes: expect.any(Number) }));
  });
});

describe('in-flight coalescing on the request path', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());

  it('100 identical concurrent requests in mixed modes cost exactly one upstream call', async () => {
    const prompt = `coalesce ${randomUUID()} [[fake:${JSON.stringify({ chunkCount: 8, chunkGapMs: 40, text: 'one answer for all of you' })}]]`;
    const before = gw.fake.count();
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const calls = Array.from({ length: 100 }, async (_, i): Promise<string> => {
      switch (i % 4) {
        case 0: {
          const m = await anthropic.messages.create(body(prompt) as Anthropic.MessageCreateParamsNonStreaming);
          return (m.content[0] as Anthropic.TextBlock).text;
        }
        case 1: {
          const m = await anthropic.messages.stream(body(prompt) as Anthropic.MessageCreateParamsNonStreaming).finalMessage();
          return (m.content[0] as Anthropic.TextBlock).text;
        }
        case 2: {
          const c = await openai.chat.completions.create({ model: 'openai,gpt-fake', max_tokens: 64, messages: [{ role: 'user', content: prompt }] });
          return c.choices[0].message.content ?? '';
        }
        default: {
          const c = await openai.chat.completions
            .stream({ model: 'openai,gpt-fake', max_tokens: 64, messages: [{ role: 'user', content: prompt }] })
            .finalChatCompletion();
          return c.choices[0].message.content ?? '';
        }
      }
    });
    const answers = await Promise.all(calls);
    expect(answers).toEqual(Array(100).fill('one answer for all of you'));
    expect(gw.fake.count() - before).toBe(1);
  });

  it('marks leader and follower, and a follower leaving does not cancel the shared call', async () => {
    const prompt = `roles ${randomUUID()} [[fake:${JSON.stringify({ chunkCount: 6, chunkGapMs: 60 })}]]`;
    const payload = JSON.stringify(body(prompt, { stream: true }));
    const headers = { 'content-type': 'application/json', 'cache-control': 'no-store' };
    const leader = fetch(`${gw.url}/v1/messages`, { method: 'POST', headers, body: payload });
    await eventually(() => gw.fake.inFlight() > 0);
    const controller = new AbortController();
    const follower = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers, body: payload, signal: controller.signal });
    expect(follower.headers.get('x-switchyard-dedup')).toBe('follower');
    controller.abort();
    const lead = await leader;
    expect(lead.headers.get('x-switchyard-dedup')).toBe('leader');
    const text = await lead.text();
    expect(text).toContain('event: message_stop');
    expect(gw.fake.requests[gw.fake.requests.length - 1].closedByClient).toBe(false);
  });
});

describe('with coalescing and the cache switched off', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGateway({ config: { Dedup: { enabled: false }, Cache: { enabled: false } } });
  });
  afterAll(() => gw.stop());

  it('every request goes upstream on its own, and says so', async () => {
    const prompt = `solo ${randomUUID()} [[fake:${JSON.stringify({ chunkCount: 4, chunkGapMs: 30 })}]]`;
    const before = gw.fake.count({ api: 'openai' });
    const replies = await Promise.all([1, 2, 3].map(() => post(gw, '/v1/messages', body(prompt))));
    for (const r of replies) {
      expect(r.status).toBe(200);
      expect(r.headers.get('x-switchyard-dedup')).toBeNull();
      expect(r.headers.get('x-switchyard-cache')).toBe('BYPASS');
    }
    expect(gw.fake.count({ api: 'openai' }) - before).toBe(3);
  });
});

describe('Redis going away under the gateway', () => {
  it('keeps answering from memory, never waits on Redis, and uses Redis again once it is back', async () => {
    const redis = await startRedisServer();
    const gw = await startGateway({ env: { REDIS_URL: redis.url } });
    const mode = async (): Promise<string> =>
      ((await (await fetch(`${gw.url}/health/ready`)).json()) as any).details.redis.subsystems.cache;
    try {
      await eventually(async () => (await mode()) === 'redis');
      const cached = `outage ${randomUUID()}`;
      await post(gw, '/v1/messages', body(cached));
      await eventually(async () => (await post(gw, '/v1/messages', body(cached))).headers.get('x-switchyard-cache') === 'HIT');

      await redis.stop();
      await eventually(async () => (await mode()) === 'local', 3000);
      const hit = await post(gw, '/v1/messages', body(cached));
      expect(hit.status).toBe(200);
      expect(hit.headers.get('x-switchyard-cache')).toBe('HIT');
      const fresh = `during outage ${randomUUID()}`;
      const started = Date.now();
      const miss = await post(gw, '/v1/messages', body(fresh, { stream: true }));
      expect(miss.status).toBe(200);
      expect(miss.text).toContain('event: message_stop');
      // Nothing on the request path waited for the dead Redis (its command timeout is 250 ms).
      expect(Date.now() - started).toBeLessThan(2000);

      await redis.restart();
      await eventually(async () => (await mode()) === 'redis', 5000);
      const after = `after outage ${randomUUID()}`;
      await post(gw, '/v1/messages', body(after));
      await eventually(async () => (await post(gw, '/v1/messages', body(after))).headers.get('x-switchyard-cache') === 'HIT');
      const stats = (await (await fetch(`${gw.url}/api/cache/stats`)).json()) as any;
      expect(stats.tiers.redis.mode).toBe('redis');
    } finally {
      await gw.stop();
      await redis.stop();
    }
  });
});
