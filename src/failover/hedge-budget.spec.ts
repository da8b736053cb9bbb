import { HedgeBudget } from './hedge-budget';

describe('HedgeBudget', () => {
  it('allows hedges up to the percentage of requests in the window', () => {
    const b = new HedgeBudget(60_000);
    const t = 1_000_000;
    for (let i = 0; i < 40; i++) {
      b.noteRequest(t);
    }
    expect(b.tryAcquire(t, 5)).toBe(true);
    expect(b.tryAcquire(t, 5)).toBe(true);
    expect(b.tryAcquire(t, 5)).toBe(false); // 3 > 5% of 40
    expect(b.totals(t)).toEqual({ requests: 40, hedges: 2 });
  });

  it('frees the budget as the window rolls on', () => {
    const b = new HedgeBudget(60_000);
    const t = 2_000_000;
    b.noteRequest(t);
    expect(b.tryAcquire(t, 100)).toBe(true);
    expect(b.tryAcquire(t, 100)).toBe(false);
    b.noteRequest(t + 61_000);
    expect(b.totals(t + 61_000)).toEqual({ requests: 1, hedges: 0 });
    expect(b.tryAcquire(t + 61_000, 100)).toBe(true);
  });

  it('a zero budget never hedges', () => {
    const b = new HedgeBudget(1000);
    b.noteRequest(1);
    expect(b.tryAcquire(1, 0)).toBe(false);
  });
});
