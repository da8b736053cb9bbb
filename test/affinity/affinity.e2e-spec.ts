import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PinState } from '../../src/affinity/affinity.types';
import { decidePin } from '../../src/affinity/hysteresis';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';
import {
  API_KEY,
  deleteKeys,
  eventually,
  lcg,
  sessionKey,
  startInstance,
  type AffinityInstance,
  type InstanceOptions,
} from './support';

const A = 'openai,gpt-fake';
const B = 'anthropic,claude-fake';
const C = 'gemini,gemini-fake';
const MAIN = A; // the routed target of the session's main requests
const HAIKU = 'openai,haiku-fake'; // …and of its background requests

/**
 * AffinityService in isolation: two Nest applications (two gateway instances as far as Redis can tell, each
 * with its own config, connections and local LRU) on one Redis.
 */
describe('session affinity across instances (real Redis)', () => {
  const url = process.env.TEST_REDIS_URL as string;
  let raw: Redis;
  let prefix: string;
  const open: AffinityInstance[] = [];

  const instance = async (o: Partial<InstanceOptions> = {}): Promise<AffinityInstance> => {
    const i = await startInstance({ redisUrl: url, keyPrefix: prefix, ...o });
    open.push(i);
    return i;
  };
  const pair = async (o: Partial<InstanceOptions> = {}): Promise<[AffinityInstance, AffinityInstance]> => [
    await instance(o),
    await instance(o),
  ];

  beforeAll(() => {
    raw = new Redis(url);
  });
  afterAll(() => raw.quit());
  beforeEach(() => {
    prefix = `aff${randomUUID().slice(0, 8)}:`;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((i) => i.close()));
    await deleteKeys(raw, prefix);
  });

  it('a pin recorded on one instance is the other’s preference, per (session, routed target)', async () => {
    const [a, b] = await pair();
    expect(a.affinity.mode).toBe('redis');
    expect(await b.affinity.preferred('s1', MAIN)).toBeUndefined();
    a.affinity.record('s1', MAIN, B, true); // fire-and-forget, as the gateway calls it
    await eventually(async () => (await b.affinity.preferred('s1', MAIN)) === B);
    expect(await a.affinity.preferred('s1', MAIN)).toBe(B);
    // The session's background requests route elsewhere: they have their own pin (none yet)…
    expect(await b.affinity.preferred('s1', HAIKU)).toBeUndefined();
    await b.affinity.recordNow('s1', HAIKU, HAIKU, false);
    expect(await a.affinity.preferred('s1', HAIKU)).toBe(HAIKU);
    expect(await a.affinity.preferred('s1', MAIN)).toBe(B);
    // …and another session has none.
    expect(await a.affinity.preferred('s2', MAIN)).toBeUndefined();
    expect(await a.affinity.preferred(undefined, MAIN)).toBeUndefined();
  });

  it('stores one hash per session under sha256(session id), TTL Affinity.ttlSec refreshed by every record', async () => {
    const [a, b] = await pair({ affinity: { ttlSec: 600 } });
    const session = 'cc-session-7f3a';
    await a.affinity.recordNow(session, MAIN, A, false);
    await b.affinity.recordNow(session, HAIKU, HAIKU, false);
    const key = sessionKey(prefix, session);
    expect(await raw.keys(`${prefix}*`)).toEqual([key]); // the session id itself is never in a key
    expect(await raw.hgetall(key)).toEqual({ [MAIN]: `0 ${A}`, [HAIKU]: `0 ${HAIKU}` });
    const ttl = await raw.ttl(key);
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    await raw.expire(key, 5);
    await b.affinity.recordNow(session, MAIN, B, true); // a strike refreshes it too: the session is active
    expect(await raw.ttl(key)).toBeGreaterThan(590);
    // Usage totals are a key of their own, with the same TTL.
    a.affinity.recordUsage(A, { input_tokens: 5 }, false);
    await eventually(async () => (await raw.exists(`${prefix}affinity:v1:usage`)) === 1);
    expect(await raw.ttl(`${prefix}affinity:v1:usage`)).toBeGreaterThan(590);
  });

  it('a session not seen for ttlSec is forgotten on every instance', async () => {
    const [a, b] = await pair({ affinity: { ttlSec: 1 } });
    await a.affinity.recordNow('s1', MAIN, B, true);
    expect(await b.affinity.preferred('s1', MAIN)).toBe(B);
    await sleep(2100);
    expect(await raw.exists(sessionKey(prefix, 's1'))).toBe(0);
    expect(await a.affinity.preferred('s1', MAIN)).toBeUndefined();
    expect(await b.affinity.preferred('s1', MAIN)).toBeUndefined();
  });

  it('counts strikes across instances; a good answer from the pin resets them; the moveAfter-th moves the pin', async () => {
    const [a, b] = await pair({ affinity: { moveAfter: 3 } });
    const key = sessionKey(prefix, 's1');
    const step = async (i: AffinityInstance, served: string, failedOver: boolean) =>
      (await i.affinity.recordNow('s1', MAIN, served, failedOver))?.change;

    expect(await step(a, A, false)).toBe('pinned');
    expect(await step(a, B, true)).toBe('strike');
    expect(await step(b, B, true)).toBe('strike');
    expect(await raw.hget(key, MAIN)).toBe(`2 ${A}`);
    expect(await b.affinity.preferred('s1', MAIN)).toBe(A); // two failovers do not move it
    expect(await step(b, A, false)).toBe('kept');
    expect(await raw.hget(key, MAIN)).toBe(`0 ${A}`);
    expect(await step(a, B, true)).toBe('strike');
    expect(await step(b, B, true)).toBe('strike');
    expect(await step(a, B, true)).toBe('moved');
    expect(await raw.hget(key, MAIN)).toBe(`0 ${B}`);
    expect(await a.affinity.preferred('s1', MAIN)).toBe(B);
    expect(await b.affinity.preferred('s1', MAIN)).toBe(B);
    expect(await step(b, B, false)).toBe('kept');
    const [sa, sb] = [await a.affinity.snapshot(), await b.affinity.snapshot()];
    expect(sa.decisions).toEqual({ pinned: 1, kept: 0, strike: 2, moved: 1, full: 0 });
    expect(sb.decisions).toEqual({ pinned: 0, kept: 2, strike: 2, moved: 0, full: 0 });
  });

  it('concurrent answers on two instances count every strike exactly once (the record is one atomic script)', async () => {
    const [a, b] = await pair({ affinity: { moveAfter: 10 } });
    await a.affinity.recordNow('s1', MAIN, A, false);
    const changes = await Promise.all(
      Array.from({ length: 25 }, (_, i) => (i % 2 ? a : b).affinity.recordNow('s1', MAIN, B, true)),
    );
    const count = (c: string) => changes.filter((d) => d?.change === c).length;
    expect([count('strike'), count('moved'), count('kept')]).toEqual([9, 1, 15]);
    expect(await raw.hget(sessionKey(prefix, 's1'), MAIN)).toBe(`0 ${B}`);

    // Far from moveAfter, every one of 40 simultaneous strikes lands in the count.
    const [c, d] = await pair({ affinity: { moveAfter: 100 } });
    await c.affinity.recordNow('s2', MAIN, A, false);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? c : d).affinity.recordNow('s2', MAIN, C, true)),
    );
    expect(await raw.hget(sessionKey(prefix, 's2'), MAIN)).toBe(`40 ${A}`);
  });

  it('the Redis script and decidePin (the unit-tested pure function) agree step by step', async () => {
    for (const moveAfter of [1, 2, 3, 5]) {
      const [a, b] = await pair({ affinity: { moveAfter } });
      const next = lcg(moveAfter * 7919);
      let expected: PinState | undefined;
      for (let i = 0; i < 120; i++) {
        // Mostly the pin's neighbourhood: runs of failovers long enough to reach moveAfter now and then.
        const served = [A, A, B, B, C][next() % 5];
        const want = decidePin(expected, served, moveAfter);
        const got = await (i % 2 ? a : b).affinity.recordNow(`eq${moveAfter}`, MAIN, served, served !== A);
        expect({ i, moveAfter, ...got }).toEqual({ i, moveAfter, ...want });
        expected = want.state;
      }
      await Promise.all(open.splice(0).map((x) => x.close()));
    }
  });

  it('GET /api/affinity: behind the API key; mode, local sessions, per-provider usage and cluster totals', async () => {
    const [a, b] = await pair();
    await a.affinity.recordNow('s1', MAIN, A, false);
    await a.affinity.recordNow('s2', MAIN, A, false);
    a.affinity.recordUsage(
      A,
      { input_tokens: 100, cache_read_input_tokens: 800, cache_creation_input_tokens: 100 },
      false,
    );
    a.affinity.recordUsage(A, { input_tokens: 999, cache_read_input_tokens: 999 }, true); // a gateway cache hit
    b.affinity.recordUsage(A, { input_tokens: 100, cache_read_input_tokens: 0 }, false);
    b.affinity.recordUsage(B, { input_tokens: 10, cache_read_input_tokens: 30 }, false);

    expect((await a.app.inject({ method: 'GET', url: '/api/affinity' })).statusCode).toBe(401);
    await eventually(async () => {
      const res = await a.app.inject({
        method: 'GET',
        url: '/api/affinity',
        headers: { 'x-api-key': API_KEY },
      });
      return res.json().cluster?.providers?.openai?.requests === 2;
    });
    const res = await a.app.inject({
      method: 'GET',
      url: '/api/affinity',
      headers: { 'x-api-key': API_KEY },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      enabled: true,
      mode: 'redis',
      sessionsLocal: 2,
      ttlSec: 3600,
      moveAfter: 3,
      providers: {
        openai: {
          requests: 1,
          inputTokens: 100,
          cacheReadTokens: 800,
          cacheCreationTokens: 100,
          cacheReadShare: 0.8,
        },
      },
      cluster: {
        providers: {
          openai: {
            requests: 2,
            inputTokens: 200,
            cacheReadTokens: 800,
            cacheCreationTokens: 100,
            cacheReadShare: 0.7273,
          },
          anthropic: {
            requests: 1,
            inputTokens: 10,
            cacheReadTokens: 30,
            cacheCreationTokens: 0,
            cacheReadShare: 0.75,
          },
        },
      },
    });
    expect(res.json().providers.anthropic).toBeUndefined(); // b's answers are b's
  });

  it('usage reaches the cluster totals in batches: many answers, one pipeline; a read flushes first', async () => {
    const [a, b] = await pair();
    const remote = (a.affinity as unknown as { remote: { addUsage: (...args: unknown[]) => Promise<void> } })
      .remote;
    const addUsage = jest.spyOn(remote, 'addUsage');
    for (let n = 0; n < 50; n++) {
      a.affinity.recordUsage(A, { input_tokens: 10, cache_read_input_tokens: 30 }, false);
      a.affinity.recordUsage(B, { input_tokens: 1 }, false);
    }
    expect(addUsage).not.toHaveBeenCalled(); // nothing per answer
    // b's read sees a's answers once a's timer has flushed them: one batch for both providers.
    await eventually(async () => (await b.affinity.snapshot()).cluster?.providers?.openai?.requests === 50);
    expect(addUsage).toHaveBeenCalledTimes(1);
    expect((await b.affinity.snapshot()).cluster?.providers).toMatchObject({
      openai: { requests: 50, inputTokens: 500, cacheReadTokens: 1500 },
      anthropic: { requests: 50, inputTokens: 50 },
    });
    // A read on the instance holding pending usage flushes it first, without waiting for the timer.
    a.affinity.recordUsage(C, { input_tokens: 7 }, false);
    expect((await a.affinity.snapshot()).cluster?.providers?.gemini).toMatchObject({ requests: 1, inputTokens: 7 });
    expect(addUsage).toHaveBeenCalledTimes(2);
  });

  it('Affinity.enabled false: no preference, nothing written, mode disabled', async () => {
    const a = await instance({ affinity: { enabled: false } });
    await a.affinity.recordNow('s1', MAIN, A, false);
    a.affinity.record('s1', MAIN, A, false);
    expect(await a.affinity.preferred('s1', MAIN)).toBeUndefined();
    expect(await raw.keys(`${prefix}*`)).toEqual([]);
    expect((await a.affinity.snapshot()).mode).toBe('disabled');
  });

  it('without Redis configured the service runs in its local form', async () => {
    const a = await instance({ redisUrl: undefined });
    expect(a.affinity.mode).toBe('local');
    await a.affinity.recordNow('s1', MAIN, A, false);
    expect(await a.affinity.preferred('s1', MAIN)).toBe(A);
    expect(await a.affinity.snapshot()).toMatchObject({ mode: 'local', sessionsLocal: 1, cluster: null });
  });
});

