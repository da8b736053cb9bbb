import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeProvider } from '../fake-provider';
import { calls, provider, startFakes, startHarness, type Harness } from './harness';

const warmUp = async (h: Harness, target: string, n: number): Promise<void> => {
  for (let i = 0; i < n; i++) {
    expect((await h.run([target])).result?.target).toBe(target);
  }
};

describe('hedging (fake providers over HTTP)', () => {
  let fakes: FakeProvider[];
  let h: Harness;
  const start = (budgetPercent: number): Promise<Harness> =>
    startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      config: { AdaptiveTimeout: { minSamples: 5 }, Failover: { hedge: { enabled: true, budgetPercent } } },
    });

  beforeAll(async () => {
    fakes = await startFakes(2);
  });
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
  });
  beforeEach(() => fakes.forEach((f) => f.reset()));
  afterEach(() => h.close());

  it('a primary slower than its p95 TTFB is hedged; the hedge wins and the primary is aborted', async () => {
    h = await start(100);
    await warmUp(h, 'p1,m1', 6);
    const p95 = h.timeouts.hedgeDelayMs('p1,m1') ?? Infinity;
    expect(p95).toBeLessThan(500);
    fakes[0].configure({ firstByteDelayMs: 3000 });
    const out = await h.run(['p1,m1', 'p2,m1']);
    expect(out.result?.target).toBe('p2,m1');
    expect(out.events.some((e) => e.type === 'message_stop')).toBe(true);
    expect(out.attempts.map((a) => [a.target, a.outcome, a.reason])).toEqual([
      ['p1,m1', 'failed', 'hedge_lost'],
      ['p2,m1', 'ok', undefined],
    ]);
    expect(out.ms).toBeLessThan(2000); // p95 + p2's answer, far from p1's 3 s
    expect(h.counters.get('hedges{outcome=won_hedge}')).toBe(1);
    await fakes[0].waitFor((rs) => rs.some((r) => r.api === 'openai' && r.closedByClient), 2000);
    // A lost hedge is not a failure of the primary.
    expect(h.state.view('p1,m1').window.failures).toBe(0);
  });

  it('the primary can still win; then the hedge is the one aborted', async () => {
    h = await start(100);
    await warmUp(h, 'p1,m2', 6);
    fakes[0].configure({ firstByteDelayMs: 250 });
    fakes[1].configure({ firstByteDelayMs: 3000 });
    const out = await h.run(['p1,m2', 'p2,m2']);
    expect(out.result?.target).toBe('p1,m2');
    expect(out.attempts.map((a) => [a.target, a.reason])).toEqual([
      ['p2,m2', 'hedge_lost'],
      ['p1,m2', undefined],
    ]);
    expect(h.counters.get('hedges{outcome=won_primary}')).toBe(1);
    await fakes[1].waitFor((rs) => rs.some((r) => r.api === 'openai' && r.closedByClient), 2000);
  });

  it('no budget, no hedge: counted as budget_exhausted', async () => {
    h = await start(0);
    await warmUp(h, 'p1,m1', 6);
    fakes[0].configure({ firstByteDelayMs: 300 });
    // A warm-up request slower than its own p95 (a loaded box) may already have counted one.
    const before = h.counters.get('hedges{outcome=budget_exhausted}') ?? 0;
    const out = await h.run(['p1,m1', 'p2,m1']);
    expect(out.result?.target).toBe('p1,m1');
    expect(calls(fakes[1])).toBe(0);
    expect((h.counters.get('hedges{outcome=budget_exhausted}') ?? 0) - before).toBe(1);
  });
});

