import { CircuitBreaker, type BreakerSettings } from './circuit-breaker';

const settings: BreakerSettings = {
  errorRatio: 0.5,
  minRequests: 5,
  windowMs: 30_000,
  consecutiveFailures: 5,
  openMs: 1000,
  maxOpenMs: 4000,
};

describe('CircuitBreaker', () => {
  it('opens on the error ratio once the window holds the minimum count', () => {
    const b = new CircuitBreaker(settings);
    const t = 1_000_000;
    b.onSuccess(t, false);
    b.onFailure(t, false);
    b.onSuccess(t, false);
    expect(b.onFailure(t, false)).toBeUndefined(); // 2/4: below the minimum count
    expect(b.onFailure(t, false)).toBe('opened'); // 3/5 ≥ 50%
    expect(b.state(t)).toBe('open');
    expect(b.admit(t)).toEqual({ admitted: false, until: t + 1000, reason: 'circuit_open' });
  });

  it('forgets failures that left the rolling window', () => {
    const b = new CircuitBreaker({ ...settings, consecutiveFailures: 100 });
    const t = 1_000_000;
    for (let i = 0; i < 4; i++) {
      b.onFailure(t, false);
    }
    for (let i = 0; i < 4; i++) {
      b.onSuccess(t + 40_000, false);
    }
    expect(b.onFailure(t + 40_000, false)).toBeUndefined(); // 1/5 in the window
    expect(b.counts(t + 40_000)).toMatchObject({ requests: 5, failures: 1 });
  });

  it('opens on consecutive failures whatever the ratio', () => {
    const b = new CircuitBreaker({ ...settings, consecutiveFailures: 3, minRequests: 1000 });
    const t = 5_000_000;
    b.onFailure(t, false);
    b.onFailure(t, false);
    expect(b.onFailure(t, false)).toBe('opened');
  });

  it('half-open admits exactly one probe; success closes, failure doubles the open time up to the cap', () => {
    const b = new CircuitBreaker({ ...settings, consecutiveFailures: 1 });
    let t = 10_000_000;
    b.onFailure(t, false);
    expect(b.openUntil).toBe(t + 1000);
    t += 1000;
    expect(b.state(t)).toBe('half_open');
    expect(b.admit(t)).toEqual({ admitted: true, probe: true });
    expect(b.admit(t)).toMatchObject({ admitted: false, reason: 'half_open_busy' });
    expect(b.onFailure(t, true)).toBe('opened');
    expect(b.openUntil - t).toBe(2000);
    t = b.openUntil;
    b.admit(t);
    b.onFailure(t, true);
    expect(b.openUntil - t).toBe(4000);
    t = b.openUntil;
    b.admit(t);
    b.onFailure(t, true);
    expect(b.openUntil - t).toBe(4000); // capped
    t = b.openUntil;
    expect(b.admit(t)).toEqual({ admitted: true, probe: true });
    expect(b.onSuccess(t, true)).toBe('closed');
    expect(b.state(t)).toBe('closed');
    expect(b.snapshot().level).toBe(0);
  });

  it('a released probe frees the half-open slot', () => {
    const b = new CircuitBreaker({ ...settings, consecutiveFailures: 1 });
    const t = 20_000_000;
    b.onFailure(t, false);
    b.admit(t + 1000);
    b.releaseProbe();
    expect(b.admit(t + 1000)).toEqual({ admitted: true, probe: true });
  });

  it('adopts only newer shared transitions', () => {
    const b = new CircuitBreaker(settings);
    expect(b.adopt({ openUntil: 5000, level: 1, changedAt: 100 })).toBe(true);
    expect(b.state(1000)).toBe('open');
    expect(b.adopt({ openUntil: 0, level: 0, changedAt: 50 })).toBe(false);
    expect(b.adopt({ openUntil: 0, level: 0, changedAt: 200 })).toBe(true);
    expect(b.state(1000)).toBe('closed');
  });

  describe('slow-call trip', () => {
    it('opens when enough attempts wait past the threshold with no first byte from the target', () => {
      const b = new CircuitBreaker(settings);
      const t = 1_000_000;
      for (let i = 0; i < 5; i++) {
        b.attemptStarted(t + i * 5); // 200 req/s into a hanging provider
      }
      expect(b.tripIfSlow(t + 200, 250, 5)).toBeUndefined(); // none has waited 250 ms yet
      expect(b.oldestWaitMs(t + 200)).toBe(200);
      expect(b.slowCalls(t + 252, 250)).toBe(1);
      expect(b.tripIfSlow(t + 252, 250, 5)).toBeUndefined();
      expect(b.tripIfSlow(t + 270, 250, 5)).toBe('opened');
      expect(b.state(t + 270)).toBe('open');
    });

    it('stays closed while the target still answers some of them', () => {
      const b = new CircuitBreaker(settings);
      const t = 1_000_000;
      for (let i = 0; i < 6; i++) {
        b.attemptStarted(t);
      }
      const quick = b.attemptStarted(t + 100);
      b.attemptSettled(quick, true, t + 150); // a first byte 150 ms ago: the provider is slow, not hung
      expect(b.tripIfSlow(t + 300, 250, 5)).toBeUndefined();
      expect(b.tripIfSlow(t + 401, 250, 5)).toBe('opened'); // nothing for 250 ms since
    });

    it('counts only attempts still waiting', () => {
      const b = new CircuitBreaker(settings);
      const t = 1_000_000;
      const tokens = [0, 1, 2, 3, 4].map(() => b.attemptStarted(t));
      b.attemptSettled(tokens[0], false, t + 100); // failed fast: the error path counts it, not this one
      expect(b.slowCalls(t + 300, 250)).toBe(4);
      expect(b.tripIfSlow(t + 300, 250, 5)).toBeUndefined();
    });
  });
});
