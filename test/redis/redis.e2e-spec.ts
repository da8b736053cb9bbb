import Redis, { Cluster } from 'ioredis';
import { SUBSYSTEMS, type ModeChange } from '../../src/redis/degraded-mode.service';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';
import { startRedisStack, testConfig, waitFor, type RedisStack } from './harness';

const allModes = (mode: string): Record<string, string> =>
  Object.fromEntries(SUBSYSTEMS.map((s) => [s, mode]));

describe('RedisService and degraded mode (real redis-server)', () => {
  let server: ThrowawayRedis;
  let stack: RedisStack | undefined;

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
    if (server.pid === -1) {
      await server.restart();
    }
  });
  afterAll(() => server.stop());

  it('builds keys as <keyPrefix><area>:v<N>:<hash> and rejects malformed parts', () => {
    stack = startRedisStack(server.url);
    expect(stack.redis.key('cache', 1, 'abc')).toBe('ccr:cache:v1:abc');
    const custom = startRedisStack(undefined, { Redis: { keyPrefix: 'sy-test:' } });
    expect(custom.redis.key('dedup', 3, 'f00')).toBe('sy-test:dedup:v3:f00');
    expect(() => custom.redis.key('Bad:Area', 1, 'x')).toThrow(/invalid Redis key/);
    expect(() => custom.redis.key('cache', 1.5, 'x')).toThrow(/invalid Redis key/);
    expect(() => custom.redis.key('cache', 1, '')).toThrow(/invalid Redis key/);
    return custom.close();
  });

  it('reports every subsystem as disabled without Redis configuration', async () => {
    stack = startRedisStack(undefined);
    expect(stack.redis.mode).toBe('disabled');
    expect(stack.redis.available).toBeUndefined();
    expect(stack.degraded.modes()).toEqual(allModes('disabled'));
    expect(stack.degraded.isDistributed('cache')).toBe(false);
    expect(() => stack?.redis.createDedicatedConnection('bullmq')).toThrow(/not configured/);
  });

  it('flips every subsystem to local within 1 s of Redis dying and back within 1 s of its return', async () => {
    stack = startRedisStack(server.url);
    const s = stack;
    await waitFor(() => s.degraded.isDistributed('cache'));
    expect(s.degraded.modes()).toEqual(allModes('redis'));
    const changes: ModeChange[] = [];
    s.degraded.onChange((c) => changes.push(c));
    const cacheOnly: ModeChange[] = [];
    s.degraded.onChange((c) => cacheOnly.push(c), 'cache');

    await server.stop();
    const down = await waitFor(() => s.degraded.modes().cache === 'local', 3000);
    expect(down).toBeLessThan(1000);
    expect(s.degraded.modes()).toEqual(allModes('local'));
    expect(s.redis.mode).toBe('degraded');
    expect(s.redis.available).toBeUndefined();
    expect(changes.map((c) => [c.subsystem, c.previous, c.mode])).toEqual(
      SUBSYSTEMS.map((sub) => [sub, 'redis', 'local']),
    );
    expect(cacheOnly).toHaveLength(1);

    // While down, a command on the hot client fails at once: no offline queue, never waits for a reconnect.
    const client = s.redis.client as Redis;
    const t0 = performance.now();
    await expect(client.get('anything')).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(s.redis.commandTimeoutMs);

    await server.restart();
    const up = await waitFor(() => s.degraded.isDistributed('cache'), 3000);
    expect(up).toBeLessThan(1000);
    expect(s.degraded.modes()).toEqual(allModes('redis'));
    expect(await s.redis.available?.ping()).toBe('PONG');
    expect(cacheOnly.map((c) => c.mode)).toEqual(['local', 'redis']);
  });

  it('notices a Redis that stops answering (no TCP close) through the watchdog, and commands time out', async () => {
    stack = startRedisStack(server.url, { Redis: { commandTimeoutMs: 150 } });
    const s = stack;
    await waitFor(() => s.degraded.isDistributed('dedup'));
    process.kill(server.pid, 'SIGSTOP');
    try {
      const client = s.redis.client as Redis;
      const t0 = performance.now();
      await expect(client.get('k')).rejects.toThrow(/timed out|timeout/i);
      expect(performance.now() - t0).toBeLessThan(150 + 100);
      const down = await waitFor(() => !s.degraded.isDistributed('dedup'), 3000);
      expect(down).toBeLessThan(1000);
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    await waitFor(() => s.degraded.isDistributed('dedup'), 1500);
  });

  it("does not call Redis down when the watchdog's ping only timed out because this process's loop was blocked", async () => {
    stack = startRedisStack(server.url, { Redis: { commandTimeoutMs: 150, watchdogIntervalMs: 60_000 } });
    const s = stack;
    await waitFor(() => s.degraded.isDistributed('dedup'));
    const flips: boolean[] = [];
    s.redis.onStateChange((up) => flips.push(up));
    // From the check phase: the next loop turn runs its timers before it reads any socket.
    await new Promise((r) => setImmediate(r));
    const probe = (s.redis as unknown as { probe(): Promise<void> }).probe();
    // The reply arrives while the loop is busy; the command timer comes due before it is read.
    const end = Date.now() + 400;
    while (Date.now() < end) {
      // a long synchronous stretch (a burst, a major GC)
    }
    await probe;
    expect(flips).toEqual([]);
    expect(s.redis.mode).toBe('redis');
  });

  it('keeps a pinned subsystem local while Redis is up', async () => {
    stack = startRedisStack(server.url);
    const s = stack;
    await waitFor(() => s.degraded.isDistributed('cache'));
    const changes: ModeChange[] = [];
    s.degraded.onChange((c) => changes.push(c));
    s.degraded.pinLocal('dedup');
    expect(s.degraded.mode('dedup')).toBe('local');
    expect(s.degraded.mode('cache')).toBe('redis');
    expect(changes).toEqual([{ subsystem: 'dedup', mode: 'local', previous: 'redis' }]);
  });

  it('opens dedicated connections that are not the hot one and closes them on shutdown', async () => {
    stack = startRedisStack(server.url);
    const s = stack;
    await waitFor(() => s.redis.mode === 'redis');
    const bull = s.redis.createDedicatedConnection('bullmq') as Redis;
    expect(bull).not.toBe(s.redis.client);
    expect(bull.options.maxRetriesPerRequest).toBeNull();
    expect(bull.options.commandTimeout).toBeUndefined();
    expect(bull.options.enableOfflineQueue).toBe(true);
    expect(s.redis.bullConnectionOptions()).toMatchObject({ maxRetriesPerRequest: null, port: server.port });
    // A blocking command must not be cut by a command timeout on this connection.
    const t0 = performance.now();
    expect(await bull.blpop('sy-test:nothing', 0.4)).toBeNull();
    expect(performance.now() - t0).toBeGreaterThan(350);
    const hot = s.redis.client as Redis;
    expect(hot.options.enableOfflineQueue).toBe(false);
    expect(hot.options.commandTimeout).toBe(s.redis.commandTimeoutMs);
    await s.close();
    stack = undefined;
    expect(bull.status).toBe('end');
    expect(hot.status).toBe('end');
  });

  it('opens a Cluster client for Redis.cluster (local until the cluster answers); a bad Sentinel config never loads', async () => {
    stack = startRedisStack(undefined, {
      Redis: { enabled: true, cluster: [{ host: '127.0.0.1', port: 1 }] },
    });
    expect(stack.redis.topology).toBe('cluster');
    expect(stack.redis.client).toBeInstanceOf(Cluster);
    expect(stack.degraded.modes()).toEqual(allModes('local'));
    expect(stack.redis.createDedicatedConnection('bullmq')).toBeInstanceOf(Cluster);

    // Sentinels without the master group name: refused when the configuration loads (load-config.spec.ts).
    expect(() =>
      testConfig({ Redis: { enabled: true, sentinels: [{ host: '127.0.0.1', port: 1 }] } }),
    ).toThrow(/Redis\.sentinels: set without Redis\.name/);
  });
});
