import { GatewayError } from '../../src/protocol/errors';
import type { StreamEvent } from '../../src/protocol/types';
import { SLOW_SUBSCRIBER_EVENT } from '../../src/dedup/event-log';
import { FakeUpstream, drain, eventually, joinMany, startInstance, type DedupInstance } from './support';

/** In-process coalescing, no Redis configured (the single-machine form). */
describe('dedup, one process', () => {
  let p: DedupInstance;
  beforeEach(async () => {
    p = await startInstance({ dedup: { maxLogBytes: 64 * 1024 } });
  });
  afterEach(() => p.close());

  it('100 concurrent identical joins make exactly one upstream call and get 100 identical full answers', async () => {
    const fake = new FakeUpstream({ deltas: 50, firstEventDelayMs: 20, eventDelayMs: 1 });
    const joins = await Promise.all(joinMany(p.dedup, 'k', fake.call, 100));
    const answers = await Promise.all(joins.map((j) => drain(j.events)));
    expect(fake.calls).toBe(1);
    expect(joins.filter((j) => j.role === 'leader')).toHaveLength(1);
    for (const events of answers) {
      expect(events).toEqual(fake.events);
    }
    expect(p.dedup.stats()).toMatchObject({
      leaders: 1,
      followers: 99,
      inFlight: 0,
      crossInstanceFollowers: 0,
    });
  });

  it('a late joiner replays the answer from the start, then follows live', async () => {
    const fake = new FakeUpstream({ deltas: 30, eventDelayMs: 5 });
    const first = await p.dedup.join('k', fake.call, new AbortController().signal);
    const head = await drain(first.events, 10);
    const late = await p.dedup.join('k', fake.call, new AbortController().signal);
    expect(late.role).toBe('follower');
    expect(fake.yielded).toBeLessThan(fake.events.length); // still live when it joined
    const [a, b] = await Promise.all([drain(first.events), drain(late.events)]);
    expect([...head, ...a]).toEqual(fake.events);
    expect(b).toEqual(fake.events);
    expect(fake.calls).toBe(1);
  });

  it('one subscriber leaving does not cancel the upstream call; the last one leaving does', async () => {
    const fake = new FakeUpstream({ deltas: 200, eventDelayMs: 2 });
    const leaving = new AbortController();
    const staying = new AbortController();
    const a = await p.dedup.join('k', fake.call, leaving.signal);
    const b = await p.dedup.join('k', fake.call, staying.signal);
    await drain(a.events, 5);
    leaving.abort(new Error('client a closed'));
    expect(await a.events.next()).toEqual({ done: true, value: undefined });
    await drain(b.events, 20);
    expect(fake.signals[0].aborted).toBe(false);
    staying.abort(new Error('client b closed'));
    expect(fake.signals[0].aborted).toBe(true);
    expect(fake.signals[0].reason).toEqual(new Error('client b closed'));
    expect(fake.yielded).toBeLessThan(fake.events.length);
    expect(p.dedup.stats().inFlight).toBe(0);
  });

  it('iterator return() counts as leaving, like an abort', async () => {
    const fake = new FakeUpstream({ deltas: 100, eventDelayMs: 2 });
    const only = await p.dedup.join('k', fake.call, new AbortController().signal);
    await drain(only.events, 3);
    await only.events.return?.();
    expect(fake.signals[0].aborted).toBe(true);
  });

  it('a failure before the first event rejects every join with that same error', async () => {
    const err = new GatewayError(429, 'slow down', { type: 'rate_limit_error' });
    const fake = new FakeUpstream({ firstEventDelayMs: 30, failBeforeFirst: err });
    const results = await Promise.allSettled(joinMany(p.dedup, 'k', fake.call, 20));
    expect(fake.calls).toBe(1);
    for (const r of results) {
      expect(r).toEqual({ status: 'rejected', reason: err });
      expect((r as PromiseRejectedResult).reason).toBe(err);
    }
    // A failed flight is gone: the next identical request makes a new call.
    const ok = new FakeUpstream();
    await drain((await p.dedup.join('k', ok.call, new AbortController().signal)).events);
    expect(ok.calls).toBe(1);
  });

  it('a failure after the first event ends every subscriber with a terminal error event', async () => {
    const fake = new FakeUpstream({ deltas: 10, failAfter: 5 });
    const joins = await Promise.all(joinMany(p.dedup, 'k', fake.call, 3));
    for (const events of await Promise.all(joins.map((j) => drain(j.events)))) {
      expect(events.slice(0, 5)).toEqual(fake.events.slice(0, 5));
      expect(events[5]).toEqual({
        type: 'error',
        error: { type: 'api_error', message: 'upstream connection reset' },
      });
      expect(events).toHaveLength(6);
    }
  });

  it('a completed answer leaves the map: a later identical request makes its own call', async () => {
    const fake = new FakeUpstream({ deltas: 3 });
    const joined = await p.dedup.join('k', fake.call, new AbortController().signal);
    await drain(joined.events);
    expect(p.dedup.stats().inFlight).toBe(0);
    const again = await p.dedup.join('k', fake.call, new AbortController().signal);
    expect(again.role).toBe('leader');
    expect(await drain(again.events)).toEqual(fake.events);
    expect(fake.calls).toBe(2);
  });

  it('the log cap holds: a slow subscriber is detached with an error event, new joiners get their own call', async () => {
    // ~64 KiB cap, ~2,000 events of ~90 bytes: well past the cap.
    const fake = new FakeUpstream({ deltas: 2000 });
    const fast = await p.dedup.join('k', fake.call, new AbortController().signal);
    const slow = await p.dedup.join('k', fake.call, new AbortController().signal);
    const slowHead = await drain(slow.events, 1); // then it stops reading
    const fastEvents: StreamEvent[] = [];
    let joinedPastCap: Awaited<ReturnType<DedupInstance['dedup']['join']>> | undefined;
    for (;;) {
      const step = await fast.events.next();
      if (step.done) {
        break;
      }
      fastEvents.push(step.value);
      if (fastEvents.length === 1500 && !joinedPastCap) {
        joinedPastCap = await p.dedup.join('k', fake.call, new AbortController().signal);
      }
    }
    expect(fastEvents).toEqual(fake.events);
    const slowRest = await drain(slow.events);
    expect(slowRest.at(-1)).toEqual(SLOW_SUBSCRIBER_EVENT);
    expect([...slowHead, ...slowRest.slice(0, -1)]).toEqual(fake.events.slice(0, 1 + slowRest.length - 1));
    expect(joinedPastCap?.role).toBe('leader');
    expect(await drain(joinedPastCap!.events)).toEqual(fake.events);
    expect(fake.calls).toBe(2);
    expect(p.dedup.stats().detachedSlow).toBe(1);
  });

  it('a subscriber aborting while waiting for the first event is rejected with its own reason', async () => {
    const fake = new FakeUpstream({ firstEventDelayMs: 200 });
    const first = p.dedup.join('k', fake.call, new AbortController().signal);
    const quitter = new AbortController();
    const second = p.dedup.join('k', fake.call, quitter.signal);
    quitter.abort(new Error('gave up'));
    await expect(second).rejects.toThrow('gave up');
    expect(await drain((await first).events)).toEqual(fake.events);
    expect(fake.signals[0].aborted).toBe(false);
  });
});

