import { SlaRing, SlaWindows, figures, type SlaSample } from './sla-window';

const ok = (latencyMs: number): SlaSample => ({ kind: 'ok', latencyMs });
const FAILED: SlaSample = { kind: 'failed' };
const EXCLUDED: SlaSample = { kind: 'excluded' };
const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('SLA windows', () => {
  it('availability leaves client errors and aborts out; burn rate is the failure ratio over 1 − target', () => {
    const w = new SlaWindows(500);
    for (let i = 0; i < 990; i++) {
      w.record(T0 + i, ok(100));
    }
    for (let i = 0; i < 10; i++) {
      w.record(T0 + i, FAILED);
    }
    for (let i = 0; i < 50; i++) {
      w.record(T0 + i, EXCLUDED);
    }
    const t = w.totals('5m', T0 + 1000);
    expect(t).toMatchObject({ total: 1000, failed: 10, excluded: 50, slow: 0 });
    const f = figures(t, 0.999);
    expect(f.availability).toBeCloseTo(0.99, 10);
    expect(f.burnRate).toBeCloseTo(10, 10); // 1 % failing against a 0.1 % budget
    expect(f.latencyBurnRate).toBe(0);
  });

  it('percentiles of successful answers only, within the sketch error', () => {
    const w = new SlaWindows(500);
    for (let ms = 1; ms <= 1000; ms++) {
      w.record(T0, ok(ms));
      w.record(T0, FAILED); // failures have no latency: they must not drag the percentiles
    }
    const f = figures(w.totals('1h', T0), 0.999);
    const near = (v: number | null, expected: number): void =>
      expect(Math.abs((v as number) - expected) / expected).toBeLessThanOrEqual(0.05);
    near(f.p50, 500);
    near(f.p95, 950);
    near(f.p99, 990);
  });

  it('latency budget: answers slower than the p95 target over the allowed 5 %', () => {
    const w = new SlaWindows(500);
    for (let i = 0; i < 100; i++) {
      w.record(T0, ok(i < 90 ? 200 : 800));
    }
    const t = w.totals('5m', T0);
    expect(t.slow).toBe(10);
    expect(figures(t, 0.999).latencyBurnRate).toBeCloseTo(2, 10);
  });

  it('no traffic: every figure is null, nothing is divided by zero', () => {
    const f = figures(new SlaWindows(500).totals('24h', T0), 0.999);
    expect(f).toEqual({
      availability: null,
      p50: null,
      p95: null,
      p99: null,
      burnRate: null,
      latencyBurnRate: null,
    });
    const onlyFailures = new SlaWindows(500);
    onlyFailures.record(T0, FAILED);
    const f2 = figures(onlyFailures.totals('5m', T0), 0.999);
    expect(f2).toMatchObject({ availability: 0, p95: null });
    expect(f2.burnRate).toBeCloseTo(1000, 6);
  });

  it('each window forgets what is older than itself', () => {
    const w = new SlaWindows(500);
    w.record(T0, FAILED);
    expect(w.totals('5m', T0 + 4 * MIN).total).toBe(1);
    expect(w.totals('5m', T0 + 6 * MIN).total).toBe(0);
    expect(w.totals('1h', T0 + 6 * MIN).total).toBe(1);
    expect(w.totals('1h', T0 + 61 * MIN).total).toBe(0);
    expect(w.totals('24h', T0 + 2 * HOUR).total).toBe(1);
    expect(w.totals('24h', T0 + 25 * HOUR).total).toBe(0);
  });

  it('a window spans between its length minus one bucket and its length, never more', () => {
    const ring = new SlaRing(10_000, 31);
    const start = Math.floor(T0 / 10_000) * 10_000; // a bucket boundary
    ring.add(start, FAILED, 500);
    expect(ring.sum(start + 5 * MIN - 1, 5 * MIN).total).toBe(1);
    expect(ring.sum(start + 5 * MIN, 5 * MIN).total).toBe(0);
    ring.add(start + 9_999, FAILED, 500); // same bucket
    expect(ring.sum(start + 4 * MIN + 55_000, 5 * MIN).total).toBe(2);
  });

  it('memory is fixed: days of traffic reuse the same buckets, and old days are not counted', () => {
    const w = new SlaWindows(500);
    const ring = (w as unknown as { fine: SlaRing; coarse: SlaRing }).fine;
    const buckets = (ring as unknown as { buckets: unknown[] }).buckets;
    const size = buckets.length;
    // One request every 7 s for three days.
    let n = 0;
    for (let t = T0; t < T0 + 72 * HOUR; t += 7_000) {
      w.record(t, ok(50));
      n++;
    }
    expect(buckets.length).toBe(size);
    const end = T0 + 72 * HOUR;
    const day = w.totals('24h', end);
    expect(n).toBeGreaterThan(3 * day.total - 20);
    expect(day.total).toBeGreaterThan((24 * 3600) / 7 - (5 * 60) / 7 - 2);
    expect(day.total).toBeLessThanOrEqual(Math.ceil((24 * 3600) / 7) + 1);
    expect(w.totals('1h', end).total).toBeGreaterThan(3600 / 7 - 10 / 7 - 2);
    expect(w.totals('1h', end).total).toBeLessThanOrEqual(Math.ceil(3600 / 7) + 1);
  });
});
