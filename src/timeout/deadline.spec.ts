import { block, checkPhase, socketPair } from '../../test/support/loop-stall';
import { ABORTED, AttemptDeadline, UpstreamTimeoutError } from './deadline';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('AttemptDeadline', () => {
  it("a first byte that arrived while the gateway's loop was blocked past the deadline is read, not timed out", async () => {
    const pair = await socketPair();
    try {
      const d = new AttemptDeadline({ totalMs: 10_000, firstByteMs: 30, idleMs: 10_000, target: 'p,m' });
      pair.client.on('data', () => d.firstEvent());
      await checkPhase();
      pair.server.write('x'); // the upstream answers in time…
      block(80); // …but the gateway only gets to its socket after the deadline came due
      await sleep(20);
      expect(d.aborted).toBe(false);
      d.dispose();
    } finally {
      pair.close();
    }
  });

  it("a first-byte deadline that fired late because the gateway's loop stalled is extended once by that stall", async () => {
    const pair = await socketPair();
    try {
      const d = new AttemptDeadline({ totalMs: 10_000, firstByteMs: 30, idleMs: 10_000, target: 'p,m' });
      pair.client.on('data', () => d.firstEvent());
      await checkPhase();
      block(150); // the timer comes due at 30 ms and can only run at ~150 ms
      await sleep(40);
      expect(d.aborted).toBe(false); // still within the ~120 ms forgiven
      pair.server.write('x'); // the upstream answers within the extension
      await sleep(150);
      expect(d.aborted).toBe(false);
      d.dispose();

      // No answer at all: it fails after the extension, once, naming the deadline itself.
      const e = new AttemptDeadline({ totalMs: 10_000, firstByteMs: 30, idleMs: 10_000, target: 'p,m' });
      await checkPhase();
      block(150);
      await sleep(300);
      expect(e.expired?.kind).toBe('first_byte');
      expect(e.expired?.message).toBe('p,m: first-byte deadline of 30 ms exceeded');
      e.dispose();
    } finally {
      pair.close();
    }
  });

  it('likewise an event that arrived during a stall of the loop is read before the idle deadline fires', async () => {
    const pair = await socketPair();
    try {
      const d = new AttemptDeadline({ totalMs: 10_000, firstByteMs: 10_000, idleMs: 30, target: 'p,m' });
      d.firstEvent();
      pair.client.on('data', () => {
        d.disarmIdle();
        d.armIdle(); // the next read starts: it is guarded again
      });
      d.armIdle();
      await checkPhase();
      pair.server.write('x');
      block(80);
      await sleep(10);
      expect(d.aborted).toBe(false);
      await sleep(60); // the next read gets nothing: its own deadline fires
      expect(d.expired?.kind).toBe('idle');
      d.dispose();
    } finally {
      pair.close();
    }
  });

  it('fires the first-byte deadline with a timeout-named reason', async () => {
    const d = new AttemptDeadline({ totalMs: 10_000, firstByteMs: 20, idleMs: 10_000, target: 'p,m' });
    const r = await d.race(new Promise(() => undefined));
    expect(r).toBe(ABORTED);
    expect(d.expired).toBeInstanceOf(UpstreamTimeoutError);
    expect(d.expired?.kind).toBe('first_byte');
    expect(d.signal.reason).toBe(d.expired);
    expect((d.signal.reason as Error).name).toMatch(/timeout/i);
    d.dispose();
  });

  it('firstEvent() cancels the first-byte deadline; idle runs only while armed', async () => {
    const d = new AttemptDeadline({ totalMs: 10_000, firstByteMs: 20, idleMs: 30, target: 'p,m' });
    d.firstEvent();
    await sleep(50);
    expect(d.aborted).toBe(false); // no read pending: a slow client is not a stalled upstream
    d.armIdle();
    await sleep(60);
    expect(d.expired?.kind).toBe('idle');
    d.dispose();
  });

  it('follows the client signal and never reports it as a timeout', async () => {
    const client = new AbortController();
    const d = new AttemptDeadline({
      clientSignal: client.signal,
      totalMs: 10_000,
      firstByteMs: 10_000,
      idleMs: 10_000,
    });
    const pending = d.race(new Promise(() => undefined));
    client.abort(new Error('client left'));
    expect(await pending).toBe(ABORTED);
    expect(d.expired).toBeUndefined();
    d.dispose();
  });

  it('dispose clears every timer and the client listener', async () => {
    const client = new AbortController();
    const d = new AttemptDeadline({ clientSignal: client.signal, totalMs: 20, firstByteMs: 20, idleMs: 20 });
    d.armIdle();
    d.dispose();
    await sleep(40);
    expect(d.aborted).toBe(false);
    client.abort();
    expect(d.aborted).toBe(false);
  });

  it('race passes values and rejections through', async () => {
    const d = new AttemptDeadline({ totalMs: 1000, firstByteMs: 1000, idleMs: 1000 });
    await expect(d.race(Promise.resolve(7))).resolves.toBe(7);
    await expect(d.race(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    d.dispose();
  });

  it('a stream of short reads never trips the idle deadline; a read pending idleMs does', async () => {
    const d = new AttemptDeadline({ totalMs: 10_000, firstByteMs: 10_000, idleMs: 40, target: 'p,m' });
    d.firstEvent();
    // 8 reads of 15 ms back to back: 120 ms in all, three idle periods, each read well under the deadline.
    for (let i = 0; i < 8; i++) {
      d.armIdle();
      await sleep(15);
      d.disarmIdle();
    }
    expect(d.aborted).toBe(false);
    d.armIdle(); // a read that starts just after the timer was re-armed for the previous one
    const started = performance.now();
    expect(await d.race(new Promise(() => undefined))).toBe(ABORTED);
    expect(d.expired?.kind).toBe('idle');
    expect(performance.now() - started).toBeGreaterThanOrEqual(38); // never before its own 40 ms
    d.dispose();
  });

  it('settles every pending race when the attempt is aborted', async () => {
    const d = new AttemptDeadline({ totalMs: 10_000, firstByteMs: 10_000, idleMs: 10_000 });
    const a = d.race(new Promise(() => undefined));
    const b = d.race(new Promise(() => undefined));
    d.abort(new Error('stop'));
    expect(await Promise.all([a, b])).toEqual([ABORTED, ABORTED]);
    d.dispose();
  });

  it('expireFirstByteNow gives up a waiting attempt, never one whose answer started', async () => {
    const waiting = new AttemptDeadline({ totalMs: 10_000, firstByteMs: 10_000, idleMs: 10_000, target: 'p,m' });
    waiting.expireFirstByteNow(600);
    expect(waiting.expired?.kind).toBe('first_byte');
    expect(waiting.aborted).toBe(true);
    waiting.dispose();

    const answered = new AttemptDeadline({ totalMs: 10_000, firstByteMs: 10_000, idleMs: 10_000 });
    answered.firstEvent();
    answered.expireFirstByteNow(600);
    expect(answered.aborted).toBe(false);
    answered.dispose();
  });
});