describe('dedup, one process, settings', () => {
  it('a follower never waits longer than maxWaitMs for a slow local leader: it makes its own call', async () => {
    const p = await startInstance({ dedup: { maxWaitMs: 150 } });
    try {
      const slow = new FakeUpstream({ firstEventDelayMs: 1000 });
      const fast = new FakeUpstream();
      const leader = p.dedup.join('k', slow.call, new AbortController().signal);
      const started = Date.now();
      const follower = await p.dedup.join('k', fast.call, new AbortController().signal);
      expect(Date.now() - started).toBeLessThan(900);
      expect(follower.role).toBe('leader');
      expect(await drain(follower.events)).toEqual(fast.events);
      expect(await drain((await leader).events)).toEqual(slow.events);
      expect([slow.calls, fast.calls]).toEqual([1, 1]);
    } finally {
      await p.close();
    }
  });

  it('Dedup.enabled false: every join makes its own call', async () => {
    const p = await startInstance({ dedup: { enabled: false } });
    try {
      const fake = new FakeUpstream({ firstEventDelayMs: 10 });
      const joins = await Promise.all(joinMany(p.dedup, 'k', fake.call, 5));
      expect(joins.map((j) => j.role)).toEqual(Array(5).fill('leader'));
      await Promise.all(joins.map((j) => drain(j.events)));
      expect(fake.calls).toBe(5);
    } finally {
      await p.close();
    }
  });

  it('shutdown cancels what is still in flight', async () => {
    const p = await startInstance();
    const fake = new FakeUpstream({ deltas: 1000, eventDelayMs: 5 });
    const joined = await p.dedup.join('k', fake.call, new AbortController().signal);
    await p.close();
    await eventually(() => fake.signals[0].aborted);
    const rest = await drain(joined.events);
    expect(rest.at(-1)).toMatchObject({ type: 'error' });
  });
});
