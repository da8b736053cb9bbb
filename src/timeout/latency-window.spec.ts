import { LatencyWindow } from './latency-window';

describe('LatencyWindow', () => {
  it('keeps only the newest samples (the cap holds)', () => {
    const w = new LatencyWindow(100);
    for (let i = 1; i <= 1000; i++) {
      w.add(i);
    }
    expect(w.size).toBe(100);
    expect(w.values()[0]).toBe(901);
    expect(w.values()[99]).toBe(1000);
  });

  it('nearest-rank percentiles', () => {
    const w = new LatencyWindow(1000);
    for (let i = 1; i <= 100; i++) {
      w.add(i);
    }
    expect(w.summary()).toEqual({ samples: 100, p50: 50, p95: 95, p99: 99 });
    expect(new LatencyWindow(5).percentile(99)).toBeNull();
  });

  it('load keeps order and the cap; bad samples are ignored', () => {
    const w = new LatencyWindow(3);
    w.load([1, 2, 3, 4, 5]);
    expect(w.values()).toEqual([3, 4, 5]);
    w.add(Number.NaN);
    w.add(-1);
    expect(w.size).toBe(3);
  });

  it('percentiles stay those of the window while samples are evicted (against a plain sort)', () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const w = new LatencyWindow(50);
    for (let i = 0; i < 2000; i++) {
      w.add(random() < 0.2 ? 400 : Math.floor(random() * 1000) + 0.4);
      const sorted = [...w.values()].sort((a, b) => a - b);
      for (const p of [1, 50, 95, 99, 100]) {
        expect(w.percentile(p)).toBe(
          sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)],
        );
      }
    }
  });
});
