import type { GatewayUnderTest } from '../support/gateway';
import {
  deleteKeys,
  directive,
  messages,
  post,
  retryAfter,
  startLimited,
  status,
  uniquePrefix,
} from './support';

const REDIS = process.env.TEST_REDIS_URL as string;
const PRIMARY = 'openai,gpt-fake';
const FALLBACK = 'anthropic,claude-fake';
const WITH_FALLBACK = { Failover: { providers: { primary: PRIMARY, fallback: [FALLBACK] } } };

const target = (r: { headers: Headers }): string | null => r.headers.get('x-switchyard-target');

describe('provider RPM (RateLimit.providers)', () => {
  const prefix = uniquePrefix('provider-rpm');
  const open: GatewayUnderTest[] = [];
  afterAll(async () => {
    await Promise.all(open.map((g) => g.stop()));
    await deleteKeys(REDIS, prefix);
  });

  it('the request past the provider limit fails over to the fallback target without calling the provider', async () => {
    const gw = await startLimited({
      rateLimit: { providers: { openai: { rpm: 2 } } },
      redisUrl: REDIS,
      prefix: `${prefix}a:`,
      config: WITH_FALLBACK,
    });
    open.push(gw);
    const served: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await post(gw, '/v1/messages', messages(`provider rpm ${i}`));
      expect(r.status).toBe(200);
      served.push(target(r));
    }
    expect(served).toEqual([PRIMARY, PRIMARY, FALLBACK]);
    expect(gw.fake.count({ api: 'openai' })).toBe(2);
    expect(gw.fake.count({ api: 'anthropic' })).toBe(1);
    const view = await status(gw);
    expect(view.providers.openai).toMatchObject({ configured: { rpm: 2, tpm: 0 }, limitedUntil: null });
  });

  it('with no fallback, the request past the limit gets 503 overloaded_error with retry-after at once', async () => {
    const gw = await startLimited({
      rateLimit: { providers: { openai: { rpm: 2 } } },
      redisUrl: REDIS,
      prefix: `${prefix}b:`,
    });
    open.push(gw);
    expect((await post(gw, '/v1/messages', messages('solo 1'))).status).toBe(200);
    expect((await post(gw, '/v1/messages', messages('solo 2'))).status).toBe(200);
    const refused = await post(gw, '/v1/messages', messages('solo 3'));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({
      type: 'overloaded_error',
      message: expect.stringContaining(`${PRIMARY} (rate_limited)`),
    });
    // 2 RPM: one call every 30 s.
    expect(retryAfter(refused)).toBeGreaterThanOrEqual(1);
    expect(retryAfter(refused)).toBeLessThanOrEqual(30);
    expect(refused.headers.get('x-switchyard-attempts')).toBe('0');
    expect(gw.fake.count({ api: 'openai' })).toBe(2);
  });
});

describe('provider TPM and learned limits without Redis', () => {
  let gw: GatewayUnderTest;

  beforeAll(async () => {
    gw = await startLimited({ rateLimit: { providers: { gemini: { tpm: 150 } } }, config: WITH_FALLBACK });
  });
  afterAll(() => gw?.stop());

  it('charges input + max_tokens against a provider TPM and skips the provider once it is spent', async () => {
    const explicit = (text: string): Record<string, unknown> => ({
      ...messages(text, 100),
      model: 'gemini,gemini-fake',
    });
    expect((await post(gw, '/v1/messages', explicit('tpm one'))).status).toBe(200);
    const refused = await post(gw, '/v1/messages', explicit('tpm two'));
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toContain('gemini,gemini-fake (rate_limited)');
    expect(gw.fake.count({ api: 'gemini' })).toBe(1);
  });

  it('keeps a learned block in memory when Redis is not configured', async () => {
    const exhausting = directive({
      responseHeaders: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1m0s' },
    });
    expect(target(await post(gw, '/v1/messages', messages(`memory ${exhausting}`)))).toBe(PRIMARY);
    expect(target(await post(gw, '/v1/messages', messages('memory next')))).toBe(FALLBACK);
    const view = await status(gw);
    expect(view.mode).toBe('disabled');
    expect(view.providers.openai.learned.requests).toEqual({ remaining: 0, resetAt: expect.any(String) });
    expect(Date.parse(view.providers.openai.limitedUntil)).toBeGreaterThan(Date.now() + 50_000);
  });
});

