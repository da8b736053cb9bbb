import Redis from 'ioredis';
import request from 'supertest';
import { CacheService } from '../../src/cache/cache.service';
import { waitFor } from '../redis/harness';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';
import { startTestApp, type TestApp } from '../support/test-app';
import { answerEvents, request as canonical, uniquePrefix } from './fixtures';

const KEY = 'purge-test-key';
const auth = { 'x-api-key': KEY };
const route = { target: 'fake,model-a', scenario: 'default' };

/**
 * A purge that could not reach the Redis tier must say so: those entries would otherwise be served again
 * as hits once Redis answers. Redis is made unavailable by stopping (SIGSTOP) this spec's own server, so its
 * data survives for the check afterwards.
 */
describe('DELETE /api/cache while the Redis tier is unavailable', () => {
  let server: ThrowawayRedis;
  let raw: Redis;
  let t: TestApp;
  let cache: CacheService;
  let paused = false;
  const pause = (): void => {
    process.kill(server.pid, 'SIGSTOP');
    paused = true;
  };
  const resume = (): void => {
    if (paused) {
      process.kill(server.pid, 'SIGCONT');
      paused = false;
    }
  };

  beforeAll(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
    t = await startTestApp({
      userConfig: { APIKEY: KEY, Redis: { keyPrefix: uniquePrefix('purge-down') } },
      env: { REDIS_URL: server.url },
    });
    cache = t.app.get(CacheService);
    await waitFor(() => cache.stats().tiers.redis.mode === 'redis', 10_000);
  });
  afterAll(async () => {
    resume();
    await t?.close();
    raw?.disconnect();
    await server?.stop();
  });

  it('answers 503 with what the memory tier lost, redis: null and the error; the entry is still in Redis', async () => {
    const key = cache.keyFor(canonical('purge-me'), route) as string;
    await cache.store(key, answerEvents(), route.target);
    expect(await raw.exists(key)).toBe(1);

    pause();
    await waitFor(() => cache.stats().tiers.redis.mode === 'local', 10_000);
    const all = await request(t.url).delete('/api/cache').set(auth).expect(503);
    expect(all.body).toEqual({
      memory: 1,
      redis: null,
      error: {
        type: 'api_error',
        message: expect.stringMatching(
          /^the Redis tier was not purged \(Redis is unavailable.*\); the memory tier was/,
        ),
      },
      statusCode: 503,
      requestId: all.headers['x-request-id'],
    });

    // One target: the same answer.
    const during = cache.keyFor(canonical('stored-during-the-outage'), route) as string;
    await cache.store(during, answerEvents(), route.target);
    const one = await request(t.url)
      .delete('/api/cache')
      .query({ target: route.target })
      .set(auth)
      .expect(503);
    expect(one.body).toMatchObject({ memory: 1, redis: null, statusCode: 503, error: { type: 'api_error' } });

    resume();
    await waitFor(() => cache.stats().tiers.redis.mode === 'redis', 10_000);
    expect(await raw.exists(key)).toBe(1); // the 503 was right: it was not purged
    const again = await request(t.url).delete('/api/cache').set(auth).expect(200);
    expect(again.body).toEqual({ memory: 0, redis: 1 });
    expect(await raw.exists(key)).toBe(0);
  });
});