describe('adaptive timeouts', () => {
  let fakes: FakeProvider[];

  beforeAll(async () => {
    fakes = await startFakes(2);
  });
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
  });
  beforeEach(() => fakes.forEach((f) => f.reset()));

  it('total deadline follows the formula, capped by maxTimeout', async () => {
    const h = await startHarness({
      providers: [provider('p1', fakes[0].url)],
      config: {
        Failover: { timeout: 5000 },
        AdaptiveTimeout: {
          baseTimeout: 30_000,
          minTokensPerSecond: 20,
          maxTimeout: 100_000,
          modelMultipliers: { m2: 2 },
          firstByte: { k: 4, minMs: 1500, maxMs: 60_000, perInputTokenMs: 0 },
        },
      },
    });
    try {
      // base 30 s + first byte 5 s + 1,000 output tokens at 20 tokens/s (50 s).
      const input = { model: 'client', inputTokens: 1000, maxTokens: 1000 };
      expect(h.timeouts.totalMs({ ...input, target: 'p1,m1' })).toBe(85_000);
      expect(h.timeouts.totalMs({ ...input, target: 'p1,m2' })).toBe(100_000);
      expect(h.timeouts.totalMs({ ...input, target: 'p1,m1', maxTokens: 200 })).toBe(45_000);
      expect(h.timeouts.totalMs({ ...input, target: 'p1,m2', maxTokens: 200 })).toBe(90_000);
      // Non-stream answers have no separate first-byte deadline: their first event is the whole answer.
      expect(h.timeouts.plan({ ...input, target: 'p1,m1', stream: false }).firstByteMs).toBe(85_000);
    } finally {
      await h.close();
    }
  });

  it('without maxTimeout the total deadline is capped by API_TIMEOUT_MS', async () => {
    const h = await startHarness({
      providers: [provider('p1', fakes[0].url)],
      config: { API_TIMEOUT_MS: 120_000 },
    });
    try {
      // Claude Code's max_tokens 32,000 at 20 tokens/s would be 1,600 s: the cap decides.
      const input = { model: 'client', inputTokens: 50_000, maxTokens: 32_000 };
      expect(h.timeouts.totalMs({ ...input, target: 'p1,m1' })).toBe(120_000);
      // Below the cap: 30 s + 5.5 s first byte (5 s + 0.01 ms per input token) + 1,024 tokens at 20/s.
      expect(h.timeouts.totalMs({ ...input, target: 'p1,m1', maxTokens: 1024 })).toBe(
        Math.round(30_000 + 5000 + 50_000 * 0.01 + 1024 * 50),
      );
    } finally {
      await h.close();
    }
  });

  it('a learned first-byte deadline fails a hang over long before the configured default', async () => {
    const h = await startHarness({
      providers: [provider('p1', fakes[0].url), provider('p2', fakes[1].url)],
      config: {
        Failover: { timeout: 20_000 },
        AdaptiveTimeout: {
          minSamples: 5,
          firstByte: { k: 4, minMs: 300, maxMs: 60_000, perInputTokenMs: 0 },
        },
      },
    });
    try {
      expect(h.timeouts.firstByte('p1,m1')).toEqual({ ms: 20_000, source: 'default' });
      await warmUp(h, 'p1,m1', 6);
      const learned = h.timeouts.firstByte('p1,m1');
      expect(learned.source).toBe('learned');
      expect(learned.ms).toBeGreaterThanOrEqual(300);
      expect(learned.ms).toBeLessThan(2000);
      fakes[0].configure({ fault: { type: 'hang' } });
      const out = await h.run(['p1,m1', 'p2,m1']);
      expect(out.result?.target).toBe('p2,m1');
      expect(out.attempts[0]).toMatchObject({ reason: 'first_byte_timeout' });
      expect(out.ms).toBeLessThan(learned.ms + 2000);
      const p = h.timeouts.predictions().find((x) => x.target === 'p1,m1');
      expect(p?.ttfb.samples).toBe(6);
      expect(p?.idleGap.samples).toBe(6);
    } finally {
      await h.close();
    }
  });

  it('history is persisted to AdaptiveTimeout.historyPath and read back on start', async () => {
    const historyPath = join(mkdtempSync(join(tmpdir(), 'switchyard-history-')), 'timeouts.json');
    const config = { AdaptiveTimeout: { minSamples: 3, historyPath } };
    const first = await startHarness({ providers: [provider('p1', fakes[0].url)], config });
    await warmUp(first, 'p1,m1', 4);
    await first.close(); // flushes on shutdown
    const second = await startHarness({ providers: [provider('p1', fakes[0].url)], config });
    try {
      const p = second.timeouts.predictions().find((x) => x.target === 'p1,m1');
      expect(p).toMatchObject({ firstByteSource: 'learned', ttfb: { samples: 4 } });
    } finally {
      await second.close();
    }
  });
});
