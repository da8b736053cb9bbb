/**
 * The failover, hedge and adaptiveTimeout flags on the request path: two fake providers (a, b), explicit
 * "a,mN" models so each test has a primary target of its own (health scores and learned deadlines are per
 * target), `b,m1` as every explicit request's fallback.
 */
import Anthropic from '@anthropic-ai/sdk';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { startGateway, type GatewayUnderTest } from '../support/gateway';
import { allOn, messages, post, setFeatures, unique } from './support';

const provider = (name: string, url: string) => ({
  name,
  api_base_url: `${url}/v1/chat/completions`,
  api_key: `sk-${name}`,
  models: ['m1', 'm2', 'm3', 'm4'],
});
const everywhere = (target: string) => ({
  default: target,
  background: target,
  think: target,
  longContext: target,
  webSearch: target,
  image: target,
});

describe('failover, hedge and adaptiveTimeout flags on the request path', () => {
  let a: FakeProvider;
  let b: FakeProvider;
  let gw: GatewayUnderTest;
  let client: Anthropic;

  beforeAll(async () => {
    [a, b] = await Promise.all([startFakeProvider(), startFakeProvider()]);
    gw = await startGateway({
      router: everywhere('a,m4'),
      config: {
        Providers: [provider('a', a.url), provider('b', b.url)],
        fallback: { explicit: ['b,m1'] },
        Failover: {
          health: { enabled: false },
          timeout: 20_000,
          hedge: { enabled: true, budgetPercent: 100 },
          breaker: { consecutiveFailures: 1000, minRequests: 1000 },
        },
        AdaptiveTimeout: {
          minSamples: 5,
          firstByte: { k: 4, minMs: 300, maxMs: 60_000, perInputTokenMs: 0 },
        },
        Features: { guard: { enabled: false } },
      },
    });
    client = new Anthropic({ baseURL: gw.url, apiKey: 'sk-features', maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.stop();
    await Promise.all([a.close(), b.close()]);
  });
  beforeEach(async () => {
    await allOn(gw);
    a.reset();
    b.reset();
  });

  /** One SDK request to `model`; the target that answered. */
  const served = async (model: string): Promise<string | null> => {
    const { response } = await client.messages
      .create({ model, max_tokens: 64, messages: [{ role: 'user', content: unique('resilience') }] })
      .withResponse();
    return response.headers.get('x-switchyard-target');
  };
  const warmUp = async (model: string): Promise<void> => {
    for (let i = 0; i < 6; i++) {
      expect(await served(model)).toBe(model);
    }
  };

  it('failover: on, a failing target moves to its fallback; off, the routed target only, no retries', async () => {
    a.configure({ fault: { type: 'status', status: 500 } });
    await setFeatures(gw, { failover: { enabled: false }, hedge: { enabled: false } });
    const off = await post(gw, '/v1/messages', messages(unique('no failover'), { model: 'a,m1' }));
    expect(off.status).toBe(500);
    expect(off.headers.get('x-switchyard-attempts')).toBe('1');
    expect(b.count({ api: 'openai' })).toBe(0);

    await setFeatures(gw, { failover: { enabled: true } });
    expect(await served('a,m1')).toBe('b,m1');
    expect(b.count({ api: 'openai' })).toBe(1);
  });

  it('hedge: on, a primary slower than its p95 is raced by the fallback; off, the request waits for it', async () => {
    // Learned first-byte deadlines would fail the slow primary over; this test is about the hedge alone.
    await setFeatures(gw, { adaptiveTimeout: { enabled: false }, hedge: { enabled: false } });
    await warmUp('a,m2');
    await setFeatures(gw, { hedge: { enabled: true } });
    a.configure({ firstByteDelayMs: 1500 });
    expect(await served('a,m2')).toBe('b,m1');
    await a.waitFor((rs) => rs.some((r) => r.closedByClient), 5000); // the loser was aborted

    await setFeatures(gw, { hedge: { enabled: false } });
    const calls = b.count({ api: 'openai' });
    expect(await served('a,m2')).toBe('a,m2');
    expect(b.count({ api: 'openai' })).toBe(calls);
  });

  it('adaptiveTimeout: on, the learned first-byte deadline cuts a hang short; off, the configured one lets it answer', async () => {
    await setFeatures(gw, { failover: { enabled: false }, hedge: { enabled: false } });
    await warmUp('a,m3'); // learned: p99 × 4, at least 300 ms — far below the configured 20 s
    a.configure({ firstByteDelayMs: 2500 });
    const on = await post(gw, '/v1/messages', messages(unique('learned'), { model: 'a,m3' }));
    expect(on.status).toBe(504);
    expect(on.body.error.type).toBe('timeout_error');

    await setFeatures(gw, { adaptiveTimeout: { enabled: false } });
    const off = await post(gw, '/v1/messages', messages(unique('configured'), { model: 'a,m3' }));
    expect(off.status).toBe(200);
    expect(off.headers.get('x-switchyard-features-off')).toBe('failover,adaptiveTimeout,hedge');
  });
});
