import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../../src/protocol/errors';
import { DIVERGED_EVENT } from '../../src/dedup/resume-sink';
import type { DedupSettings } from '../../src/dedup/dedup.types';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';
import { FakeUpstream, drain, eventually, joinMany, startInstance, type DedupInstance } from './support';

/** Lock timing with room for a loaded CI machine's event-loop stalls (a stalled heartbeat looks like death). */
const FAST: Partial<DedupSettings> = { lockTtlMs: 2000, heartbeatMs: 150, batchMs: 10, batchEvents: 16 };
/** For the tests that kill a leader: its death is noticed in well under a second. */
const SHORT_LOCK: Partial<DedupSettings> = { ...FAST, lockTtlMs: 600 };

/**
 * Two DedupService instances, each with its own config, RedisService and connections (two gateway
 * processes as far as Redis can tell), sharing one private redis-server.
 */
describe('dedup across instances (real Redis)', () => {
  let server: ThrowawayRedis;
  let raw: Redis;
  let prefix: string;
  const open: DedupInstance[] = [];

  const instance = async (dedup: Partial<DedupSettings> = FAST, url = server.url): Promise<DedupInstance> => {
    const p = await startInstance({ redisUrl: url, keyPrefix: prefix, dedup });
    open.push(p);
    return p;
  };
  const lockExists = async (): Promise<boolean> => (await raw.keys(`${prefix}dedup:v1:*:lock`)).length > 0;

  beforeAll(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });
  afterAll(async () => {
    raw.disconnect();
    await server.stop();
  });
  beforeEach(() => {
    prefix = `t${randomUUID().slice(0, 8)}:`;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
  });

  it('50 + 50 concurrent joins on two instances make ONE upstream call; all 100 get the full answer', async () => {
    const [a, b] = [await instance(), await instance()];
    const fakeA = new FakeUpstream({ deltas: 100, firstEventDelayMs: 50, eventDelayMs: 1 });
    const fakeB = new FakeUpstream({ deltas: 100, firstEventDelayMs: 50, eventDelayMs: 1 });
    const joins = await Promise.all([
      ...joinMany(a.dedup, 'k', fakeA.call, 50),
      ...joinMany(b.dedup, 'k', fakeB.call, 50),
    ]);
    const answers = await Promise.all(joins.map((j) => drain(j.events)));
    expect(fakeA.calls + fakeB.calls).toBe(1);
    for (const events of answers) {
      expect(events).toEqual(fakeA.events);
    }
    expect(joins.filter((j) => j.role === 'leader')).toHaveLength(1);
    const follower = fakeA.calls === 1 ? b : a;
    expect(follower.dedup.stats()).toMatchObject({ leaders: 0, followers: 50, crossInstanceFollowers: 50 });
  });

  it('a late joiner on another instance replays the leader’s stream from the start, then follows live', async () => {
    const [a, b] = [await instance(), await instance()];
    const fakeA = new FakeUpstream({ deltas: 150, eventDelayMs: 2 });
    const fakeB = new FakeUpstream({ deltas: 150 });
    const leader = await a.dedup.join('k', fakeA.call, new AbortController().signal);
    const head = await drain(leader.events, 40);
    const late = await b.dedup.join('k', fakeB.call, new AbortController().signal);
    expect(late.role).toBe('follower');
    expect(fakeA.yielded).toBeLessThan(fakeA.events.length);
    const [rest, lateEvents] = await Promise.all([drain(leader.events), drain(late.events)]);
    expect([...head, ...rest]).toEqual(fakeA.events);
    expect(lateEvents).toEqual(fakeA.events);
    expect(fakeB.calls).toBe(0);
  });

  it('a leader that dies mid-stream (no heartbeat, no end marker) is taken over; followers finish the answer', async () => {
    const [a, b] = [await instance(SHORT_LOCK), await instance(SHORT_LOCK)];
    const fakeA = new FakeUpstream({ deltas: 200, eventDelayMs: 3 });
    const fakeB = new FakeUpstream({ deltas: 200, eventDelayMs: 1 }); // same model, same answer
    const leader = await a.dedup.join('k', fakeA.call, new AbortController().signal);
    const leaderDone = drain(leader.events);
    const follower = await b.dedup.join('k', fakeB.call, new AbortController().signal);
    const head = await drain(follower.events, 30);
    await a.redis.onApplicationShutdown(); // A vanishes from Redis: its lock expires, its stream stops
    const rest = await drain(follower.events);
    expect([...head, ...rest]).toEqual(fakeB.events);
    expect(fakeB.calls).toBe(1);
    expect(b.dedup.stats().takeovers).toBe(1);
    expect(await leaderDone).toEqual(fakeA.events); // A's own client never noticed
  });

  it('when the replacement answer differs, committed followers get an error, uncommitted ones the new answer', async () => {
    const [a, b] = [await instance(SHORT_LOCK), await instance(SHORT_LOCK)];
    const fakeA = new FakeUpstream({ deltas: 200, eventDelayMs: 3 });
    const fakeB = new FakeUpstream({ deltas: 200, variant: 'other-' });
    const leader = await a.dedup.join('k', fakeA.call, new AbortController().signal);
    const leaderDone = drain(leader.events);
    const committed = await b.dedup.join('k', fakeB.call, new AbortController().signal);
    const idle = await b.dedup.join('k', fakeB.call, new AbortController().signal); // has not sent a byte yet
    const head = await drain(committed.events, 30);
    await a.redis.onApplicationShutdown();
    const rest = await drain(committed.events);
    expect(head).toEqual(fakeA.events.slice(0, 30));
    expect(rest.at(-1)).toEqual(DIVERGED_EVENT);
    expect(await drain(idle.events)).toEqual(fakeB.events);
    expect(fakeB.calls).toBe(1);
    await leaderDone;
  });

  it('a leader abandoned by its clients hands over at once through its end marker', async () => {
    const [a, b] = [await instance({ ...FAST, lockTtlMs: 5000, heartbeatMs: 1000 }), await instance()];
    const fakeA = new FakeUpstream({ deltas: 300, eventDelayMs: 3 });
    const fakeB = new FakeUpstream({ deltas: 300 });
    const client = new AbortController();
    const leader = await a.dedup.join('k', fakeA.call, client.signal);
    await drain(leader.events, 10);
    const follower = await b.dedup.join('k', fakeB.call, new AbortController().signal);
    const head = await drain(follower.events, 20);
    const left = Date.now();
    client.abort(new Error('client closed'));
    expect(fakeA.signals[0].aborted).toBe(true);
    const rest = await drain(follower.events);
    expect(Date.now() - left).toBeLessThan(3000); // well before A's 5 s lock would have expired
    expect([...head, ...rest]).toEqual(fakeB.events);
    expect(b.dedup.stats().takeovers).toBe(1);
  });

  it('a leader failing before its first event fails remote followers with the same (revived) error', async () => {
    const [a, b] = [await instance(), await instance()];
    const err = new GatewayError(429, 'slow down', {
      type: 'rate_limit_error',
      headers: { 'retry-after': '2' },
    });
    const fakeA = new FakeUpstream({ firstEventDelayMs: 300, failBeforeFirst: err });
    const fakeB = new FakeUpstream();
    const leader = a.dedup.join('k', fakeA.call, new AbortController().signal);
    await eventually(lockExists);
    const follower = b.dedup.join('k', fakeB.call, new AbortController().signal);
    await expect(leader).rejects.toBe(err);
    const remote = await follower.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(remote).toBeInstanceOf(GatewayError);
    expect(remote).toMatchObject({
      status: 429,
      type: 'rate_limit_error',
      message: 'slow down',
      headers: { 'retry-after': '2' },
    });
    expect(fakeB.calls).toBe(0);
  });

  it('a remote follower waits at most maxWaitMs for the first event, then makes its own call', async () => {
    const [a, b] = [await instance(), await instance({ ...FAST, maxWaitMs: 300 })];
    const fakeA = new FakeUpstream({ firstEventDelayMs: 1500 });
    const fakeB = new FakeUpstream();
    const leader = a.dedup.join('k', fakeA.call, new AbortController().signal);
    await eventually(lockExists);
    const started = Date.now();
    const own = await b.dedup.join('k', fakeB.call, new AbortController().signal);
    expect(Date.now() - started).toBeLessThan(1200);
    expect(own.role).toBe('leader');
    expect(await drain(own.events)).toEqual(fakeB.events);
    expect(await drain((await leader).events)).toEqual(fakeA.events);
    expect([fakeA.calls, fakeB.calls]).toEqual([1, 1]);
    expect(b.dedup.stats().takeovers).toBe(0);
  });

  it('costs a handful of Redis commands per answer, not one per token; every key has a TTL', async () => {
    const [a, b] = [await instance({}), await instance({})]; // production batching: 25 ms / 64 events
    const fakeA = new FakeUpstream({ deltas: 500, firstEventDelayMs: 30, eventDelayMs: 0 });
    const fakeB = new FakeUpstream({ deltas: 500 });
    await raw.config('RESETSTAT');
    const joins = await Promise.all([
      a.dedup.join('k', fakeA.call, new AbortController().signal),
      b.dedup.join('k', fakeB.call, new AbortController().signal),
    ]);
    const answers = await Promise.all(joins.map((j) => drain(j.events)));
    expect(answers).toEqual([fakeA.events, fakeA.events]);
    expect(fakeA.calls + fakeB.calls).toBe(1);
    const stats = commandStats(await raw.info('commandstats'));
    const total = Object.entries(stats)
      .filter(([cmd]) => !['info', 'config'].includes(cmd))
      .reduce((n, [, calls]) => n + calls, 0);
    console.log(
      `dedup Redis commands for one 506-event answer shared by two instances: ${JSON.stringify(stats)}`,
    );
    expect(stats.xadd).toBeLessThanOrEqual(12);
    expect(total).toBeLessThanOrEqual(40);
    const keys = await raw.keys(`${prefix}*`);
    expect(keys.some((k) => k.endsWith(':lock'))).toBe(false); // released at the end
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(await raw.pttl(key)).toBeGreaterThan(0);
    }
  });

  it('holds TTLs on the lock and the stream while the leader runs', async () => {
    const [a] = [await instance()];
    const fake = new FakeUpstream({ deltas: 200, eventDelayMs: 3 });
    const leader = await a.dedup.join('k', fake.call, new AbortController().signal);
    await drain(leader.events, 50);
    await new Promise((r) => setTimeout(r, 400)); // a few heartbeats
    const keys = await raw.keys(`${prefix}*`);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      const ttl = await raw.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      if (key.endsWith(':lock')) {
        expect(ttl).toBeLessThanOrEqual(FAST.lockTtlMs!);
      }
    }
    await drain(leader.events);
  });

  describe('with Redis going away', () => {
    let own: ThrowawayRedis;
    beforeEach(async () => {
      own = await startRedisServer();
    });
    afterEach(() => own.stop());

    it('Redis stopped: coalescing is local and never an error; restarted: cross-instance again', async () => {
      const [c, d] = [await instance(FAST, own.url), await instance(FAST, own.url)];
      await own.stop();
      await eventually(() => c.redis.available === undefined && d.redis.available === undefined);
      const fakeC = new FakeUpstream({ deltas: 50, firstEventDelayMs: 20 });
      const fakeD = new FakeUpstream({ deltas: 50, firstEventDelayMs: 20 });
      const joins = await Promise.all([
        ...joinMany(c.dedup, 'k', fakeC.call, 10),
        ...joinMany(d.dedup, 'k', fakeD.call, 10),
      ]);
      for (const events of await Promise.all(joins.map((j) => drain(j.events)))) {
        expect(events).toEqual(fakeC.events);
      }
      expect([fakeC.calls, fakeD.calls]).toEqual([1, 1]); // one call per process

      await own.restart();
      await eventually(() => c.redis.available !== undefined && d.redis.available !== undefined, 10_000);
      const again = [
        new FakeUpstream({ deltas: 50, firstEventDelayMs: 20 }),
        new FakeUpstream({ deltas: 50, firstEventDelayMs: 20 }),
      ];
      const rejoined = await Promise.all([
        ...joinMany(c.dedup, 'k2', again[0].call, 10),
        ...joinMany(d.dedup, 'k2', again[1].call, 10),
      ]);
      await Promise.all(rejoined.map((j) => drain(j.events)));
      expect(again[0].calls + again[1].calls).toBe(1);
    });

    it('Redis dying mid-stream: the leader finishes locally, the follower takes over and finishes too', async () => {
      const [c, d] = [await instance(SHORT_LOCK, own.url), await instance(SHORT_LOCK, own.url)];
      const fakeC = new FakeUpstream({ deltas: 200, eventDelayMs: 3 });
      const fakeD = new FakeUpstream({ deltas: 200 });
      const leader = await c.dedup.join('k', fakeC.call, new AbortController().signal);
      const leaderDone = drain(leader.events);
      const follower = await d.dedup.join('k', fakeD.call, new AbortController().signal);
      const head = await drain(follower.events, 20);
      await own.stop();
      const rest = await drain(follower.events);
      expect([...head, ...rest]).toEqual(fakeD.events);
      expect(await leaderDone).toEqual(fakeC.events);
      expect(d.dedup.stats().takeovers).toBe(1);
    });
  });
});

function commandStats(info: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) {
      out[m[1]] = Number(m[2]);
    }
  }
  return out;
}
