import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { GatewayUnderTest } from '../support/gateway';
import {
  chat,
  deleteKeys,
  directive,
  eventually,
  messages,
  post,
  retryAfter,
  startLimited,
  uniquePrefix,
  type Reply,
} from './support';

const REDIS = process.env.TEST_REDIS_URL as string;
const RPM = 3;

describe('client RPM shared by two instances on one Redis', () => {
  const prefix = uniquePrefix('client-rpm');
  let a: GatewayUnderTest;
  let b: GatewayUnderTest;

  beforeAll(async () => {
    const rateLimit = { client: { rpm: RPM, tpm: 0 } };
    [a, b] = await Promise.all([
      startLimited({ rateLimit, redisUrl: REDIS, prefix }),
      startLimited({ rateLimit, redisUrl: REDIS, prefix }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await deleteKeys(REDIS, prefix);
  });

  const upstreamCalls = (): number => a.fake.count({ api: 'openai' }) + b.fake.count({ api: 'openai' });

  it('admits exactly the limit across both instances; the rest get 429 rate_limit_error with retry-after', async () => {
    const key = { 'x-api-key': 'client-one' };
    const before = upstreamCalls();
    const replies: Reply[] = [];
    for (let i = 0; i < 8; i++) {
      replies.push(await post(i % 2 === 0 ? a : b, '/v1/messages', messages(`rpm ${i}`), key));
    }
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 429);
    expect(ok).toHaveLength(RPM);
    expect(refused).toHaveLength(8 - RPM);
    expect(upstreamCalls() - before).toBe(RPM); // a refused request never reaches a provider

    expect(ok[0].headers.get('x-ratelimit-limit-requests')).toBe(String(RPM));
    expect(ok.map((r) => r.headers.get('x-ratelimit-remaining-requests'))).toEqual(['2', '1', '0']);
    for (const r of refused) {
      expect(r.body).toEqual({
        type: 'error',
        error: { type: 'rate_limit_error', message: expect.stringContaining(`${RPM} requests per minute`) },
        request_id: expect.any(String),
      });
      expect(JSON.stringify(r.body)).not.toContain('client-one'); // the key is never echoed
      // One call every 20 s at 3 RPM: the next one fits within 20 s, at least 1 s away (whole seconds).
      expect(Number.isInteger(retryAfter(r))).toBe(true);
      expect(retryAfter(r)).toBeGreaterThanOrEqual(1);
      expect(retryAfter(r)).toBeLessThanOrEqual(60 / RPM);
      expect(r.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    }

    // Another key has its own bucket, on either instance; a request without a key is limited by IP.
    expect((await post(b, '/v1/messages', messages('other key'), { 'x-api-key': 'client-two' })).status).toBe(
      200,
    );
    expect((await post(a, '/v1/messages', messages('no key'))).status).toBe(200);
  });

  it('the Anthropic SDK raises RateLimitError (status 429, retry-after) once the shared limit is spent', async () => {
    const sdk = (gw: GatewayUnderTest): Anthropic =>
      new Anthropic({ baseURL: gw.url, apiKey: 'client-anthropic-sdk', maxRetries: 0 });
    const ask = (gw: GatewayUnderTest, text: string) =>
      sdk(gw).messages.create({
        model: 'claude-sonnet-4',
        max_tokens: 32,
        messages: [{ role: 'user', content: text }],
      });
    for (let i = 0; i < RPM; i++) {
      const msg = await ask(i % 2 === 0 ? a : b, `sdk ${i}`);
      expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake provider' });
    }
    const err = await ask(b, 'one too many').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const rl = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(rl.status).toBe(429);
    expect(Number(rl.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(rl.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it('an OpenAI client gets the 429 in OpenAI format (the openai package raises RateLimitError)', async () => {
    const sdk = new OpenAI({ baseURL: `${a.url}/v1`, apiKey: 'client-openai-sdk', maxRetries: 0 });
    for (let i = 0; i < RPM; i++) {
      const res = await sdk.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: `openai ${i}` }],
      });
      expect(res.object).toBe('chat.completion');
    }
    const err = await sdk.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one too many' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const rl = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rl.status).toBe(429);
    expect(rl.type).toBe('rate_limit_error');
    expect(Number(rl.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // The raw body is OpenAI's shape (no Anthropic envelope), on the other instance too.
    const raw = await post(b, '/v1/chat/completions', chat('raw'), {
      authorization: 'Bearer client-openai-sdk',
    });
    expect(raw.status).toBe(429);
    expect(raw.body).toEqual({
      error: {
        type: 'rate_limit_error',
        message: expect.stringContaining('requests per minute'),
        param: null,
        code: null,
      },
    });
  });

  it('does not limit count_tokens, models, health or /api', async () => {
    const key = { 'x-api-key': 'client-one' }; // spent by the first test
    const count = await post(a, '/v1/messages/count_tokens', messages('count me'), key);
    expect(count.status).toBe(200);
    expect((await fetch(`${a.url}/v1/models`, { headers: key })).status).toBe(200);
    expect((await fetch(`${a.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${a.url}/api/ratelimit`, { headers: key })).status).toBe(200);
    expect((await post(a, '/v1/messages', messages('still limited'), key)).status).toBe(429);
  });
});

describe('client TPM: estimate before, settle after', () => {
  const prefix = uniquePrefix('client-tpm');
  const TPM = 1000;
  let gw: GatewayUnderTest;
  const key = { 'x-api-key': 'tpm-client' };

  beforeAll(async () => {
    // The fake answers with usage input 10 + output 20 = 30 tokens.
    gw = await startLimited({ rateLimit: { client: { rpm: 0, tpm: TPM } }, redisUrl: REDIS, prefix });
  });
  afterAll(async () => {
    await gw?.stop();
    await deleteKeys(REDIS, prefix);
  });

  /** The guard's estimate: body bytes / 4 + max_tokens (below RateLimit.maxTokensEstimate here). */
  const estimate = (body: unknown, maxTokens: number): number =>
    Math.ceil(Buffer.byteLength(JSON.stringify(body)) / 4) + maxTokens;

  /** Retries a request the limit refuses (a refusal costs nothing) until it is admitted or `ms` pass. */
  async function admittedSoon(send: () => Promise<Reply>, ms = 3000): Promise<Reply> {
    let last: Reply | undefined;
    await eventually(async () => {
      last = await send();
      return last.status !== 429;
    }, ms);
    return last as Reply;
  }

  it('charges the estimate while the answer runs and gives back what the answer did not use', async () => {
    const slowBody = messages(`slow ${directive({ firstByteDelayMs: 600 })}`, 900);
    const slow = post(gw, '/v1/messages', slowBody, key);
    await gw.fake.waitFor((reqs) => reqs.some((r) => r.api === 'openai'));

    // While the first answer runs its ~930-token estimate is held: another 900-token request does not fit.
    const refused = await post(gw, '/v1/messages', messages('meanwhile', 900), key);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({
      type: 'rate_limit_error',
      message: expect.stringContaining(`${TPM} tokens per minute`),
    });
    expect(refused.headers.get('x-ratelimit-limit-tokens')).toBe(String(TPM));

    const first = await slow;
    expect(first.status).toBe(200);
    expect(Number(first.headers.get('x-ratelimit-remaining-tokens'))).toBe(TPM - estimate(slowBody, 900));

    // The answer used 30 tokens: the rest came back, so the same request fits at once. Without the
    // settlement it would wait ~50 s for the bucket to refill.
    const afterBody = messages('after', 900);
    const after = await admittedSoon(() => post(gw, '/v1/messages', afterBody, key));
    expect(after.status).toBe(200);
    expect(Number(after.headers.get('x-ratelimit-remaining-tokens'))).toBeGreaterThanOrEqual(
      TPM - 30 - estimate(afterBody, 900),
    );
  });

  it('gives the whole estimate back when the request fails without an answer', async () => {
    // Whatever the previous test left (≤ ~60 tokens) plus one ~850-token request fits, two do not.
    const failing = await post(
      gw,
      '/v1/messages',
      messages(`fail ${directive({ fault: { type: 'status', status: 400 } })}`, 800),
      key,
    );
    expect(failing.status).toBe(400);
    const next = await admittedSoon(() => post(gw, '/v1/messages', messages('after the failure', 800), key));
    expect(next.status).toBe(200);
  });

  it('a prompt over the whole TPM is charged at most the limit, so it is admitted on a full bucket', async () => {
    const other = { 'x-api-key': 'tpm-big-client' };
    const big = await post(gw, '/v1/messages', messages('x'.repeat(8000), 900), other); // ~2900-token estimate
    expect(big.status).toBe(200);
    // The answer used 30 tokens: the settlement credits everything else back (the charge was 1000, not 2900).
    const next = await admittedSoon(() => post(gw, '/v1/messages', messages('small', 100), other));
    expect(next.status).toBe(200);
  });
});

describe('client limits without Redis (one instance, in memory)', () => {
  let gw: GatewayUnderTest;

  beforeAll(async () => {
    gw = await startLimited({ rateLimit: { client: { rpm: 2, tpm: 0 }, keys: { vip: { rpm: 4 } } } });
  });
  afterAll(() => gw?.stop());

  it('enforces the full limit in process, and a per-key override', async () => {
    const send = async (k: string, n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        out.push((await post(gw, '/v1/messages', messages(`${k} ${i}`), { 'x-api-key': k })).status);
      }
      return out;
    };
    expect(await send('regular', 3)).toEqual([200, 200, 429]);
    expect(await send('vip', 5)).toEqual([200, 200, 200, 200, 429]);
    const view = await (await fetch(`${gw.url}/api/ratelimit`)).json();
    expect(view).toMatchObject({
      enabled: true,
      mode: 'disabled',
      localDivisor: 1,
      client: { rpm: 2, keyOverrides: 1 },
    });
    expect(JSON.stringify(view)).not.toContain('vip');
  });

  it("reports limit, remaining and reset in OpenAI's names, and in Anthropic's on Anthropic routes", async () => {
    const key = { 'x-api-key': 'reporting', authorization: 'Bearer reporting' };
    const first = await post(gw, '/v1/messages', messages('report 1'), key);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect(first.headers.get('x-ratelimit-reset-requests')).toBe('30s');
    expect(first.headers.get('anthropic-ratelimit-requests-limit')).toBe('2');
    expect(first.headers.get('anthropic-ratelimit-requests-remaining')).toBe('1');
    const resetAt = Date.parse(first.headers.get('anthropic-ratelimit-requests-reset') ?? '');
    expect(resetAt - Date.now()).toBeGreaterThan(25_000);
    expect(resetAt - Date.now()).toBeLessThanOrEqual(31_000);
    const second = await post(gw, '/v1/chat/completions', chat('report 2'), key);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-ratelimit-reset-requests')).toMatch(/^(59(\.\d+)?s|1m0s)$/);
    expect(second.headers.get('anthropic-ratelimit-requests-remaining')).toBeNull();
    const refused = await post(gw, '/v1/messages', messages('report 3'), key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
  });

  it('a percent-encoded path reaches the same route and the same limit', async () => {
    const send = async (path: string, body: unknown): Promise<number> =>
      (await post(gw, path, body, { 'x-api-key': 'encoded', authorization: 'Bearer encoded' })).status;
    const batch = { requests: [{ custom_id: 'e', params: messages('encoded batch') }] };
    expect([
      await send('/v1/%6dessages', messages('encoded 1')),
      await send('/v1/chat/%63ompletions', chat('encoded 2')),
      await send('/v1/m%65ssages/batches', batch),
    ]).toEqual([200, 200, 429]);
  });
});
