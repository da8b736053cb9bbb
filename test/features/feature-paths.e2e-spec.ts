/**
 * Every feature flag changes what the request path does (docs/features.md): one assertion per feature, each
 * comparing the same kind of request with the feature on and off. Real gateway over HTTP, the fake provider,
 * the Anthropic SDK for the main path; no Redis (the in-memory forms of cache, dedup, queue, limits).
 */
import Anthropic from '@anthropic-ai/sdk';
import { AffinityService } from '../../src/affinity/affinity.service';
import { rawRequest } from '../compression/raw-http';
import { startGateway, type GatewayUnderTest } from '../support/gateway';
import { allOn, messages, post, setFeatures, unique } from './support';

const LIMITED_KEY = 'features-limited-client';

describe('feature flags on the request path', () => {
  let gw: GatewayUnderTest;
  let client: Anthropic;
  const openaiCalls = (): number => gw.fake.count({ api: 'openai' });

  beforeAll(async () => {
    gw = await startGateway({
      config: {
        Failover: { health: { enabled: false } },
        // Learned first-byte deadlines never shorter than 10 s here: slow fakes below must not time out.
        AdaptiveTimeout: { firstByte: { k: 4, minMs: 10_000, maxMs: 60_000, perInputTokenMs: 0 } },
        Compression: { streams: true },
        RateLimit: { enabled: true, client: { rpm: 0, tpm: 0 }, keys: { [LIMITED_KEY]: { rpm: 1 } } },
        JobQueue: {
          queues: {
            background: { priority: 1, concurrency: 1, maxWaitMs: 300, attempts: 1, backoffMs: 1000 },
          },
        },
        // The guard has its own spec; here runtime changes must not look like suspects.
        Features: { guard: { enabled: false } },
      },
    });
    client = new Anthropic({ baseURL: gw.url, apiKey: 'sk-features', maxRetries: 0 });
  });
  afterAll(() => gw.stop());
  beforeEach(async () => {
    await allOn(gw);
    gw.fake.reset();
  });

  const ask = async (content: string, headers: Record<string, string> = {}) => {
    const { data, response } = await client.messages
      .create(
        { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content }] },
        { headers },
      )
      .withResponse();
    expect(data.content[0]).toMatchObject({ type: 'text' });
    return response.headers;
  };

  it('x-switchyard-features-off names the features a request ran without, and only then appears', async () => {
    expect((await ask(unique('all on'))).get('x-switchyard-features-off')).toBeNull();
    await setFeatures(gw, { queue: { rollout: 0 }, hedge: { enabled: false } });
    expect((await ask(unique('two off'))).get('x-switchyard-features-off')).toBe('hedge,queue');
  });

  it('rollout by session: each Claude Code session gets one decision, about half of them have the feature', async () => {
    await setFeatures(gw, { cache: { rollout: 50 } });
    const sessions = Array.from({ length: 24 }, (_, i) => `features-session-${i}`);
    let without = 0;
    for (const session of sessions) {
      const seen: boolean[] = [];
      for (let turn = 0; turn < 2; turn++) {
        const h = await ask(unique(`turn ${turn}`), { 'x-claude-code-session-id': session });
        const off = (h.get('x-switchyard-features-off') ?? '').split(',').includes('cache');
        // The flag is what the cache saw: off ⇒ not consulted.
        expect(h.get('x-switchyard-cache')).toBe(off ? 'BYPASS' : 'MISS');
        seen.push(off);
      }
      expect(seen[0]).toBe(seen[1]);
      without += seen[0] ? 1 : 0;
    }
    expect(without).toBeGreaterThan(3);
    expect(without).toBeLessThan(21);
  });

  it('cache: on, the second identical request is a HIT; off, neither reads nor writes (BYPASS)', async () => {
    const on = unique('cache on');
    expect((await ask(on)).get('x-switchyard-cache')).toBe('MISS');
    expect((await ask(on)).get('x-switchyard-cache')).toBe('HIT');
    expect(openaiCalls()).toBe(1);

    await setFeatures(gw, { cache: { enabled: false } });
    const off = unique('cache off');
    expect((await ask(off)).get('x-switchyard-cache')).toBe('BYPASS');
    expect((await ask(off)).get('x-switchyard-cache')).toBe('BYPASS');
    expect((await ask(on)).get('x-switchyard-cache')).toBe('BYPASS'); // not even the stored entry is read
    expect(openaiCalls()).toBe(4);
  });

  it('dedup: on, identical concurrent requests share one upstream call; off, each makes its own', async () => {
    gw.fake.configure({ firstByteDelayMs: 400 });
    await setFeatures(gw, { cache: { enabled: false } });
    const twice = async (content: string) => Promise.all([ask(content), ask(content)]);

    const on = await twice(unique('dedup on'));
    expect(openaiCalls()).toBe(1);
    expect(on.map((h) => h.get('x-switchyard-dedup')).sort()).toEqual(['follower', 'leader']);

    await setFeatures(gw, { dedup: { enabled: false } });
    const off = await twice(unique('dedup off'));
    expect(openaiCalls()).toBe(3);
    expect(off.map((h) => h.get('x-switchyard-dedup'))).toEqual([null, null]);
  });

  it('queue: on, a class at its concurrency makes the next request wait (503 past maxWaitMs); off, it goes straight up', async () => {
    gw.fake.configure({ firstByteDelayMs: 800 });
    const background = { 'x-switchyard-priority': 'background' };
    const pair = async () =>
      (
        await Promise.all([
          post(gw, '/v1/messages', messages(unique('queued a')), background),
          post(gw, '/v1/messages', messages(unique('queued b')), background),
        ])
      )
        .map((r) => r.status)
        .sort();
    expect(await pair()).toEqual([200, 503]);
    await setFeatures(gw, { queue: { enabled: false } });
    expect(await pair()).toEqual([200, 200]);
  });

  it('compression: on, JSON and SSE answers are compressed; off, neither is', async () => {
    const body = (stream: boolean) =>
      JSON.stringify(messages(unique('compress', { textBytes: 4000 }), { max_tokens: 1024, stream }));
    const send = (stream: boolean) =>
      rawRequest(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
        body: body(stream),
      });

    const [jsonOn, sseOn] = [await send(false), await send(true)];
    expect(jsonOn.headers['content-encoding']).toBe('gzip');
    expect(sseOn.headers['content-encoding']).toBe('gzip');

    await setFeatures(gw, { compression: { enabled: false } });
    const [jsonOff, sseOff] = [await send(false), await send(true)];
    for (const r of [jsonOff, sseOff]) {
      expect(r.status).toBe(200);
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.headers['x-switchyard-features-off']).toBe('compression');
    }
    expect(JSON.parse(jsonOff.body.toString()).content[0].text).toHaveLength(4000);
    expect(sseOff.body.toString()).toContain('event: message_stop');
  });

  it('rateLimit: on, the client limit refuses the second request of the minute; off, it is not applied', async () => {
    const key = { 'x-api-key': LIMITED_KEY };
    const on = [
      await post(gw, '/v1/messages', messages(unique('limited 1')), key),
      await post(gw, '/v1/messages', messages(unique('limited 2')), key),
    ];
    expect(on.map((r) => r.status)).toEqual([200, 429]);
    expect(on[1].body.error.type).toBe('rate_limit_error');

    await setFeatures(gw, { rateLimit: { enabled: false } });
    const off = [
      await post(gw, '/v1/messages', messages(unique('unlimited 1')), key),
      await post(gw, '/v1/messages', messages(unique('unlimited 2')), key),
    ];
    expect(off.map((r) => r.status)).toEqual([200, 200]);
    expect(off[0].headers.get('x-ratelimit-limit-requests')).toBeNull();
  });

  it('affinity: on, the session pin is consulted and recorded; off, neither', async () => {
    const affinity = gw.app.get(AffinityService);
    const preferred = jest.spyOn(affinity, 'preferred');
    const record = jest.spyOn(affinity, 'record');
    const usage = jest.spyOn(affinity, 'recordUsage');
    try {
      await ask(unique('pinned'), { 'x-claude-code-session-id': 'affinity-on' });
      expect(preferred).toHaveBeenCalledWith('affinity-on', 'openai,gpt-fake');
      expect(record).toHaveBeenCalledWith('affinity-on', 'openai,gpt-fake', 'openai,gpt-fake', false);
      expect(usage).toHaveBeenCalled();

      preferred.mockClear();
      record.mockClear();
      usage.mockClear();
      await setFeatures(gw, { affinity: { enabled: false } });
      const h = await ask(unique('not pinned'), { 'x-claude-code-session-id': 'affinity-off' });
      expect(h.get('x-switchyard-features-off')).toBe('affinity');
      expect(preferred).not.toHaveBeenCalled();
      expect(record).not.toHaveBeenCalled();
      expect(usage).not.toHaveBeenCalled();
    } finally {
      jest.restoreAllMocks();
    }
  });
});
