import { ShadowStats } from './shadow-stats';
import type { ShadowComparison, ShadowSide } from './shadow.types';

const side = (over: Partial<ShadowSide> = {}): ShadowSide => ({ outcome: 'ok', status: 200, ...over });

function comparison(
  i: number,
  over: Partial<ShadowComparison['diff']> = {},
  shadow?: Partial<ShadowSide>,
): ShadowComparison {
  return {
    requestId: `r${i}`,
    at: new Date(0).toISOString(),
    variant: { features: {} },
    primary: side(),
    shadow: side(shadow),
    diff: {
      ttfbMs: i,
      durationMs: i * 10,
      outputTokens: 1,
      sameOutcome: true,
      sameStopReason: true,
      sameText: true,
      ...over,
    },
  };
}

describe('ShadowStats', () => {
  it('keeps at most `keep` comparisons, newest first', () => {
    const stats = new ShadowStats();
    for (let i = 1; i <= 50; i++) {
      stats.add(comparison(i), 10);
    }
    const recent = stats.comparisons();
    expect(recent).toHaveLength(10);
    expect(recent[0].requestId).toBe('r50');
    expect(recent[9].requestId).toBe('r41');
    expect(stats.comparisons(3).map((c) => c.requestId)).toEqual(['r50', 'r49', 'r48']);
    expect(stats.comparisons(0)).toEqual([]);
    // A smaller keep after a reload trims at the next add.
    stats.add(comparison(51), 4);
    expect(stats.comparisons()).toHaveLength(4);
  });

  it('aggregates latency and token differences where both sides answered, and mismatch rates', () => {
    const stats = new ShadowStats();
    stats.add(comparison(1), 100);
    stats.add(comparison(2), 100);
    stats.add(comparison(3, { sameText: false, sameStopReason: false }), 100);
    stats.add(comparison(4, { sameOutcome: false, ttfbMs: 999 }, { outcome: 'error', status: 502 }), 100);
    const a = stats.aggregates();
    expect(a.comparisons).toBe(4);
    expect(a.ttfbDiffMs).toEqual({ n: 3, mean: 2, p50: 2, p95: 3 });
    expect(a.durationDiffMs).toMatchObject({ n: 3, mean: 20 });
    expect(a.outputTokenDiff).toMatchObject({ n: 3, mean: 1 });
    expect(a.outcomeMismatchRate).toBe(0.25);
    expect(a.textMismatchRate).toBeCloseTo(1 / 3, 3);
    expect(a.stopReasonMismatchRate).toBeCloseTo(1 / 3, 3);
  });

  it('empty aggregates are nulls, not zeros', () => {
    expect(new ShadowStats().aggregates()).toEqual({
      comparisons: 0,
      ttfbDiffMs: { n: 0, mean: null, p50: null, p95: null },
      durationDiffMs: { n: 0, mean: null, p50: null, p95: null },
      outputTokenDiff: { n: 0, mean: null, p50: null, p95: null },
      outcomeMismatchRate: null,
      stopReasonMismatchRate: null,
      textMismatchRate: null,
    });
  });

  it('counts and resets', () => {
    const stats = new ShadowStats();
    stats.sampled();
    stats.sampled();
    stats.dropped('concurrency');
    stats.ended('completed');
    stats.ended('timed_out');
    stats.ended('failed');
    stats.unmatched();
    stats.add(comparison(1), 10);
    expect(stats.snapshot()).toMatchObject({
      sampled: 2,
      mirrored: 3,
      completed: 1,
      failed: 1,
      timedOut: 1,
      unmatched: 1,
      dropped: expect.objectContaining({ concurrency: 1, event_loop_lag: 0 }),
    });
    stats.reset();
    expect(stats.snapshot()).toMatchObject({
      sampled: 0,
      mirrored: 0,
      dropped: expect.objectContaining({ concurrency: 0 }),
    });
    expect(stats.comparisons()).toEqual([]);
  });
});
