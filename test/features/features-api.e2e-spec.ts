/**
 * `GET /api/features` and `PUT /api/features`: the API key, validation in the client's error format, the
 * view, operator changes, a config reload; and with Redis, changes reaching every instance and the request's
 * feature set travelling with its queue job to a worker on another instance.
 */
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { AppConfigService } from '../../src/config/config.service';
import { UpstreamCallService } from '../../src/failover/upstream-call.service';
import { FEATURE_NAMES } from '../../src/features/feature-set';
import { FeaturesService } from '../../src/features/features.service';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { fakeProviders, startGateway, type GatewayUnderTest } from '../support/gateway';
import { eventually, getFeatures, messages, post, putFeatures, setFeatures, unique } from './support';

const KEY = 'features-admin-key';
const auth = { 'x-api-key': KEY };
const TRIP = { trigger: 'error_rate' as const, value: 0.4, threshold: 0.05, at: Date.now() };

describe('/api/features', () => {
  let gw: GatewayUnderTest;

  beforeAll(async () => {
    gw = await startGateway({
      config: {
        APIKEY: KEY,
        Failover: { health: { enabled: false } },
        Features: { cache: { enabled: true, rollout: 40 }, guard: { enabled: false } },
      },
    });
  });
  afterAll(() => gw.stop());

  it('is behind the API key, both methods', async () => {
    for (const res of [await getFeatures(gw), await putFeatures(gw, { cache: { enabled: false } })]) {
      expect(res.status).toBe(401);
      expect(res.body.error.type).toBe('authentication_error');
    }
    expect((await getFeatures(gw, { 'x-api-key': 'wrong' })).status).toBe(401);
    expect((await getFeatures(gw, { authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect(gw.app.get(FeaturesService).view().cache.enabled).toBe(true); // the refused PUT changed nothing
  });

  it('GET shows every feature, the bucketing, the guard window and its actions', async () => {
    const res = await getFeatures(gw, auth);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.features)).toEqual([...FEATURE_NAMES]);
    expect(res.body.bucketBy).toBe('session');
    expect(res.body.features.cache).toEqual({
      enabled: true,
      rollout: 40,
      state: 'partial',
      section: true,
      trippedBy: null,
      changedAt: null,
      changedBy: null,
    });
    expect(res.body.features.hedge).toMatchObject({ state: 'on', section: false }); // Failover.hedge.enabled
    expect(res.body.guard).toEqual({
      enabled: false,
      windowMs: expect.any(Number),
      checkIntervalMs: expect.any(Number),
      window: expect.objectContaining({
        requests: expect.any(Number),
        errorRate: null,
        p95Ms: null,
        baselineP95Ms: null,
        cacheHitRate: null,
        memory: {
          rssBytes: expect.any(Number),
          limitBytes: expect.any(Number),
          limitSource: expect.stringMatching(/^(config|cgroup|host)$/),
          ratio: expect.any(Number),
        },
      }),
      firing: expect.any(Array),
      actions: [],
    });
  });

  it.each<[string, unknown, string]>([
    ['an unknown feature', { turbo: { enabled: true } }, 'turbo'],
    ['a rollout over 100', { cache: { rollout: 101 } }, 'cache.rollout'],
    ['a negative rollout', { dedup: { rollout: -1 } }, 'dedup.rollout'],
    ['a non-boolean enabled', { hedge: { enabled: 'yes' } }, 'hedge.enabled'],
    ['an unknown field', { queue: { enabled: true, weight: 3 } }, 'weight'],
    ['an empty change', { queue: {} }, 'queue'],
    ['no feature at all', {}, 'name at least one feature'],
    ['an array', [{ cache: { enabled: true } }], 'body'],
  ])('PUT rejects %s with 400 in the client error format', async (_what, body, mentions) => {
    const res = await putFeatures(gw, body, auth);
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({
      type: 'invalid_request_error',
      message: expect.stringContaining(mentions),
    });
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('PUT rejects a body that is not JSON with 400', async () => {
    const res = await putFeatures(gw, '{not json', auth);
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request_error');
  });

  it('PUT applies a partial change, notes who and when, and answers with the new view', async () => {
    const res = await putFeatures(gw, { queue: { rollout: 25 }, affinity: { enabled: false } }, auth);
    expect(res.status).toBe(200);
    expect(res.body.features.queue).toMatchObject({
      enabled: true,
      rollout: 25,
      state: 'partial',
      changedBy: 'operator',
    });
    expect(res.body.features.affinity).toMatchObject({ enabled: false, rollout: 100, state: 'off' });
    expect(Date.parse(res.body.features.queue.changedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body.features.dedup).toMatchObject({ state: 'on', changedAt: null });
    expect((await getFeatures(gw, auth)).body.features.queue.rollout).toBe(25);
    // The next request runs without affinity.
    const answer = await post(gw, '/v1/messages', messages(unique('after put')), {
      ...auth,
      'x-claude-code-session-id': 'api-spec',
    });
    expect(answer.headers.get('x-switchyard-features-off')).toContain('affinity');
  });

  it('PUT enabled:true on a tripped feature is the operator turning it back on', async () => {
    gw.app.get(FeaturesService).trip('dedup', TRIP, 'guard');
    const tripped = (await getFeatures(gw, auth)).body.features.dedup;
    expect(tripped).toMatchObject({
      state: 'tripped',
      changedBy: 'guard',
      trippedBy: { trigger: 'error_rate', value: 0.4, threshold: 0.05, at: new Date(TRIP.at).toISOString() },
    });
    // A rollout change leaves the trip in place.
    expect((await putFeatures(gw, { dedup: { rollout: 60 } }, auth)).body.features.dedup.state).toBe(
      'tripped',
    );
    const back = await putFeatures(gw, { dedup: { enabled: true } }, auth);
    expect(back.body.features.dedup).toMatchObject({
      state: 'partial',
      rollout: 60,
      trippedBy: null,
      changedBy: 'operator',
    });
  });

  it("a config reload that changes Features applies the file's values, except a tripped feature stays off", async () => {
    const config = gw.app.get(AppConfigService);
    const features = gw.app.get(FeaturesService);
    features.trip('compression', TRIP, 'guard');
    const loaded = config.meta;
    const next = {
      ...loaded.config.Features,
      compression: { enabled: true, rollout: 100 },
      queue: { enabled: true, rollout: 80 },
      hedge: { enabled: false, rollout: 100 },
    };
    expect(config.replace({ ...loaded, config: { ...loaded.config, Features: next } })).toEqual([]);
    const view = (await getFeatures(gw, auth)).body.features;
    expect(view.queue).toMatchObject({ rollout: 80, state: 'partial', changedBy: 'config' });
    expect(view.hedge).toMatchObject({ enabled: false, state: 'off', changedBy: 'config' });
    expect(view.compression).toMatchObject({ state: 'tripped' });
    expect(view.affinity).toMatchObject({ enabled: true, state: 'on' }); // the runtime PUT gave way to the file
  });
});

describe('/api/features across instances (real Redis, real BullMQ)', () => {
  const redisUrl = process.env.TEST_REDIS_URL as string;
  const prefix = `tfeat${randomUUID().slice(0, 8)}:`;
  let primaryFake: FakeProvider;
  let fallbackFake: FakeProvider;
  let api: GatewayUnderTest;
  let worker: GatewayUnderTest;

  const start = (role: 'api' | 'all') =>
    startGateway({
      router: { default: ['openai,gpt-fake', 'anthropic,claude-fake'] },
      config: {
        Providers: [fakeProviders(primaryFake.url)[0], fakeProviders(fallbackFake.url)[1]],
        Redis: { enabled: true, url: redisUrl, keyPrefix: prefix },
        JobQueue: { enabled: true, prefix: 'q', role },
        Cache: { enabled: false },
        Failover: { health: { enabled: false }, breaker: { consecutiveFailures: 1000, minRequests: 1000 } },
        Features: { guard: { enabled: false } },
      },
    });

  beforeAll(async () => {
    [primaryFake, fallbackFake] = await Promise.all([startFakeProvider(), startFakeProvider()]);
    // `api` only enqueues; the other instance is the only one that runs the jobs.
    [api, worker] = await Promise.all([start('api'), start('all')]);
    for (const gw of [api, worker]) {
      await eventually(
        async () =>
          ((await (await fetch(`${gw.url}/api/queue`)).json()) as { mode: string }).mode === 'bullmq',
        10_000,
      );
    }
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([primaryFake?.close(), fallbackFake?.close()]);
    const raw = new Redis(redisUrl);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) {
      await raw.del(...keys);
    }
    await raw.quit();
  });

  it('an operator change on one instance applies on the other', async () => {
    await setFeatures(api, { dedup: { rollout: 30 } });
    await eventually(async () => (await getFeatures(worker)).body.features.dedup.rollout === 30, 5000);
    expect((await getFeatures(worker)).body.features.dedup.changedBy).toBe('cluster');
    await setFeatures(worker, { dedup: { rollout: 100 }, hedge: { enabled: false } });
    await eventually(async () => (await getFeatures(api)).body.features.hedge.enabled === false, 5000);
    expect((await getFeatures(api)).body.features.dedup.rollout).toBe(100);
  });

  it('a guard rollback on one instance turns the feature off everywhere; the operator turns it back on everywhere', async () => {
    api.app.get(FeaturesService).trip('cache', TRIP, 'guard');
    await eventually(async () => (await getFeatures(worker)).body.features.cache.state === 'tripped', 5000);
    await setFeatures(worker, { cache: { enabled: true } });
    await eventually(async () => (await getFeatures(api)).body.features.cache.state === 'on', 5000);
  });

  it("the request's feature set travels with its queue job: a worker on another instance honours it", async () => {
    primaryFake.configure({ fault: { type: 'status', status: 500 } });
    const onApi = jest.spyOn(api.app.get(UpstreamCallService), 'call');
    const onWorker = jest.spyOn(worker.app.get(UpstreamCallService), 'call');
    try {
      const viaQueue = await post(api, '/v1/messages', messages(unique('queued, failover on')));
      expect(viaQueue.status).toBe(200);
      expect(viaQueue.headers.get('x-switchyard-target')).toBe('anthropic,claude-fake');
      expect(viaQueue.headers.get('x-switchyard-attempts')).toBe('2');

      await setFeatures(api, { failover: { enabled: false } });
      const fallbackCalls = fallbackFake.count({ api: 'anthropic' });
      const off = await post(api, '/v1/messages', messages(unique('queued, failover off')));
      expect(off.status).toBe(500);
      expect(fallbackFake.count({ api: 'anthropic' })).toBe(fallbackCalls);
      // Both ran on the other instance, from the job: its FeatureSet came through BullMQ as plain JSON.
      expect(onApi).not.toHaveBeenCalled();
      expect(onWorker.mock.calls.map(([job]) => job.features?.failover)).toEqual([true, false]);
    } finally {
      jest.restoreAllMocks();
      primaryFake.configure({ fault: null });
      await setFeatures(api, { failover: { enabled: true } });
    }
  });
});