/** A private redis-server each, so that pausing or killing it disturbs no other spec. */
describe('session affinity when Redis is stuck or down', () => {
  let server: ThrowawayRedis;
  let raw: Redis;
  let i: AffinityInstance;
  const TIMEOUT_MS = 250; // Redis.commandTimeoutMs (default)
  const BOUND_MS = TIMEOUT_MS + 200; // plus a loaded CI machine's scheduling

  const timed = async <T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const start = performance.now();
    const value = await fn();
    return { value, ms: performance.now() - start };
  };

  beforeEach(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    raw.on('error', () => undefined);
    await raw.connect();
    i = await startInstance({
      redisUrl: server.url,
      keyPrefix: 'down:',
      affinity: { moveAfter: 2 },
      redis: { commandTimeoutMs: TIMEOUT_MS },
    });
  });
  afterEach(async () => {
    await i.close();
    // ioredis arms a 2 s timer when disconnecting a socket that is already closed: skip it then.
    if (raw.status !== 'end') {
      raw.disconnect();
    }
    await server.stop();
  });

  it('a Redis that stops answering (CLIENT PAUSE) costs at most the command timeout; the local mirror answers', async () => {
    await i.affinity.recordNow('s1', MAIN, A, false);
    expect(await raw.hget(sessionKey('down:', 's1'), MAIN)).toBe(`0 ${A}`);
    // Every client is paused, this one too (so no UNPAUSE: the pause simply runs out, or the server is killed).
    await raw.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const read = await timed(() => i.affinity.preferred('s1', MAIN));
    expect(read.value).toBe(A);
    expect(read.ms).toBeLessThan(BOUND_MS);
    const strike = await timed(() => i.affinity.recordNow('s1', MAIN, B, true));
    expect(strike.value?.change).toBe('strike');
    expect(strike.ms).toBeLessThan(BOUND_MS);
    const usage = await timed(async () => i.affinity.recordUsage(A, { input_tokens: 1 }, false));
    expect(usage.ms).toBeLessThan(50); // fire-and-forget
    const snap = await timed(() => i.affinity.snapshot());
    expect(snap.ms).toBeLessThan(BOUND_MS);
    expect(snap.value.redisErrors).toBeGreaterThanOrEqual(2);
  });

  it('a Redis that goes away: no hang, local form with the mirrored pins, hysteresis intact; Redis again after restart', async () => {
    await i.affinity.recordNow('s1', MAIN, A, false);
    await server.stop();
    // Before the watchdog has noticed: the command fails fast and the mirror answers.
    const read = await timed(() => i.affinity.preferred('s1', MAIN));
    expect(read.value).toBe(A);
    expect(read.ms).toBeLessThan(BOUND_MS);
    await eventually(() => i.affinity.mode === 'local', 5000);
    const strike = await timed(() => i.affinity.recordNow('s1', MAIN, B, true));
    expect(strike.value).toEqual({ change: 'strike', state: { pin: A, strikes: 1 } });
    expect(strike.ms).toBeLessThan(50); // local form: Redis is not even tried
    expect((await i.affinity.recordNow('s1', MAIN, B, true))?.change).toBe('moved');
    expect(await i.affinity.preferred('s1', MAIN)).toBe(B);
    expect((await i.affinity.snapshot()).mode).toBe('local');

    await server.restart(); // empty: no persistence
    await eventually(() => i.affinity.mode === 'redis', 10_000);
    // Redis is authoritative again: it has no pin for s1, so neither does this instance any more.
    expect(await i.affinity.preferred('s1', MAIN)).toBeUndefined();
    await i.affinity.recordNow('s1', MAIN, A, false);
    const fresh = new Redis(server.url);
    expect(await fresh.hget(sessionKey('down:', 's1'), MAIN)).toBe(`0 ${A}`);
    await fresh.quit();
  });
});
