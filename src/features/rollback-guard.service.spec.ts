import { RequestOutcomeService, type RequestOutcome } from '../common/request-outcome';
import { FEATURE_NAMES, type FeatureName, type FeatureSet } from './feature-set';
import { FeaturesService } from './features.service';
import { fakeConfig, quietLogger, testConfig } from './features.test-helpers';
import { MAX_GUARD_ACTIONS, RollbackGuardService } from './rollback-guard.service';

const GUARD = {
  enabled: false, // the specs call check() themselves
  windowMs: 10_000,
  checkIntervalMs: 100,
  minRequests: 10,
  errorRate: 0.1,
  p95Multiplier: 2,
  memoryRatio: 0.9,
  cacheHitRateMin: 0,
  recentChangeMs: 60_000,
};
const T0 = 1_800_000_000_000;

const without = (...off: FeatureName[]): FeatureSet =>
  Object.fromEntries(FEATURE_NAMES.map((n) => [n, !off.includes(n)])) as FeatureSet;

const outcome = (o: Partial<RequestOutcome> = {}): RequestOutcome => ({
  startedAt: 0,
  requestId: 'r',
  route: 'messages',
  status: 200,
  stream: true,
  attempts: 1,
  failovers: 0,
  durationMs: 200,
  ttfbMs: 100,
  ...o,
});
const failure = (o: Partial<RequestOutcome> = {}): RequestOutcome =>
  outcome({ status: 502, errorType: 'api_error', errorSource: 'upstream', ...o });

function setup(features: Record<string, unknown> = {}, guard: Partial<typeof GUARD> = {}) {
  const config = fakeConfig(testConfig({ Features: { ...features, guard: { ...GUARD, ...guard } } }));
  const log = quietLogger();
  const flags = new FeaturesService(config.service, quietLogger().logger);
  const outcomes = new RequestOutcomeService();
  const guardService = new RollbackGuardService(config.service, outcomes, flags, log.logger);
  guardService.useMemoryReader(() => 1);
  return { config, log, flags, outcomes, guard: guardService };
}

const feed = (g: RollbackGuardService, n: number, make: () => RequestOutcome, at: number): void => {
  for (let i = 0; i < n; i++) {
    g.record(make(), at);
  }
};

