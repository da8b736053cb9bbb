/**
 * The rollback guard on a running gateway (docs/features.md#the-rollback-guard): each trigger injected for
 * real (fake-provider faults and latency, a small memory limit, requests that never repeat), the implicated
 * feature turned off and visible everywhere (state, header, log line, metrics), the no-suspect case leaving
 * everything on, and the operator turning a feature back on. Short guard windows through config overrides.
 */
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import { startGateway, type GatewayUnderTest } from '../support/gateway';
import { eventually, getFeatures, messages, post, setFeatures, unique } from './support';

const GUARD = {
  enabled: true,
  windowMs: 20_000,
  checkIntervalMs: 100,
  minRequests: 10,
  errorRate: 0.2,
  p95Multiplier: 3,
  memoryRatio: 0.9,
  cacheHitRateMin: 0, // never fires unless a test asks for it
  recentChangeMs: 600_000,
};

const startGuarded = (
  features: Record<string, unknown>,
  guard: Partial<typeof GUARD> = {},
  config: Record<string, unknown> = {},
): Promise<GatewayUnderTest> => {
  // The guard logs outside any request: nestjs-pino sends those lines to the first app of the process unless
  // told to forget it, and this file starts one gateway per trigger.
  __resetOutOfContextForTests();
  return startGateway({
    logLevel: 'info',
    config: {
      Failover: { health: { enabled: false }, breaker: { consecutiveFailures: 1000, minRequests: 1000 } },
      AdaptiveTimeout: { firstByte: { k: 4, minMs: 10_000, maxMs: 60_000, perInputTokenMs: 0 } },
      Features: { ...features, guard: { ...GUARD, ...guard } },
      ...config,
    },
  });
};

const send = async (gw: GatewayUnderTest, n: number, what: string): Promise<number[]> => {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    statuses.push((await post(gw, '/v1/messages', messages(unique(`${what} ${i}`)))).status);
  }
  return statuses;
};

const view = async (gw: GatewayUnderTest): Promise<any> => (await getFeatures(gw)).body;

const tripped = async (gw: GatewayUnderTest): Promise<string[]> =>
  Object.entries((await view(gw)).features)
    .filter(([, f]) => (f as { state: string }).state === 'tripped')
    .map(([name]) => name);

const metric = async (gw: GatewayUnderTest, series: string): Promise<number | undefined> => {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** The first warn line whose message starts with `msg` (pino writes shortly after the call). */
const warned = (gw: GatewayUnderTest, msg: string): Record<string, unknown> | undefined => {
  for (const text of gw.logs.lines) {
    if (text.includes(msg)) {
      const record = JSON.parse(text) as Record<string, unknown>;
      if (record.level === 40 && String(record.msg).startsWith(msg)) {
        return record;
      }
    }
  }
  return undefined;
};

describe('rollback guard: error rate', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGuarded({ dedup: { enabled: true, rollout: 50 } });
  });
  afterAll(() => gw.stop());

  it('errors after a runtime change turn the changed feature off; the operator turns it back on', async () => {
    await setFeatures(gw, { dedup: { rollout: 100 } });
    gw.fake.configure({ fault: { type: 'status', status: 500 } });
    expect(new Set(await send(gw, 12, 'failing'))).toEqual(new Set([500]));

    await eventually(async () => (await tripped(gw)).includes('dedup'), 10_000);
    const v = await view(gw);
    expect(await tripped(gw)).toEqual(['dedup']); // only the suspect, not everything the error rate could blame
    expect(v.features.dedup).toMatchObject({
      enabled: true,
      rollout: 100,
      state: 'tripped',
      changedBy: 'guard',
      trippedBy: { trigger: 'error_rate', value: expect.any(Number), threshold: 0.2 },
    });
    expect(v.features.dedup.trippedBy.value).toBeGreaterThan(0.2);
    expect(v.guard.actions[0]).toMatchObject({
      trigger: 'error_rate',
      action: 'rolled_back',
      features: [{ feature: 'dedup', why: 'recent_change' }],
    });
    await eventually(() => warned(gw, 'feature rolled back by the guard') !== undefined, 10_000);
    const line = warned(gw, 'feature rolled back by the guard');
    expect(line).toMatchObject({ level: 40, feature: 'dedup', trigger: 'error_rate', threshold: 0.2 });
    expect(await metric(gw, 'switchyard_feature_enabled{feature="dedup"}')).toBe(0);
    expect(await metric(gw, 'switchyard_feature_enabled{feature="cache"}')).toBe(1);
    expect(await metric(gw, 'switchyard_feature_rollbacks_total{feature="dedup",trigger="error_rate"}')).toBe(
      1,
    );

    // Requests now run without it, and say so.
    gw.fake.configure({ fault: null });
    const answer = await post(gw, '/v1/messages', messages(unique('after the rollback')));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-switchyard-features-off')).toBe('dedup');

    // The operator's word turns it back on; healthy traffic keeps it on.
    await setFeatures(gw, { dedup: { enabled: true } });
    expect((await view(gw)).features.dedup).toMatchObject({
      state: 'on',
      trippedBy: null,
      changedBy: 'operator',
    });
    expect(new Set(await send(gw, 12, 'healthy'))).toEqual(new Set([200]));
    await eventually(async () => (await view(gw)).guard.window.requests >= 12, 5000);
    await new Promise((r) => setTimeout(r, 5 * GUARD.checkIntervalMs));
    expect(await tripped(gw)).toEqual([]);
    expect(await metric(gw, 'switchyard_feature_enabled{feature="dedup"}')).toBe(1);
  });
});