describe('provider limits learned from response headers, shared by two instances', () => {
  const prefix = uniquePrefix('provider-learned');
  const KEY = 'learned-admin-key';
  const auth = { 'x-api-key': KEY };
  let a: GatewayUnderTest;
  let b: GatewayUnderTest;

  beforeAll(async () => {
    const opts = {
      rateLimit: { learnFromHeaders: true },
      redisUrl: REDIS,
      prefix,
      config: WITH_FALLBACK,
      apiKey: KEY,
    };
    [a, b] = await Promise.all([startLimited(opts), startLimited(opts)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await deleteKeys(REDIS, prefix);
  });

  it('a provider announcing 0 requests left is skipped until its reset, on every instance', async () => {
    const reset = new Date(Date.now() + 30_000).toISOString();
    const exhausting = directive({
      responseHeaders: {
        'anthropic-ratelimit-requests-limit': '50',
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': reset,
      },
    });
    const first = await post(a, '/v1/messages', messages(`last one ${exhausting}`), auth);
    expect(first.status).toBe(200);
    expect(target(first)).toBe(PRIMARY); // answered, and said it is spent until `reset`

    const onA = await post(a, '/v1/messages', messages('next on A'), auth);
    expect(onA.status).toBe(200);
    expect(target(onA)).toBe(FALLBACK);
    expect(a.fake.count({ api: 'openai' })).toBe(1);

    const onB = await post(b, '/v1/messages', messages('next on B'), auth);
    expect(onB.status).toBe(200);
    expect(target(onB)).toBe(FALLBACK);
    expect(b.fake.count({ api: 'openai' })).toBe(0);

    const viewA = await status(a, KEY);
    expect(viewA.providers.openai.learned).toMatchObject({ requests: { limit: 50, remaining: 0 } });
    expect(Date.parse(viewA.providers.openai.limitedUntil)).toBe(Date.parse(reset));
    const viewB = await status(b, KEY);
    expect(viewB.mode).toBe('redis');
    expect(Date.parse(viewB.providers.openai.limitedUntil)).toBe(Date.parse(reset));
    expect(viewB.providers.anthropic.limitedUntil).toBeNull();
  });

  it('OpenAI-style headers (remaining 0, reset as a duration) block too; with every target blocked: 503 at once', async () => {
    const exhausting = directive({
      responseHeaders: { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '20s' },
    });
    // The primary is still blocked from the previous test: the fallback answers, and announces its own limit.
    const spent = await post(b, '/v1/messages', messages(`fallback spent ${exhausting}`), auth);
    expect(target(spent)).toBe(FALLBACK);
    const anthropicCalls = a.fake.count({ api: 'anthropic' });

    const refused = await post(a, '/v1/messages', messages('nothing left'), auth);
    expect(refused.status).toBe(503);
    expect(refused.body.error.type).toBe('overloaded_error');
    expect(refused.body.error.message).toContain(`${PRIMARY} (rate_limited)`);
    expect(refused.body.error.message).toContain(`${FALLBACK} (rate_limited)`);
    // The earliest reset of the two (the fallback's, ≤ 20 s away).
    expect(retryAfter(refused)).toBeGreaterThanOrEqual(1);
    expect(retryAfter(refused)).toBeLessThanOrEqual(20);
    expect(a.fake.count({ api: 'anthropic' })).toBe(anthropicCalls);
  });

  it('/api/ratelimit needs the API key', async () => {
    expect((await fetch(`${a.url}/api/ratelimit`)).status).toBe(401);
  });
});
