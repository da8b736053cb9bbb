import Redis from 'ioredis';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';
import { startCacheStack, waitFor, type CacheStack } from '../redis/harness';
import { answerEvents, request, uniquePrefix } from './fixtures';

const route = { target: 'fake,model-a', scenario: 'default' };

describe('response cache tiers against a real redis-server', () => {
  let server: ThrowawayRedis;
  let raw: Redis;
  const stacks: CacheStack[] = [];

  const start = async (cache: Record<string, unknown> = {}, redis: Record<string, unknown> = {}) => {
    const stack = await startCacheStack(server.url, {
      Redis: { keyPrefix: uniquePrefix('tiers'), ...redis },
      Cache: cache,
    });
    stacks.push(stack);
    await waitFor(() => stack.degraded.isDistributed('cache'));
    return stack;
  };

  beforeAll(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url, { lazyConnect: true, retryStrategy: () => 200, maxRetriesPerRequest: 1 });
    raw.on('error', () => undefined);
  });
  afterEach(async () => {
    await Promise.all(stacks.splice(0).map((s) => s.close()));
    if (server.pid === -1) {
      await server.restart();
    }
  });
  afterAll(async () => {
    raw.disconnect();
    await server.stop();
  });

  it('stores in both tiers, reads memory first, and promotes a Redis hit into memory', async () => {
    const a = await start();
    const key = a.cache.keyFor(request(), route) as string;
    expect(key).toMatch(new RegExp(`^${a.redis.keyPrefix.replace(/[-:]/g, '\\$&')}cache:v1:[0-9a-f]{64}$`));
    expect(await a.cache.get(key)).toBeUndefined();
    expect(await a.cache.store(key, answerEvents(), route.target)).toBe(true);
    const hit = await a.cache.get(key);
    expect(hit).toMatchObject({ tier: 'memory', target: route.target });
    expect(hit?.events).toEqual(answerEvents());

    // A second instance (empty memory) sharing the Redis: first hit from Redis, then from memory.
    const b = await start({}, { keyPrefix: a.redis.keyPrefix });
    expect((await b.cache.get(key))?.tier).toBe('redis');
    expect((await b.cache.get(key))?.tier).toBe('memory');
    expect(b.cache.memory.remainingTtl(key)).toBeGreaterThan(3_500_000);
    expect(b.cache.memory.remainingTtl(key)).toBeLessThanOrEqual(3_600_000);

    const stats = b.cache.stats();
    expect(stats).toMatchObject({ hits: 2, misses: 0, hitRate: 1, stores: 0, errors: 0 });
    expect(stats.tiers.memory.entries).toBe(1);
    expect(stats.tiers.redis.mode).toBe('redis');
    expect(a.cache.stats().compression.ratio).toBeGreaterThan(3);
    expect(await b.cache.refreshRedisEntries()).toBe(1);
  });

  it('gives every key it writes a TTL and honours Cache.ttl and max-age', async () => {
    const s = await start({ ttl: 1 });
    const key = s.cache.keyFor(request('ttl'), route) as string;
    await s.cache.store(key, answerEvents(), route.target);
    const keys = await raw.keys(`${s.redis.keyPrefix}*`); // test-side inspection of a private server
    expect(keys.sort()).toEqual(
      [key, expect.stringContaining(`${s.redis.keyPrefix}cache-target:v1:`)].sort(),
    );
    for (const k of keys) {
      const pttl = await raw.pttl(k);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(1000);
    }
    expect(await s.cache.get(key, 0)).toBeUndefined(); // max-age=0 only accepts an entry stored this instant
    expect(await s.cache.get(key, 60)).toBeDefined();
    await new Promise((r) => setTimeout(r, 1150));
    expect(await s.cache.get(key)).toBeUndefined();
    expect(await raw.exists(key)).toBe(0);
  });

  it('refuses incomplete or failed answers in every tier', async () => {
    const s = await start();
    const key = s.cache.keyFor(request('refuse'), route) as string;
    const cut = answerEvents().slice(0, -1);
    expect(await s.cache.store(key, cut, route.target)).toBe(false);
    expect(await s.cache.get(key)).toBeUndefined();
    expect(await raw.exists(key)).toBe(0);
  });

  it('keeps answering from memory, never throwing or waiting, while Redis is dead; uses Redis again after restart', async () => {
    const s = await start({}, { commandTimeoutMs: 200 });
    const before = s.cache.keyFor(request('before'), route) as string;
    await s.cache.store(before, answerEvents(), route.target);

    await server.stop();
    const during = s.cache.keyFor(request('during'), route) as string;
    let t0 = performance.now();
    expect(await s.cache.store(during, answerEvents(), route.target)).toBe(true); // memory tier took it
    expect(performance.now() - t0).toBeLessThan(200);
    t0 = performance.now();
    expect((await s.cache.get(during))?.tier).toBe('memory');
    expect((await s.cache.get(before))?.tier).toBe('memory');
    expect(await s.cache.get(s.cache.keyFor(request('nowhere'), route) as string)).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(200);
    await waitFor(() => s.cache.stats().tiers.redis.mode === 'local', 1000);
    expect(await s.cache.purge(route.target)).toEqual({
      memory: 2,
      redis: null,
      redisError: expect.stringContaining('Redis is unavailable'),
    });
    expect(await s.cache.refreshRedisEntries()).toBeNull();

    await server.restart();
    await waitFor(() => s.degraded.isDistributed('cache'), 1500);
    const after = s.cache.keyFor(request('after'), route) as string;
    expect(await s.cache.store(after, answerEvents(), route.target)).toBe(true);
    expect(await raw.exists(after)).toBe(1);
  });

  it('bounds every call by the command timeout when Redis hangs (no TCP close)', async () => {
    const s = await start({}, { commandTimeoutMs: 150, watchdogIntervalMs: 5000 });
    const key = s.cache.keyFor(request('hang'), route) as string;
    process.kill(server.pid, 'SIGSTOP');
    try {
      const t0 = performance.now();
      expect(await s.cache.get(key)).toBeUndefined();
      expect(await s.cache.store(key, answerEvents(), route.target)).toBe(true);
      expect(performance.now() - t0).toBeLessThan(2 * (150 + 50) + 100);
      expect(s.cache.stats().errors).toBeGreaterThan(0);
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
  });

  it('purges one target, or everything, in both tiers', async () => {
    const s = await start();
    const other = { target: 'fake,model-b', scenario: 'default' };
    for (const t of ['1', '2', '3']) {
      await s.cache.store(s.cache.keyFor(request(t), route) as string, answerEvents(), route.target);
    }
    const keep = s.cache.keyFor(request('keep'), other) as string;
    await s.cache.store(keep, answerEvents(), other.target);
    expect(await s.cache.purge(route.target)).toEqual({ memory: 3, redis: 3 });
    expect(await s.cache.get(s.cache.keyFor(request('1'), route) as string)).toBeUndefined();
    expect((await s.cache.get(keep))?.target).toBe(other.target);
    expect(await s.cache.purge()).toEqual({ memory: 1, redis: 1 });
    expect(await s.cache.get(keep)).toBeUndefined();
  });

  it('keeps the memory tier under its byte cap while Redis keeps everything', async () => {
    const s = await start({ maxMemoryBytes: 20_000 });
    const keys: string[] = [];
    for (let i = 0; i < 10; i++) {
      const key = s.cache.keyFor(request(`big-${i}`), route) as string;
      keys.push(key);
      // Incompressible-ish text so each entry stays several KB.
      const text = Array.from({ length: 600 }, (_, j) =>
        ((i * 7919 + j * 104729) % 1000003).toString(36),
      ).join(' ');
      await s.cache.store(key, answerEvents(text), route.target);
      expect(s.cache.stats().tiers.memory.bytes).toBeLessThanOrEqual(20_000);
    }
    expect(s.cache.stats().tiers.memory.entries).toBeLessThan(10);
    expect(await s.cache.refreshRedisEntries()).toBe(10);
    expect((await s.cache.get(keys[0]))?.tier).toBe('redis');
  });
});
