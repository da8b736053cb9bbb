import { exposeGc, gcDue, type IdleGcState } from './idle-gc';

const MB = 1024 * 1024;
const fresh = (): IdleGcState => ({ baseline: 80 * MB, idleChecks: 0, lastGcAt: 0 });

describe('idle collection after a burst', () => {
  it('collects only after two idle checks in a row with the heap well above the live set', () => {
    const s = fresh();
    expect(gcDue(s, 0.9, 300 * MB, 60_000, 64 * MB)).toBe(false); // busy
    expect(gcDue(s, 0.01, 300 * MB, 61_000, 64 * MB)).toBe(false); // idle once
    expect(gcDue(s, 0.01, 300 * MB, 62_000, 64 * MB)).toBe(true); // idle twice
  });

  it('never while busy, never for a small growth, never twice within 10 s', () => {
    const busy = fresh();
    for (let t = 0; t < 10; t++) {
      expect(gcDue(busy, 0.5, 500 * MB, 60_000 + t * 1000, 64 * MB)).toBe(false);
    }
    const small = fresh();
    gcDue(small, 0, 100 * MB, 60_000, 64 * MB);
    expect(gcDue(small, 0, 100 * MB, 61_000, 64 * MB)).toBe(false);
    const recent = { ...fresh(), lastGcAt: 55_000 };
    gcDue(recent, 0, 300 * MB, 60_000, 64 * MB);
    expect(gcDue(recent, 0, 300 * MB, 61_000, 64 * MB)).toBe(false);
  });

  it('a lower heap (V8 collected by itself) becomes the new live set', () => {
    const s = fresh();
    gcDue(s, 0.5, 60 * MB, 60_000, 64 * MB);
    expect(s.baseline).toBe(60 * MB);
  });

  it('gets a working gc() without --expose-gc on the command line', () => {
    const gc = exposeGc();
    expect(typeof gc).toBe('function');
    expect(() => gc?.()).not.toThrow();
  });
});
