import type { PinoLogger } from 'nestjs-pino';
import type { AppConfigService } from '../config/config.service';
import type { DegradedModeService } from '../redis/degraded-mode.service';
import type { RedisService } from '../redis/redis.service';
import { AffinityService } from './affinity.service';

const A = 'openai,gpt-fake';
const B = 'anthropic,claude-fake';

const silent = new Proxy({}, { get: () => () => undefined }) as PinoLogger;

/** The service over stand-ins: `client` is what RedisService.available returns (undefined = local form). */
function service(o: { enabled?: boolean; moveAfter?: number; client?: unknown; distributed?: boolean } = {}) {
  const config = {
    get: (key: string) =>
      key === 'Affinity'
        ? { enabled: o.enabled ?? true, ttlSec: 60, moveAfter: o.moveAfter ?? 3 }
        : undefined,
  } as unknown as AppConfigService;
  const redis = {
    available: o.client,
    commandTimeoutMs: 50,
    key: (area: string, v: number, hash: string) => `t:${area}:v${v}:${hash}`,
  } as unknown as RedisService;
  const degraded = {
    isDistributed: () => o.distributed ?? o.client !== undefined,
  } as unknown as DegradedModeService;
  return new AffinityService(config, redis, degraded, silent);
}

const never = (): Promise<never> => new Promise<never>(() => undefined);
/** A Redis that accepts every command and never answers (alive at TCP level, stuck). */
const hangingClient = {
  hget: never,
  eval: never,
  hgetall: never,
  pipeline: () => ({ hincrby: () => undefined, expire: () => undefined, exec: never }),
};
const failingClient = {
  hget: () => Promise.reject(new Error('Connection is closed.')),
  eval: () => Promise.reject(new Error('Connection is closed.')),
  hgetall: () => Promise.reject(new Error('Connection is closed.')),
  pipeline: () => ({
    hincrby: () => undefined,
    expire: () => undefined,
    exec: () => Promise.reject(new Error('closed')),
  }),
};

describe('AffinityService (local form, stand-ins for Redis)', () => {
  it('no session, no routed target or disabled ⇒ no preference and nothing recorded', async () => {
    const off = service({ enabled: false });
    await off.recordNow('s1', A, A, false);
    expect(await off.preferred('s1', A)).toBeUndefined();
    expect(off.mode).toBe('disabled');
    expect((await off.snapshot()).sessionsLocal).toBe(0);

    const on = service();
    expect(await on.recordNow(undefined, A, A, false)).toBeUndefined();
    expect(await on.recordNow('s1', '', A, false)).toBeUndefined();
    expect(await on.preferred(undefined, A)).toBeUndefined();
    expect((await on.snapshot()).sessionsLocal).toBe(0);
  });

  it('without Redis: pins, strikes and moves per (session, routed target)', async () => {
    const s = service({ moveAfter: 2 });
    expect(s.mode).toBe('local');
    await s.recordNow('s1', A, A, false);
    expect(await s.preferred('s1', A)).toBe(A);
    expect(await s.preferred('s1', 'openai,haiku-fake')).toBeUndefined();
    expect(await s.preferred('s2', A)).toBeUndefined();
    expect((await s.recordNow('s1', A, B, true))?.change).toBe('strike');
    expect(await s.preferred('s1', A)).toBe(A);
    expect((await s.recordNow('s1', A, B, true))?.change).toBe('moved');
    expect(await s.preferred('s1', A)).toBe(B);
    const snap = await s.snapshot();
    expect(snap).toMatchObject({ enabled: true, mode: 'local', sessionsLocal: 1, cluster: null });
    expect(snap.decisions).toEqual({ pinned: 1, kept: 0, strike: 1, moved: 1, full: 0 });
  });

  it('record() is fire-and-forget and never throws', async () => {
    const s = service();
    expect(s.record('s1', A, A, false)).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(await s.preferred('s1', A)).toBe(A);
  });

  it('counts strikes whose chain reported no failover (pin skipped or not in the chain) apart', async () => {
    const s = service();
    await s.recordNow('s1', A, A, false);
    await s.recordNow('s1', A, B, false);
    await s.recordNow('s1', A, B, true);
    expect((await s.snapshot()).strikesWithoutFailover).toBe(1);
  });

  it.each([
    ['hangs', hangingClient],
    ['fails', failingClient],
  ])(
    'a Redis that %s costs at most the command timeout and falls back to the local form',
    async (_name, client) => {
      const s = service({ client, moveAfter: 2 });
      expect(s.mode).toBe('redis');
      let start = performance.now();
      expect((await s.recordNow('s1', A, A, false))?.change).toBe('pinned');
      expect(performance.now() - start).toBeLessThan(500);
      start = performance.now();
      expect(await s.preferred('s1', A)).toBe(A);
      expect(performance.now() - start).toBeLessThan(500);
      s.recordUsage(A, { input_tokens: 1 }, false);
      start = performance.now();
      const snap = await s.snapshot();
      expect(performance.now() - start).toBeLessThan(500);
      expect(snap.cluster).toBeNull();
      expect(snap.redisErrors).toBeGreaterThanOrEqual(3);
      expect(snap.providers.openai.requests).toBe(1);
    },
  );

  it('recordUsage counts upstream answers per provider and ignores gateway cache hits', async () => {
    const s = service();
    s.recordUsage(A, { input_tokens: 100, cache_read_input_tokens: 300 }, false);
    s.recordUsage('openai,haiku-fake', { input_tokens: 100, cache_read_input_tokens: 500 }, false);
    s.recordUsage(B, { input_tokens: 10, cache_creation_input_tokens: 90 }, false);
    s.recordUsage(B, { input_tokens: 1_000_000, cache_read_input_tokens: 1 }, true);
    expect((await s.snapshot()).providers).toEqual({
      anthropic: {
        requests: 1,
        inputTokens: 10,
        cacheReadTokens: 0,
        cacheCreationTokens: 90,
        cacheReadShare: 0,
      },
      openai: {
        requests: 2,
        inputTokens: 200,
        cacheReadTokens: 800,
        cacheCreationTokens: 0,
        cacheReadShare: 0.8,
      },
    });
  });
});
