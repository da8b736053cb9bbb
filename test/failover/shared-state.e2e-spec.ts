import type { FakeProvider } from '../fake-provider';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';
import { calls, provider, sleep, startFakes, startHarness, type Harness } from './harness';

/** Two gateway instances (separate Nest contexts) sharing one private redis-server. */
describe('breaker and cooldown state shared through Redis', () => {
  let fakes: FakeProvider[];
  let redis: ThrowawayRedis;
  let a: Harness;
  let b: Harness;
  let prefix: string;
  let n = 0;

  const start = (): Promise<Harness> =>
    startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      redisUrl: redis.url,
      keyPrefix: prefix,
      config: { Failover: { breaker: { consecutiveFailures: 2, minRequests: 100, openMs: 5000 } } },
    });

  beforeAll(async () => {
    fakes = await startFakes(2);
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
    await redis.stop();
  });
  beforeEach(async () => {
    fakes.forEach((f) => f.reset());
    prefix = `sy-shared-${process.pid}-${++n}:`;
    a = await start();
    b = await start();
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('a breaker opened on instance A is open on instance B (no call from B)', async () => {
    fakes[0].configure({ fault: { type: 'status', status: 503 } });
    await a.run(['p1,m1', 'p2,m1']);
    await a.run(['p1,m1', 'p2,m1']);
    expect(a.state.view('p1,m1').state).toBe('open');
    const before = calls(fakes[0]);
    const out = await b.run(['p1,m1', 'p2,m1']);
    expect(out.result?.target).toBe('p2,m1');
    expect(calls(fakes[0])).toBe(before);
    expect(b.state.view('p1,m1').state).toBe('open');
    expect(b.state.view('p1,m1').openUntil).toBe(a.state.view('p1,m1').openUntil);
  });

  it('a retry-after cooldown set on A is honoured by B', async () => {
    fakes[0].configure({ fault: { type: 'status', status: 429, retryAfter: 3 } });
    expect((await a.run(['p1,m2', 'p2,m2'])).result?.target).toBe('p2,m2');
    const out = await b.run(['p1,m2']);
    expect(out.error?.status).toBe(503);
    expect(out.attempts).toEqual([{ target: 'p1,m2', outcome: 'skipped', reason: 'cooldown', ms: 0 }]);
    expect(Number(out.error.headers['retry-after'])).toBeGreaterThanOrEqual(2);
    expect(calls(fakes[0])).toBe(1);
  });

  it('a probe that closes the circuit on B closes it on A', async () => {
    const fast = await startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      redisUrl: redis.url,
      keyPrefix: `${prefix}fast:`,
      config: { Failover: { breaker: { consecutiveFailures: 1, openMs: 300 } } },
    });
    const other = await startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      redisUrl: redis.url,
      keyPrefix: `${prefix}fast:`,
      config: { Failover: { breaker: { consecutiveFailures: 1, openMs: 300 } } },
    });
    try {
      fakes[0].configure({ fault: { type: 'status', status: 500 } });
      await fast.run(['p1,m1', 'p2,m1']);
      await other.state.refresh(['p1,m1']);
      expect(other.state.view('p1,m1').state).toBe('open');
      fakes[0].reset();
      await sleep(350);
      expect((await fast.run(['p1,m1', 'p2,m1'])).result?.target).toBe('p1,m1');
      await sleep(300); // past other's local refresh interval
      await other.state.refresh(['p1,m1']);
      expect(other.state.view('p1,m1').state).toBe('closed');
    } finally {
      await fast.close();
      await other.close();
    }
  });

  it('Redis down during failover: still fails over locally, without waiting on Redis', async () => {
    await redis.stop();
    try {
      fakes[0].configure({ fault: { type: 'status', status: 503 } });
      const first = await a.run(['p1,m1', 'p2,m1']);
      expect(first.result?.target).toBe('p2,m1');
      expect(first.ms).toBeLessThan(2000);
      await a.run(['p1,m1', 'p2,m1']);
      expect(a.state.view('p1,m1').state).toBe('open'); // local breaker still works
      const third = await a.run(['p1,m1', 'p2,m1']);
      expect(third.result?.target).toBe('p2,m1');
      expect(calls(fakes[0])).toBe(2);
    } finally {
      await redis.restart();
    }
  });

  it('learned timeouts survive a restart (Redis history)', async () => {
    for (let i = 0; i < 25; i++) {
      a.timeouts.recordFirstByte('p1,m1', 100 + i);
    }
    await a.timeouts.flush();
    const c = await start();
    try {
      await c.timeouts.flush(); // restores the shared history first
      const p = c.timeouts.predictions().find((x) => x.target === 'p1,m1');
      expect(p?.ttfb.samples).toBe(25);
      expect(p?.firstByteSource).toBe('learned');
    } finally {
      await c.close();
    }
  });
});
