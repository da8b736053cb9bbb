import type { FakeProvider } from '../fake-provider';
import { provider, startFakes, startHarness, type Harness } from './harness';

/**
 * docs/failover.md (adaptive timeouts): a provider that becomes slower than its learned first-byte deadline for
 * good is not cut forever — after a few timeouts in a row its learned deadline is raised.
 */
describe('a learned first-byte deadline that keeps cutting a slower provider', () => {
  let fakes: FakeProvider[];
  let h: Harness;

  beforeAll(async () => {
    fakes = await startFakes(1);
  });
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
  });
  afterEach(() => h.close());

  // The breaker stays out of it here: it would take the failing target away before the third timeout.
  const start = (): Promise<Harness> =>
    startHarness({
      providers: [provider('p1', fakes[0].url)],
      config: {
        AdaptiveTimeout: { minSamples: 5 },
        Failover: { breaker: { consecutiveFailures: 100, minRequests: 100 }, maxRetries: 0 },
      },
    });

  it('is doubled after three timeouts in a row, and the answer comes; fast first bytes bring it back', async () => {
    h = await start();
    for (let i = 0; i < 6; i++) {
      expect((await h.run(['p1,m1'])).result?.target).toBe('p1,m1');
    }
    expect(h.timeouts.firstByte('p1,m1')).toMatchObject({ source: 'learned', ms: 1500 });

    // The provider now takes 2.5 s to its first byte: past the learned 1.5 s, within the configured 5 s.
    fakes[0].configure({ firstByteDelayMs: 2500 });
    for (let i = 0; i < 3; i++) {
      const out = await h.run(['p1,m1']);
      expect(out.result).toBeUndefined();
      expect(out.attempts.map((a) => a.reason)).toEqual(['first_byte_timeout']);
    }
    expect(h.timeouts.firstByte('p1,m1')).toMatchObject({ source: 'learned', ms: 3000 });
    expect(h.logs.text).toContain('first-byte deadline cut every recent attempt: raised');
    // The history is kept: a hanging half-open probe is still given up at the fast slow-call threshold.
    expect(h.timeouts.slowCallMs('p1,m1')).toBeLessThan(1500);

    const after = await h.run(['p1,m1']);
    expect(after.result?.target).toBe('p1,m1');
    expect(after.events.some((e) => e.type === 'message_stop')).toBe(true);

    // The slow answer is now in the history (its p99 moved up), the raise still applies on top of it.
    const raised = h.timeouts.firstByte('p1,m1').ms;
    expect(raised).toBeGreaterThan(3000);
    // Fast again: a first byte the unraised deadline would have let through takes the raise back.
    fakes[0].configure({ firstByteDelayMs: 0 });
    expect((await h.run(['p1,m1'])).result?.target).toBe('p1,m1');
    expect(Math.abs(h.timeouts.firstByte('p1,m1').ms - raised / 2)).toBeLessThanOrEqual(1);
  });

  it('a first byte in between starts the count again (a provider only sometimes slow keeps its deadline)', async () => {
    h = await start();
    fakes[0].configure({ firstByteDelayMs: 0 });
    for (let i = 0; i < 6; i++) {
      await h.run(['p1,m2']);
    }
    for (const delay of [2500, 2500, 0, 2500, 2500]) {
      fakes[0].configure({ firstByteDelayMs: delay });
      await h.run(['p1,m2']);
    }
    expect(h.timeouts.firstByte('p1,m2')).toMatchObject({ source: 'learned', ms: 1500 });
  });
});
