import type { GatewayUnderTest } from '../support/gateway';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';
import { eventually, messages, post, retryAfter, startLimited, status, uniquePrefix } from './support';

const RPM = 4;

describe('rate limits when Redis goes down (private redis-server)', () => {
  let server: ThrowawayRedis;
  let a: GatewayUnderTest;
  let b: GatewayUnderTest;

  beforeAll(async () => {
    server = await startRedisServer();
    const prefix = uniquePrefix('down');
    const opts = {
      rateLimit: { client: { rpm: RPM, tpm: 0 }, providers: { openai: { rpm: 100 } } },
      redisUrl: server.url,
      prefix,
    };
    [a, b] = await Promise.all([startLimited(opts), startLimited(opts)]);
    // Both instances have seen each other on Redis: that count is what the local limits divide by.
    await eventually(
      async () => (await status(a)).instances === 2 && (await status(b)).instances === 2,
      10_000,
    );
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await server?.stop();
  });

  const burst = async (
    gw: GatewayUnderTest,
    tag: string,
    n: number,
  ): Promise<{ status: number; retry: number }[]> => {
    const out: { status: number; retry: number }[] = [];
    for (let i = 0; i < n; i++) {
      const r = await post(gw, '/v1/messages', messages(`${tag} ${i}`), { 'x-api-key': 'down-client' });
      out.push({ status: r.status, retry: retryAfter(r) });
    }
    return out;
  };

  it('each instance enforces limit / N in memory; requests are answered, none waits for Redis', async () => {
    await server.stop();
    // No waiting for the watchdog: the first requests already find Redis gone and fall back per call.
    const onA = await burst(a, 'A', 3);
    await eventually(async () => (await status(a)).mode === 'local' && (await status(b)).mode === 'local');
    const onB = await burst(b, 'B', 3);

    // 4 RPM over 2 instances: 2 each, the third refused with a retry-after within one local interval (30 s).
    for (const results of [onA, onB]) {
      expect(results.map((r) => r.status)).toEqual([200, 200, 429]);
      expect(results[2].retry).toBeGreaterThanOrEqual(1);
      expect(results[2].retry).toBeLessThanOrEqual(30);
    }
    const view = await status(a);
    expect(view).toMatchObject({ mode: 'local', instances: 2, localDivisor: 2 });
    // The provider limit fell back the same way and still admitted the four upstream calls.
    expect(a.fake.count({ api: 'openai' }) + b.fake.count({ api: 'openai' })).toBe(4);
  });

  it('returns to the shared limits by itself when Redis is back', async () => {
    await server.restart();
    await eventually(async () => (await status(a)).mode === 'redis' && (await status(b)).mode === 'redis');
    // The restarted Redis is empty: a fresh shared bucket of 4 for the client, across both instances.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (
          await post(i % 2 === 0 ? a : b, '/v1/messages', messages(`back ${i}`), {
            'x-api-key': 'back-client',
          })
        ).status,
      );
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(RPM);
    expect(statuses[4]).toBe(429);
  });
});
