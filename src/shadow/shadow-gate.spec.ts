import { loadDropReason, skippedDropReason, targetDropReason } from './shadow-gate';

describe('shadow gates', () => {
  const limits = { maxConcurrent: 2, maxLagMs: 100 };
  const idle = { inFlight: 0, lagMs: 0, interactiveWaiting: 0 };

  it.each([
    [{ ...idle }, undefined],
    [{ ...idle, inFlight: 1 }, undefined],
    [{ ...idle, inFlight: 2 }, 'concurrency'],
    [{ ...idle, lagMs: 100 }, undefined],
    [{ ...idle, lagMs: 101 }, 'event_loop_lag'],
    [{ ...idle, interactiveWaiting: 1 }, 'queue_waiting'],
    [{ inFlight: 5, lagMs: 500, interactiveWaiting: 3 }, 'concurrency'],
  ])('load %j → %s', (load, reason) => {
    expect(loadDropReason(load, limits)).toBe(reason);
  });

  it.each([
    [{ state: 'closed' as const, cooldownUntil: null }, undefined],
    [{ state: 'open' as const, cooldownUntil: null }, 'circuit_open'],
    [{ state: 'half_open' as const, cooldownUntil: null }, 'circuit_open'],
    [{ state: 'closed' as const, cooldownUntil: Date.now() + 1000 }, 'circuit_open'],
  ])('target %j → %s', (view, reason) => {
    expect(targetDropReason(view)).toBe(reason);
  });

  it('a copy refused before any upstream call is a drop, one that called upstream is not', () => {
    expect(skippedDropReason(undefined)).toBeUndefined();
    expect(skippedDropReason([])).toBeUndefined();
    expect(skippedDropReason([{ outcome: 'skipped', reason: 'saturated' }])).toBe('saturated');
    expect(skippedDropReason([{ outcome: 'skipped', reason: 'rate_limited' }])).toBe('saturated');
    expect(skippedDropReason([{ outcome: 'skipped', reason: 'cooldown' }])).toBe('circuit_open');
    expect(skippedDropReason([{ outcome: 'skipped', reason: 'circuit_open' }])).toBe('circuit_open');
    expect(skippedDropReason([{ outcome: 'failed', reason: 'status_5xx' }])).toBeUndefined();
  });
});
