import type { FakeProvider } from '../fake-provider';
import { provider, startFakes, startHarness, type Harness } from './harness';

/**
 * docs/failover.md (adaptive timeouts): a provider that becomes slower than its learned first-byte deadline for
 * good is not cut forever — after a few timeouts in a row its learned timings are forgotten.
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

  it('is forgotten after three timeouts in a row: the configured deadline applies and the answer comes', async () => {
    h = await startHarness({
      providers: [provider('p1', fakes[0].url)],
      // The breaker stays out of it here: it would take the failing target away before the third timeout.
      config: {
        AdaptiveTimeout: { minSamples: 5 },
        Failover: { breaker: { consecutiveFailures: 100, minRequests: 100 }, maxRetries: 0 },
      },
    });
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
    expect(h.timeouts.firstByte('p1,m1')).toMatchObject({ source: 'default', ms: 5000 });
    expect(h.logs.text).toContain('its learned timings are forgotten');

    const after = await h.run(['p1,m1']);
    expect(after.result?.target).toBe('p1,m1');
    expect(after.events.some((e) => e.type === 'message_stop')).toBe(true);
  });

  it('a first byte in between starts the count again (a provider only sometimes slow keeps its deadline)', async () => {
    h = await startHarness({
      providers: [provider('p1', fakes[0].url)],
      config: {
        AdaptiveTimeout: { minSamples: 5 },
        Failover: { breaker: { consecutiveFailures: 100, minRequests: 100 }, maxRetries: 0 },
      },
    });
    fakes[0].configure({ firstByteDelayMs: 0 });
    for (let i = 0; i < 6; i++) {
      await h.run(['p1,m2']);
    }
    for (const delay of [2500, 2500, 0, 2500, 2500]) {
      fakes[0].configure({ firstByteDelayMs: delay });
      await h.run(['p1,m2']);
    }
    expect(h.timeouts.firstByte('p1,m2').source).toBe('learned');
  });
});
