/**
 * ─── PENDING WIRING ──────────────────────────────────────────────────────────────────────────────────────
 * The full request path of session affinity. It FAILS until AffinityService is wired into the gateway
 * (src/gateway/gateway.service.ts) and AffinityModule into AppModule, as follows:
 *   1. before FailoverService.execute: `preferred: await affinity.preferred(route.sessionId, route.target)`;
 *   2. after the answer's first event: `affinity.record(route.sessionId, route.target, served, failedOver)`
 *      (failedOver = some attempt before the winner failed or was skipped);
 *   3. on every completed answer: `affinity.recordUsage(target, usage, cache === HIT)`.
 * Until then only the /api/affinity route exists (this spec imports AffinityModule itself) and its counters
 * stay empty. Once AppModule imports AffinityModule, the `imports` below are redundant but harmless.
 * ──────────────────────────────────────────────────────────────────────────────────────────────────────────
 */
import Anthropic from '@anthropic-ai/sdk';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { AffinityModule } from '../../src/affinity/affinity.module';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { fakeProviders, startGateway, type GatewayUnderTest } from '../support/gateway';
import { deleteKeys, eventually, sessionKey } from './support';

const MAIN = 'openai,gpt-fake';
const FALLBACK = 'anthropic,claude-fake';
const KEY = 'affinity-path-key';
const MOVE_AFTER = 2;

describe('session affinity on the request path (Anthropic SDK → gateway → fake providers, real Redis)', () => {
  let openaiFake: FakeProvider;
  let anthropicFake: FakeProvider;
  let gw: GatewayUnderTest;
  let raw: Redis;
  const prefix = `affpath${randomUUID().slice(0, 8)}:`;
  let turn = 0;

  /** One Claude Code turn of `session` (a new prompt each time, so the response cache never answers). */
  const ask = async (session: string, model = 'claude-sonnet-4-6'): Promise<string> => {
    const client = new Anthropic({
      baseURL: gw.url,
      apiKey: KEY,
      maxRetries: 0,
      defaultHeaders: { 'x-claude-code-session-id': session },
    });
    const { data, response } = await client.messages
      .create({
        model,
        max_tokens: 64,
        messages: [{ role: 'user', content: `turn ${++turn} of ${session}` }],
      })
      .withResponse();
    expect(data.content[0]).toMatchObject({ type: 'text' });
    return response.headers.get('x-switchyard-target') as string;
  };

  beforeAll(async () => {
    // One fake per provider, so that one of them can fail while the other answers.
    openaiFake = await startFakeProvider({ defaults: { usage: { input: 100, output: 5, cacheRead: 300 } } });
    anthropicFake = await startFakeProvider({ defaults: { usage: { input: 40, output: 5, cacheRead: 60 } } });
    gw = await startGateway({
      router: { default: [MAIN, FALLBACK] }, // the slot's tail is the failover chain (docs/failover.md)
      config: {
        APIKEY: KEY,
        Providers: [fakeProviders(openaiFake.url)[0], fakeProviders(anthropicFake.url)[1]],
        Redis: { keyPrefix: prefix },
        Affinity: { enabled: true, ttlSec: 600, moveAfter: MOVE_AFTER },
        Failover: { health: { enabled: false } },
      },
      env: { REDIS_URL: process.env.TEST_REDIS_URL as string },
      imports: [AffinityModule],
    });
    raw = new Redis(process.env.TEST_REDIS_URL as string);
    await eventually(async () => (await affinity()).mode === 'redis', 5000);
  });
  afterAll(async () => {
    await deleteKeys(raw, prefix);
    await raw.quit();
    await gw.stop();
    await openaiFake.close();
    await anthropicFake.close();
  });

  const affinity = async (): Promise<any> => {
    const res = await request(`${gw.url}/api/affinity`, { headers: { 'x-api-key': KEY } });
    return res.body.json();
  };

  it('keeps a session on its pin, moves it after moveAfter failovers, and reports prompt-cache reuse', async () => {
    const s1 = `sess-${randomUUID()}`;
    const s2 = `sess-${randomUUID()}`;

    // The first answer pins the routed target; the session stays there.
    for (let i = 0; i < 3; i++) {
      expect(await ask(s1)).toBe(MAIN);
    }
    await eventually(async () => (await raw.hget(sessionKey(prefix, s1), MAIN)) === `0 ${MAIN}`);
    expect(await raw.ttl(sessionKey(prefix, s1))).toBeGreaterThan(590);

    // The pinned target fails: failover answers from the fallback, one strike each; the pin holds until
    // the moveAfter-th.
    openaiFake.configure({ fault: { type: 'status', status: 503 } });
    expect(await ask(s1)).toBe(FALLBACK);
    await eventually(async () => (await raw.hget(sessionKey(prefix, s1), MAIN)) === `1 ${MAIN}`);
    expect(await ask(s1)).toBe(FALLBACK);
    await eventually(async () => (await raw.hget(sessionKey(prefix, s1), MAIN)) === `0 ${FALLBACK}`);

    // The routed target is healthy again, but the session's provider-side cache is warm on the fallback now:
    // it stays there. A new session still starts on the routed target.
    openaiFake.configure({ fault: null });
    const openaiCalls = openaiFake.count({ api: 'openai' });
    for (let i = 0; i < 3; i++) {
      expect(await ask(s1)).toBe(FALLBACK);
    }
    expect(openaiFake.count({ api: 'openai' })).toBe(openaiCalls); // not even tried
    expect(await ask(s2)).toBe(MAIN);
    // The session's background (haiku) requests route elsewhere and have a pin of their own.
    expect(await ask(s1, 'claude-3-5-haiku-20241022')).toBe('openai,haiku-fake');
    expect(await raw.hget(sessionKey(prefix, s1), MAIN)).toBe(`0 ${FALLBACK}`);

    // Answers served: openai 3 (s1) + 1 (s2) + 1 (haiku); anthropic 2 failovers + 3 pinned. Failed attempts
    // produced no usage.
    await eventually(async () => (await affinity()).providers?.anthropic?.requests === 5);
    const snap = await affinity();
    expect(snap).toMatchObject({
      enabled: true,
      mode: 'redis',
      moveAfter: MOVE_AFTER,
      providers: {
        openai: {
          requests: 5,
          inputTokens: 500,
          cacheReadTokens: 1500,
          cacheCreationTokens: 0,
          cacheReadShare: 0.75,
        },
        anthropic: {
          requests: 5,
          inputTokens: 200,
          cacheReadTokens: 300,
          cacheCreationTokens: 0,
          cacheReadShare: 0.6,
        },
      },
    });
    expect(snap.decisions).toMatchObject({ strike: 1, moved: 1 });
    expect(snap.sessionsLocal).toBeGreaterThanOrEqual(2);
  });

  it('a gateway cache hit is not an upstream answer: it does not count for cacheReadShare', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: KEY, maxRetries: 0 });
    const body = {
      model: 'claude-sonnet-4-6',
      max_tokens: 64,
      messages: [{ role: 'user' as const, content: `cacheable ${randomUUID()}` }],
    };
    await client.messages.create(body);
    await eventually(async () => (await affinity()).providers?.openai?.requests >= 1);
    const before = (await affinity()).providers.openai.requests as number;
    const { response } = await client.messages.create(body).withResponse();
    expect(response.headers.get('x-switchyard-cache')).toBe('HIT');
    await new Promise((r) => setTimeout(r, 100));
    expect((await affinity()).providers.openai.requests).toBe(before);
  });

  it('/api/affinity is behind the API key', async () => {
    const res = await request(`${gw.url}/api/affinity`);
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  });
});