describe('RollbackGuardService', () => {
  it('turns off the feature changed just before the errors began, logs it, counts it, starts a fresh window', () => {
    const { guard, flags, log } = setup({ dedup: { enabled: true, rollout: 50 } });
    flags.update({ dedup: { rollout: 100 } }, 'operator', T0);
    feed(guard, 20, () => failure(), T0 + 1000);
    guard.check(T0 + 2000);
    expect(flags.view().dedup).toMatchObject({
      state: 'tripped',
      trippedBy: { trigger: 'error_rate', value: 1, threshold: 0.1 },
    });
    expect(flags.decide('x').dedup).toBe(false);
    expect(FEATURE_NAMES.filter((n) => flags.view()[n].state === 'tripped')).toEqual(['dedup']);
    expect(log.warns).toContainEqual({
      fields: { feature: 'dedup', trigger: 'error_rate', value: 1, threshold: 0.1, why: 'recent_change' },
      msg: 'feature rolled back by the guard',
    });
    expect(guard.rollbacks()).toEqual([{ feature: 'dedup', trigger: 'error_rate', n: 1 }]);
    const view = guard.view(T0 + 2000);
    expect(view.window.requests).toBe(0);
    expect(view.actions[0]).toMatchObject({
      trigger: 'error_rate',
      action: 'rolled_back',
      features: [{ feature: 'dedup', why: 'recent_change' }],
    });
  });

  it('blames nobody during an outage with everything at 100 %: logs and counts once per episode', () => {
    const { guard, flags, log } = setup();
    feed(guard, 20, () => failure(), T0);
    guard.check(T0 + 100);
    guard.check(T0 + 200);
    expect(FEATURE_NAMES.every((n) => flags.view()[n].state === 'on')).toBe(true);
    const unattributed = log.warns.filter((w) =>
      w.msg?.startsWith('guard trigger fired, no feature implicated'),
    );
    expect(unattributed).toHaveLength(1);
    expect(unattributed[0].fields).toMatchObject({ trigger: 'error_rate', value: 1, threshold: 0.1 });
    expect(guard.unattributedEpisodes()).toEqual([['error_rate', 1]]);
    expect(guard.view(T0 + 200)).toMatchObject({
      firing: ['error_rate'],
      actions: [{ trigger: 'error_rate', action: 'none_implicated', features: [] }],
    });
    // The window moves past the outage: the episode ends; the next outage is a new one.
    guard.check(T0 + 20_000);
    feed(guard, 20, () => failure(), T0 + 21_000);
    guard.check(T0 + 21_100);
    expect(guard.unattributedEpisodes()).toEqual([['error_rate', 2]]);
  });

  it('hears finished requests from RequestOutcomeService, with their feature sets (cohorts)', () => {
    const { guard, flags, outcomes } = setup({ compression: { enabled: true, rollout: 50 } });
    guard.onModuleInit();
    try {
      for (let i = 0; i < 15; i++) {
        outcomes.emit(failure()); // compression on: failing
        outcomes.emit(outcome({ features: without('compression') })); // compression off: fine
      }
      guard.check();
      expect(flags.view().compression).toMatchObject({ state: 'tripped' });
      expect(guard.view().actions[0].features).toEqual([{ feature: 'compression', why: 'cohort' }]);
    } finally {
      guard.onApplicationShutdown();
    }
  });

  it('learns the p95 baseline from healthy windows and trips on a latency regression after a change', () => {
    const { guard, flags } = setup({ hedge: { enabled: false, rollout: 100 } });
    feed(guard, 20, () => outcome({ ttfbMs: 100 }), T0);
    guard.check(T0 + 100);
    expect(guard.view(T0 + 100).window.baselineP95Ms).toBe(100);
    flags.update({ hedge: { enabled: true } }, 'operator', T0 + 200);
    feed(guard, 5, () => outcome({ ttfbMs: 900 }), T0 + 300);
    guard.check(T0 + 400);
    expect(flags.view().hedge).toMatchObject({
      state: 'tripped',
      trippedBy: { trigger: 'p95', value: 900, threshold: 200 },
    });
    // A regression is not learned as the new normal.
    expect(guard.view(T0 + 400).window.baselineP95Ms).toBe(100);
  });

  it('memory over the ratio trips the cache, dedup or queue change that came just before', () => {
    const { guard, flags, config } = setup({ queue: { enabled: false, rollout: 100 } });
    const limit = config.current().Metrics.memoryLimitBytes;
    expect(limit).toBeNull(); // the guard reads the cgroup or the machine's RAM then
    const bytes = guard.view().window.memory.limitBytes;
    guard.useMemoryReader(() => bytes * 0.95);
    flags.update({ queue: { enabled: true } }, 'operator', T0);
    guard.check(T0 + 10);
    expect(flags.view().queue).toMatchObject({ state: 'tripped', trippedBy: { trigger: 'memory' } });
    // limit × 0.95 / limit is 0.95 only up to rounding, depending on the machine's memory size
    expect(flags.view().queue.trippedBy?.value).toBeCloseTo(0.95, 9);
    expect(flags.view().cache.state).toBe('on');
  });

  it('keeps the last actions only', () => {
    const { guard } = setup({}, { windowMs: 10 });
    for (let i = 0; i < MAX_GUARD_ACTIONS + 20; i++) {
      const at = T0 + i * 1000;
      feed(guard, 10, () => failure(), at);
      guard.check(at + 1);
      guard.check(at + 500); // the window is empty again: the episode ends
    }
    expect(guard.view(T0).actions).toHaveLength(MAX_GUARD_ACTIONS);
  });

  it('checks by itself every checkIntervalMs while enabled, and stops on shutdown', () => {
    jest.useFakeTimers();
    const { guard, flags } = setup({ cache: { enabled: false, rollout: 100 } }, { enabled: true });
    try {
      guard.onModuleInit();
      flags.update({ cache: { enabled: true } }, 'operator');
      feed(guard, 20, () => failure(), Date.now());
      jest.advanceTimersByTime(GUARD.checkIntervalMs + 1);
      expect(flags.view().cache.state).toBe('tripped');
      guard.onApplicationShutdown();
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
