import Anthropic from '@anthropic-ai/sdk';
import { ProviderHealthIndicator, type SlotHealth } from '../../src/health/provider.health';
import type { FakeProvider } from '../fake-provider';
import { startTestApp, type TestApp } from '../support/test-app';
import { calls, provider, startFakes, startHarness, type Harness } from './harness';

describe('provider health probes feed the scores (fake providers over HTTP)', () => {
  let fakes: FakeProvider[];
  let h: Harness;

  beforeAll(async () => {
    fakes = await startFakes(3);
  });
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
  });
  beforeEach(async () => {
    fakes.forEach((f) => f.reset());
    h = await startHarness({
      providers: [
        provider('p1', fakes[0].url),
        provider('p2', fakes[1].url),
        provider('p3', fakes[2].url, { health: { model: 'm2' } }),
        provider('p4', fakes[0].url, { health: { mode: 'models' } }),
      ],
      // Request-mode probes see the fake's status faults (its model list always answers 200). Probes are
      // driven by the test; the interval only has to stay out of the way.
      config: {
        Failover: { health: { enabled: true, mode: 'request', intervalMs: 600_000, timeoutMs: 500 } },
        fallback: { default: ['p3,m2'] },
      },
    });
  });
  afterEach(() => h.close());

  it('models mode GETs the model list; request mode sends max_tokens:1 through the adapter', async () => {
    expect(await h.probes.probe('p4')).toMatchObject({ ok: true, status: 200 });
    const listed = fakes[0].requests.filter((r) => r.api === 'models');
    expect(listed.map((r) => [r.method, r.path])).toEqual([['GET', '/v1/models']]);
    expect(listed[0].headers.authorization).toBe('Bearer sk-p4');

    expect(await h.probes.probe('p3')).toMatchObject({ ok: true, target: 'p3,m2' });
    const sent = fakes[2].requests.filter((r) => r.api === 'openai')[0];
    expect(sent.body).toMatchObject({ model: 'm2', max_tokens: 1 });
    expect(sent.stream).toBe(false);
    expect(h.scores.view('p3,m2').stats.probes).toBe(1);
  });

  it('failing probes lower scores and reorder fallbacks, then demote the routed head', async () => {
    const chain = ['p1,m1', 'p2,m1', 'p3,m1'];
    expect(h.scores.orderChain(chain)).toEqual(chain);

    fakes[1].configure({ fault: { type: 'status', status: 503 } });
    for (let i = 0; i < 3; i++) {
      expect((await h.probes.probe('p2')).ok).toBe(false);
    }
    expect(h.scores.score('p2,m1')).toBeLessThan(0.6);
    expect(h.scores.view('p2,m1').originStats?.lastError?.source).toBe('probe');
    expect(h.scores.orderChain(chain)).toEqual(['p1,m1', 'p3,m1', 'p2,m1']);

    // One bad probe of the head is not "far below": traffic does not flap.
    fakes[0].configure({ fault: { type: 'status', status: 503 } });
    await h.probes.probe('p1');
    expect(h.scores.orderChain(chain)[0]).toBe('p1,m1');
    for (let i = 0; i < 4; i++) {
      await h.probes.probe('p1');
    }
    expect(h.scores.orderChain(chain)).toEqual(['p3,m1', 'p2,m1', 'p1,m1']); // p1 (0.33) is now below p2 (0.51)

    // And execute follows the order: p1 is not called at all.
    const before = calls(fakes[0]);
    const out = await h.run(chain);
    expect(out.result?.target).toBe('p3,m1');
    expect(calls(fakes[0])).toBe(before);

    // Healthy probes bring it back (the head returns at half the demotion margin).
    fakes[0].reset();
    for (let i = 0; i < 6; i++) {
      await h.probes.probe('p1');
    }
    expect(h.scores.orderChain(chain)[0]).toBe('p1,m1');
  });

  it('readiness: down only when the default slot has no healthy target; 401 flags the key', async () => {
    expect(h.probes.check()).toMatchObject({ providers: { status: 'up' } });
    expect(h.probes.slots()).toEqual({ default: ['p1,m1', 'p3,m2'] });
    fakes[2].configure({ fault: { type: 'status', status: 401 } });
    expect(await h.probes.probe('p3')).toMatchObject({ ok: false, status: 401 });
    expect(h.scores.keyStatus('p3')).toMatchObject({ status: 401 });
    expect(h.probes.check()).toMatchObject({
      providers: { status: 'up', slots: { default: { healthy: ['p1,m1'], unhealthy: ['p3,m2'] } } },
    });
    fakes[0].configure({ fault: { type: 'status', status: 503 } });
    for (let i = 0; i < 8; i++) {
      await h.probes.probe('p1');
    }
    expect(h.probes.check()).toMatchObject({
      providers: { status: 'down', slotsWithoutHealthyTarget: ['default'] },
    });
  });

  it('a probe that times out is a failure within its timeout', async () => {
    fakes[2].configure({ fault: { type: 'hang' } });
    const started = performance.now();
    const r = await h.probes.probe('p3');
    expect(r).toMatchObject({ ok: false, status: 504 });
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('GET /api/providers, /api/timeouts and /health/ready in the application', () => {
  let fakes: FakeProvider[];
  let app: TestApp;

  beforeAll(async () => {
    fakes = await startFakes(2);
    app = await startTestApp({
      userConfig: {
        Providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
        Router: { default: 'p1,m1', longContextThreshold: 60000 },
        Failover: { health: { enabled: false } },
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  it('lists every configured target with score, circuit, cooldown, key flag and TTFB percentiles', async () => {
    const res = await fetch(`${app.url}/api/providers`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { targets: any[]; counters: object };
    expect(body.targets.map((t) => t.target)).toEqual(['p1,m1', 'p1,m2', 'p2,m1', 'p2,m2']);
    expect(body.targets[0]).toMatchObject({
      score: 1,
      healthy: true,
      keyBad: null,
      origin: fakes[0].url,
      circuit: { state: 'closed', openUntil: null, cooldownUntil: null },
      ttfb: { samples: 0, p50: null, p95: null, p99: null },
      stats: { successRate: 1, lastError: null },
    });
    expect(body.counters).toEqual({});
  });

  it('shows the timeout predictions and the configuration behind them', async () => {
    const res = await fetch(`${app.url}/api/timeouts`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { config: any; targets: unknown[] };
    expect(body.config.AdaptiveTimeout).toMatchObject({ baseTimeout: 30000, firstByte: { k: 4 } });
    expect(body.config.defaultFirstByteMs).toBe(5000);
    expect(body.targets).toEqual([]);
  });

  it('/health/ready includes the providers indicator', async () => {
    const res = await fetch(`${app.url}/health/ready`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { info: Record<string, any> };
    expect(body.info.providers).toMatchObject({
      status: 'up',
      slots: { default: { healthy: ['p1,m1'], unhealthy: [] } },
    });
  });
});

describe('a provider that echoes the key it refused', () => {
  const SECRET = 'sk-LEAKY-SECRET-4242';
  let fakes: FakeProvider[];
  let app: TestApp;

  beforeAll(async () => {
    fakes = await startFakes(1);
    app = await startTestApp({
      userConfig: {
        Providers: [provider('leaky', fakes[0].url, { api_key: SECRET })],
        Router: { default: 'leaky,m1', longContextThreshold: 60000 },
        Failover: { health: { enabled: false } },
      },
    });
    fakes[0].configure({
      fault: {
        type: 'status',
        status: 401,
        body: {
          error: { message: `Incorrect API key provided: Bearer ${SECRET}`, type: 'invalid_request_error' },
        },
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  it('never passes the key on to the client, the logs or /api/providers', async () => {
    const client = new Anthropic({ baseURL: app.url, apiKey: 'client-key', maxRetries: 0 });
    const err = (await client.messages
      .create({ model: 'x', max_tokens: 50, messages: [{ role: 'user', content: 'leak?' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(JSON.stringify(err.error)).toContain('Incorrect API key provided: Bearer [redacted]');
    const openai = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'leak?' }] }),
    });
    const providers = await (await fetch(`${app.url}/api/providers`)).text();
    for (const text of [JSON.stringify(err.error), await openai.text(), providers, app.logs.text]) {
      expect(text).not.toContain(SECRET);
    }
    expect(app.logs.text).toContain('provider rejected its API key');
  });
});

describe('/health/ready when a slot other than default has no healthy target', () => {
  let fakes: FakeProvider[];
  let app: TestApp;
  let probes: ProviderHealthIndicator;

  beforeAll(async () => {
    fakes = await startFakes(2);
    app = await startTestApp({
      userConfig: {
        Providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
        Router: { default: 'p1,m1', image: 'p2,m1', longContextThreshold: 60000 },
        // Probes are driven by the test; the interval only has to stay out of the way.
        Failover: { health: { enabled: true, mode: 'request', intervalMs: 600_000, timeoutMs: 500 } },
      },
    });
    probes = app.app.get(ProviderHealthIndicator);
  });
  afterAll(async () => {
    await app.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  /** Fails `name`'s probes until the slot reports no healthy target (bounded). */
  async function breakProvider(fake: FakeProvider, name: string, slot: string): Promise<void> {
    fake.configure({ fault: { type: 'status', status: 503 } });
    for (let i = 0; i < 20; i++) {
      await probes.probe(name);
      const { slots } = probes.check().providers as unknown as { slots: Record<string, SlotHealth> };
      if (slots[slot].healthy.length === 0) {
        return;
      }
    }
    throw new Error(`${name} stayed healthy`);
  }

  const ready = async (): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${app.url}/health/ready`);
    return { status: res.status, body: await res.json() };
  };

  it('stays ready (200) with the slot listed as degraded; fails (503) only when default has none', async () => {
    await breakProvider(fakes[1], 'p2', 'image');
    const degraded = await ready();
    expect(degraded.status).toBe(200);
    expect(degraded.body.details.providers).toMatchObject({
      status: 'up',
      degradedSlots: ['image'],
      slots: { default: { healthy: ['p1,m1'] }, image: { healthy: [], unhealthy: ['p2,m1'] } },
    });
    expect(degraded.body.details.providers.slotsWithoutHealthyTarget).toBeUndefined();

    await breakProvider(fakes[0], 'p1', 'default');
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.details.providers).toMatchObject({
      status: 'down',
      slotsWithoutHealthyTarget: ['default'],
      degradedSlots: ['image'],
    });
  });
});
