import { GatewayError } from '../../src/protocol/errors';
import type { FakeProvider } from '../fake-provider';
import { calls, provider, sleep, startFakes, startHarness, type Harness } from './harness';

describe('circuit breakers (fake providers over HTTP)', () => {
  let fakes: FakeProvider[];
  let h: Harness;

  beforeAll(async () => {
    fakes = await startFakes(2);
  });
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
  });
  beforeEach(async () => {
    fakes.forEach((f) => f.reset());
    h = await startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      config: {
        Failover: {
          providers: { primary: 'p1,m1', fallback: ['p2,m1'] },
          breaker: { consecutiveFailures: 3, minRequests: 100, openMs: 400, maxOpenMs: 1600 },
        },
      },
    });
  });
  afterEach(() => h.close());

  it('appends Failover.providers.fallback when the routed target is the primary', async () => {
    fakes[0].configure({ fault: { type: 'status', status: 503 } });
    const out = await h.run(['p1,m1']);
    expect(out.result?.target).toBe('p2,m1');
    expect(h.failover.buildChain(['P1,M1', 'p2,m1'])).toEqual(['p1,m1', 'p2,m1']);
    expect(h.failover.buildChain(['p2,m2'])).toEqual(['p2,m2']);
  });

  it('flapping primary: the breaker opens, half-open sends one probe, a good probe closes it', async () => {
    fakes[0].configure({ fault: { type: 'status', status: 503 } });
    for (let i = 0; i < 3; i++) {
      expect((await h.run(['p1,m1', 'p2,m1'])).result?.target).toBe('p2,m1');
    }
    expect(h.state.view('p1,m1').state).toBe('open');
    expect(h.counters.get('breaker_transitions{to=opened}')).toBe(1);

    // Open: skipped without a call.
    const skipped = await h.run(['p1,m1', 'p2,m1']);
    expect(skipped.result?.target).toBe('p2,m1');
    expect(calls(fakes[0])).toBe(3);

    // Half-open, still failing: one probe, reopened for twice as long.
    await sleep(450);
    expect(h.state.view('p1,m1').state).toBe('half_open');
    const probe = await h.run(['p1,m1', 'p2,m1']);
    expect(probe.attempts.map((a) => [a.target, a.outcome])).toEqual([
      ['p1,m1', 'failed'],
      ['p2,m1', 'ok'],
    ]);
    expect(calls(fakes[0])).toBe(4);
    const view = h.state.view('p1,m1');
    expect(view.state).toBe('open');
    expect(view.level).toBe(2);
    expect((view.openUntil ?? 0) - Date.now()).toBeGreaterThan(500); // 800 ms this time

    // Recovered: after the longer open period the probe succeeds and the circuit closes.
    fakes[0].reset();
    await sleep(850);
    const healed = await h.run(['p1,m1', 'p2,m1']);
    expect(healed.result?.target).toBe('p1,m1');
    expect(h.state.view('p1,m1').state).toBe('closed');
    expect(h.counters.get('breaker_transitions{to=closed}')).toBe(1);
    expect((await h.run(['p1,m1', 'p2,m1'])).result?.target).toBe('p1,m1');
  });

  it('half-open admits one probe at a time', async () => {
    fakes[0].configure({ fault: { type: 'status', status: 503 } });
    for (let i = 0; i < 3; i++) {
      await h.run(['p1,m1', 'p2,m1']);
    }
    await sleep(450);
    fakes[0].configure({ fault: null, firstByteDelayMs: 300 });
    const before = calls(fakes[0]);
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => h.run(['p1,m1', 'p2,m1'])));
    expect(calls(fakes[0]) - before).toBe(1);
    expect([a, b, c].filter((o) => o.result?.target === 'p1,m1')).toHaveLength(1);
    expect([a, b, c].flatMap((o) => o.attempts).filter((x) => x.reason === 'half_open_busy')).toHaveLength(2);
    expect(h.state.view('p1,m1').state).toBe('closed');
  });

  it('all targets down: an immediate 503 overloaded_error with retry-after, no upstream call', async () => {
    for (const f of fakes) {
      f.configure({ fault: { type: 'status', status: 500 } });
    }
    for (let i = 0; i < 3; i++) {
      await h.run(['p1,m1', 'p2,m1']);
    }
    expect(h.state.view('p1,m1').state).toBe('open');
    expect(h.state.view('p2,m1').state).toBe('open');
    const before = fakes.map(calls);
    const out = await h.run(['p1,m1', 'p2,m1']);
    expect(out.error).toBeInstanceOf(GatewayError);
    expect(out.error.status).toBe(503);
    expect(out.error.type).toBe('overloaded_error');
    expect(out.error.headers['retry-after']).toBe('1'); // 400 ms rounds up to a second
    expect(out.attempts.every((a) => a.outcome === 'skipped' && a.reason === 'circuit_open')).toBe(true);
    expect(fakes.map(calls)).toEqual(before);
    expect(out.ms).toBeLessThan(200); // at once, not after a chain of timeouts (generous)
    expect(h.counters.get('all_targets_unavailable')).toBe(1);
  });

  it('a stream that stalls after its first event counts against the breaker', async () => {
    const stall = await startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      config: {
        AdaptiveTimeout: { idle: { maxMs: 150 } },
        Failover: { breaker: { consecutiveFailures: 2 } },
      },
    });
    try {
      fakes[0].configure({ fault: { type: 'stall-after-first-byte' } });
      for (let i = 0; i < 2; i++) {
        const out = await stall.run(['p1,m2', 'p2,m2']);
        expect(out.events.at(-1)).toMatchObject({ type: 'error', error: { type: 'timeout_error' } });
      }
      await sleep(50); // the end-of-stream verdict is recorded asynchronously
      expect(stall.state.view('p1,m2').state).toBe('open');
      expect((await stall.run(['p1,m2', 'p2,m2'])).result?.target).toBe('p2,m2');
    } finally {
      await stall.close();
    }
  });

  it('a hang trips the breaker on slow calls long before any first-byte deadline; waiting requests keep theirs', async () => {
    const hangH = await startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      config: {
        Failover: {
          timeout: 20_000,
          breaker: { openMs: 1000, maxOpenMs: 4000, slowCalls: { enabled: true, minCalls: 3, k: 2, minMs: 300 } },
        },
        AdaptiveTimeout: { minSamples: 5, firstByte: { k: 4, minMs: 1500, maxMs: 60_000, perInputTokenMs: 0 } },
      },
    });
    try {
      for (let i = 0; i < 6; i++) {
        expect((await hangH.run(['p1,m1', 'p2,m1'])).result?.target).toBe('p1,m1'); // history: a fast p1
      }
      expect(hangH.timeouts.firstByte('p1,m1').ms).toBe(1500);
      expect(hangH.timeouts.slowCallMs('p1,m1')).toBe(300);
      fakes[0].configure({ fault: { type: 'hang' } });
      const waiting = [0, 1, 2].map(async (i) => {
        await sleep(i * 20);
        return hangH.run(['p1,m1', 'p2,m1']);
      });
      await sleep(400); // all three have waited ≥ 300 ms for a first byte
      expect(hangH.state.view('p1,m1').state).toBe('closed'); // nothing came back to count as a failure yet
      const next = await hangH.run(['p1,m1', 'p2,m1']);
      expect(next.result?.target).toBe('p2,m1');
      expect(next.attempts[0]).toMatchObject({ target: 'p1,m1', outcome: 'skipped', reason: 'circuit_open' });
      expect(hangH.state.view('p1,m1').state).toBe('open');
      expect(hangH.counters.get('breaker_transitions{to=opened}')).toBe(1);

      const moved = await Promise.all(waiting);
      for (const out of moved) {
        expect(out.result?.target).toBe('p2,m1');
        expect(out.attempts[0]).toMatchObject({ target: 'p1,m1', outcome: 'failed', reason: 'first_byte_timeout' });
        // A trip turns new traffic away; what was already waiting keeps its own first-byte deadline.
        expect(out.ms).toBeGreaterThanOrEqual(1400);
        expect(out.ms).toBeLessThan(4000);
      }
      const opened = hangH.logs.records.find((r) => r.msg === 'circuit opened');
      expect(opened).toMatchObject({ target: 'p1,m1', cause: 'slow_calls' });

      // Half-open: the one probe still hangs, and is given up at the slow-call threshold, not at 1.5 s.
      await sleep(Math.max(0, (hangH.state.view('p1,m1').openUntil ?? 0) - Date.now()) + 50);
      expect(hangH.state.view('p1,m1').state).toBe('half_open');
      const probe = await hangH.run(['p1,m1', 'p2,m1']);
      expect(probe.result?.target).toBe('p2,m1');
      expect(probe.attempts[0]).toMatchObject({ target: 'p1,m1', outcome: 'failed', reason: 'first_byte_timeout' });
      expect(probe.ms).toBeLessThan(1200);
      expect(hangH.state.view('p1,m1').state).toBe('open');
    } finally {
      fakes[0].reset();
      await hangH.close();
    }
  });

  it('no slow-call trip on a chain with nowhere else to go: slow answers are waited for, not turned into 503s', async () => {
    const soloH = await startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      config: {
        Failover: {
          timeout: 20_000,
          breaker: { openMs: 1000, slowCalls: { enabled: true, minCalls: 3, k: 2, minMs: 300 } },
        },
        AdaptiveTimeout: { minSamples: 5, firstByte: { k: 4, minMs: 1500, maxMs: 60_000, perInputTokenMs: 0 } },
      },
    });
    try {
      for (let i = 0; i < 6; i++) {
        await soloH.run(['p1,m1']);
      }
      expect(soloH.timeouts.slowCallMs('p1,m1')).toBe(300);
      fakes[0].configure({ firstByteDelayMs: 700 }); // slow, but it answers
      const waiting = [0, 1, 2].map(() => soloH.run(['p1,m1']));
      await sleep(400); // all three have waited past the slow-call threshold
      const next = await soloH.run(['p1,m1']);
      expect(next.attempts[0]).toMatchObject({ target: 'p1,m1', outcome: 'ok' });
      for (const out of await Promise.all(waiting)) {
        expect(out.result?.target).toBe('p1,m1');
      }
      expect(soloH.state.view('p1,m1').state).toBe('closed');
      expect(soloH.counters.get('breaker_transitions{to=opened}') ?? 0).toBe(0);
    } finally {
      fakes[0].reset();
      await soloH.close();
    }
  });

  it('never trips on slow calls while the gateway itself is too busy to read its answers', async () => {
    const busyH = await startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      config: {
        Failover: { timeout: 20_000, breaker: { slowCalls: { enabled: true, minCalls: 3, k: 2, minMs: 300 } } },
        AdaptiveTimeout: { minSamples: 5, firstByte: { k: 4, minMs: 8000, maxMs: 60_000, perInputTokenMs: 0 } },
      },
    });
    try {
      for (let i = 0; i < 6; i++) {
        await busyH.run(['p1,m1', 'p2,m1']);
      }
      fakes[0].configure({ firstByteDelayMs: 150 }); // healthy, answers in 150 ms
      const waiting = [0, 1, 2].map(() => busyH.run(['p1,m1', 'p2,m1']));
      await sleep(10);
      const until = performance.now() + 450;
      while (performance.now() < until) {
        // the gateway's own loop is blocked: the answers arrive but nobody reads them
      }
      const next = await busyH.run(['p1,m1', 'p2,m1']);
      expect(busyH.state.view('p1,m1').state).toBe('closed');
      expect(next.result?.target).toBe('p1,m1');
      for (const out of await Promise.all(waiting)) {
        expect(out.result?.target).toBe('p1,m1');
      }
      expect(busyH.counters.get('breaker_transitions{to=opened}') ?? 0).toBe(0);
    } finally {
      fakes[0].reset();
      await busyH.close();
    }
  });
});
