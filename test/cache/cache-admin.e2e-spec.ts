import { Controller, Get, Module, Req, UseInterceptors } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import request from 'supertest';
import { CacheInterceptor, cachePolicyOf } from '../../src/cache/cache.interceptor';
import { CacheModule } from '../../src/cache/cache.module';
import { CacheService } from '../../src/cache/cache.service';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../redis/harness';
import { answerEvents, request as canonical, uniquePrefix } from './fixtures';

/** A stand-in for the gateway controllers: shows what the interceptor attached. */
@Controller('probe')
@UseInterceptors(CacheInterceptor)
class ProbeController {
  @Get()
  policy(@Req() req: FastifyRequest): unknown {
    return cachePolicyOf(req.raw) ?? null;
  }
}

@Module({ imports: [CacheModule], controllers: [ProbeController] })
class ProbeModule {}

const KEY = 'admin-test-key';
const auth = { 'x-api-key': KEY };

describe('cache admin endpoints and interceptor (real app, real Redis)', () => {
  let t: TestApp;
  let cache: CacheService;

  beforeAll(async () => {
    t = await startTestApp({
      userConfig: { APIKEY: KEY, Redis: { keyPrefix: uniquePrefix('admin') } },
      env: { REDIS_URL: process.env.TEST_REDIS_URL as string },
      imports: [CacheModule, ProbeModule],
    });
    cache = t.app.get(CacheService);
    await waitFor(
      async () => (await request(t.url).get('/health/ready')).body.details?.redis?.mode === 'redis',
    );
  });
  afterAll(() => t.close());

  it('shows each subsystem mode in /health/ready', async () => {
    const res = await request(t.url).get('/health/ready');
    expect(res.body.details.redis.subsystems).toEqual({
      cache: 'redis',
      dedup: expect.any(String),
      ratelimit: expect.any(String),
      queue: expect.any(String),
      affinity: expect.any(String),
      circuit: expect.any(String),
    });
  });

  it('needs the API key', async () => {
    await request(t.url).get('/api/cache/stats').expect(401);
    await request(t.url).delete('/api/cache').expect(401);
    await request(t.url).post('/api/cache/explain').send({}).expect(401);
  });

  it('reports stats, explains keys and purges by target', async () => {
    const route = { target: 'fake,model-a', scenario: 'default' };
    const body = canonical('admin', { temperature: 0.2, stream: true, metadata: { user_id: 'u1' } });
    const key = cache.keyFor(body, route, KEY) as string;
    await cache.store(key, answerEvents(), route.target);
    await cache.store(
      cache.keyFor(canonical('other'), { ...route, target: 'fake,model-b' }) as string,
      answerEvents(),
      'fake,model-b',
    );
    expect(await cache.get(key)).toBeDefined();

    const stats = await request(t.url).get('/api/cache/stats').set(auth).expect(200);
    expect(stats.body).toMatchObject({
      hits: 1,
      stores: 2,
      tiers: { memory: { entries: 2, maxBytes: 67108864 }, redis: { entries: 2, mode: 'redis' } },
      compression: { ratio: expect.any(Number) },
    });

    const explained = await request(t.url)
      .post('/api/cache/explain')
      .set(auth)
      .send({ request: { ...body, stream: false }, target: route.target })
      .expect(200);
    expect(explained.body).toMatchObject({ key, cacheable: true });
    expect(explained.body.fields).toMatchObject({
      target: expect.stringMatching(/^[0-9a-f]{64}$/),
      messages: expect.stringMatching(/^[0-9a-f]{64}$/),
      tools: 'absent',
    });
    const notListed = await request(t.url)
      .post('/api/cache/explain')
      .set(auth)
      .send({ request: body, target: route.target, scenario: 'nope' })
      .expect(200);
    expect(notListed.body).toMatchObject({
      key: null,
      cacheable: false,
      reason: expect.stringContaining('nope'),
    });
    await request(t.url)
      .post('/api/cache/explain')
      .set(auth)
      .send({ request: body, target: 'no-comma' })
      .expect(400);

    const bad = await request(t.url).delete('/api/cache').query({ target: 'bad' }).set(auth).expect(400);
    expect(bad.body.error.message).toBe('target (query parameter): must be "provider,model"');
    const badBody = await request(t.url)
      .post('/api/cache/explain')
      .set(auth)
      .send({ request: body, target: 'no-comma' })
      .expect(400);
    expect(badBody.body.error.message).toBe('target: must be "provider,model"');
    const purged = await request(t.url)
      .delete('/api/cache')
      .query({ target: route.target })
      .set(auth)
      .expect(200);
    expect(purged.body).toEqual({ memory: 1, redis: 1 });
    const all = await request(t.url).delete('/api/cache').set(auth).expect(200);
    expect(all.body).toEqual({ memory: 1, redis: 1 });
  });

  it('attaches the client cache policy to the raw request', async () => {
    const get = (cc?: string) => {
      const r = request(t.url).get('/probe').set(auth);
      return (cc ? r.set('cache-control', cc) : r).expect(200);
    };
    expect((await get()).body).toEqual({ read: true, write: true });
    expect((await get('no-cache')).body).toEqual({ read: false, write: true });
    expect((await get('no-store')).body).toEqual({ read: false, write: false });
    expect((await get('max-age=30')).body).toEqual({ read: true, write: true, maxAgeSec: 30 });
  });
});