describe('rollback guard: nobody to blame', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGuarded({});
  });
  afterAll(() => gw.stop());

  it('a provider outage with everything at 100 % turns nothing off, and says so', async () => {
    gw.fake.configure({ fault: { type: 'status', status: 503 } });
    await send(gw, 12, 'outage');
    await eventually(async () => (await view(gw)).guard.actions.length > 0, 10_000);
    const v = await view(gw);
    expect(v.guard.actions).toEqual([
      expect.objectContaining({ trigger: 'error_rate', action: 'none_implicated', features: [] }),
    ]);
    expect(v.guard.firing).toContain('error_rate');
    expect(await tripped(gw)).toEqual([]);
    expect(Object.values(v.features).every((f: any) => f.state === 'on')).toBe(true);
    await eventually(() => warned(gw, 'guard trigger fired, no feature implicated') !== undefined, 10_000);
    expect(await metric(gw, 'switchyard_feature_guard_unattributed_total{trigger="error_rate"}')).toBe(1);
    // Still firing on later checks: still nothing off, and reported once for the episode.
    await new Promise((r) => setTimeout(r, 5 * GUARD.checkIntervalMs));
    expect(await tripped(gw)).toEqual([]);
    expect((await view(gw)).guard.actions).toHaveLength(1);
  });
});

describe('rollback guard: p95 latency', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGuarded({ adaptiveTimeout: { enabled: true, rollout: 50 } });
  });
  afterAll(() => gw.stop());

  it('learns a baseline from healthy traffic, then turns off the feature changed before latency tripled', async () => {
    gw.fake.configure({ firstByteDelayMs: 100 });
    await send(gw, 15, 'baseline');
    await eventually(async () => (await view(gw)).guard.window.baselineP95Ms !== null, 10_000);
    expect((await view(gw)).guard.window.baselineP95Ms).toBeGreaterThanOrEqual(100);

    await setFeatures(gw, { adaptiveTimeout: { rollout: 100 } });
    gw.fake.configure({ firstByteDelayMs: 1500 });
    await Promise.all([1, 2, 3].map((i) => post(gw, '/v1/messages', messages(unique(`slow ${i}`)))));
    await eventually(async () => (await tripped(gw)).includes('adaptiveTimeout'), 10_000);
    const v = await view(gw);
    expect(v.features.adaptiveTimeout.trippedBy).toMatchObject({ trigger: 'p95' });
    expect(v.features.adaptiveTimeout.trippedBy.value).toBeGreaterThan(
      v.features.adaptiveTimeout.trippedBy.threshold,
    );
    expect(await tripped(gw)).toEqual(['adaptiveTimeout']);
  });
});

describe('rollback guard: memory', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    // A limit far below what a Node process uses: the memory trigger fires from the start.
    gw = await startGuarded(
      { cache: { enabled: true, rollout: 50 } },
      {},
      { Metrics: { memoryLimitBytes: 50_000_000 } },
    );
  });
  afterAll(() => gw.stop());

  it('fires with nothing to blame until the cache is given more traffic; then only the cache goes', async () => {
    await eventually(async () => (await view(gw)).guard.actions.length > 0, 10_000);
    const before = await view(gw);
    expect(before.guard.window.memory).toMatchObject({ limitBytes: 50_000_000, limitSource: 'config' });
    expect(before.guard.window.memory.ratio).toBeGreaterThan(0.9);
    expect(before.guard.actions[0]).toMatchObject({ trigger: 'memory', action: 'none_implicated' });
    expect(await tripped(gw)).toEqual([]);

    await setFeatures(gw, { cache: { rollout: 100 } });
    await eventually(async () => (await tripped(gw)).includes('cache'), 10_000);
    expect(await tripped(gw)).toEqual(['cache']); // dedup and queue were not changed
    expect((await view(gw)).features.cache.trippedBy).toMatchObject({ trigger: 'memory', threshold: 0.9 });
    expect(await metric(gw, 'switchyard_feature_rollbacks_total{feature="cache",trigger="memory"}')).toBe(1);
  });
});

describe('rollback guard: cache hit rate', () => {
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    gw = await startGuarded({ cache: { enabled: true, rollout: 50 } }, { cacheHitRateMin: 0.5 });
  });
  afterAll(() => gw.stop());

  it('a cache rolled out to traffic that never repeats is turned off; requests then bypass it', async () => {
    await setFeatures(gw, { cache: { rollout: 100 } });
    await send(gw, 12, 'never repeats');
    await eventually(async () => (await tripped(gw)).includes('cache'), 10_000);
    expect((await view(gw)).features.cache.trippedBy).toMatchObject({
      trigger: 'cache_hit_rate',
      value: 0,
      threshold: 0.5,
    });
    const answer = await post(gw, '/v1/messages', messages(unique('after')));
    expect(answer.headers.get('x-switchyard-cache')).toBe('BYPASS');
    expect(answer.headers.get('x-switchyard-features-off')).toBe('cache');
  });
});
