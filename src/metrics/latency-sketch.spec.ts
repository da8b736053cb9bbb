import { SKETCH_BINS, binOf, binValue, newSketch, quantile } from './latency-sketch';

describe('latency sketch', () => {
  it('reports any latency from 1 ms to an hour within 5 % of itself', () => {
    for (let ms = 1; ms < 3_600_000; ms *= 1.37) {
      const reported = binValue(binOf(ms));
      expect(Math.abs(reported - ms) / ms).toBeLessThanOrEqual(0.05);
    }
  });

  it('bins are monotonic; sub-millisecond values share bin 0; the last bin takes everything above', () => {
    expect(binOf(0)).toBe(0);
    expect(binOf(0.4)).toBe(0);
    expect(binOf(1)).toBe(0);
    let previous = 0;
    for (let ms = 1; ms < 1e7; ms += ms / 7) {
      expect(binOf(ms)).toBeGreaterThanOrEqual(previous);
      previous = binOf(ms);
    }
    expect(binOf(1e12)).toBe(SKETCH_BINS - 1);
    expect(binOf(Number.NaN)).toBe(0);
  });

  it('nearest-rank quantiles; null when empty', () => {
    const bins = newSketch();
    expect(quantile(bins, 0, 0.5)).toBeNull();
    for (let ms = 1; ms <= 100; ms++) {
      bins[binOf(ms * 10)]++;
    }
    const near = (q: number, expected: number): void => {
      const v = quantile(bins, 100, q) as number;
      expect(Math.abs(v - expected) / expected).toBeLessThanOrEqual(0.05);
    };
    near(0.5, 500);
    near(0.95, 950);
    near(0.99, 990);
    near(1, 1000);
  });
});
