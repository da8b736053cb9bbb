import type { RequestOutcome } from '../common/request-outcome';
import { ALL_FEATURES_ON, FEATURE_NAMES, type FeatureName, type FeatureSet } from './feature-set';
import {
  GuardWindow,
  evaluateGuard,
  featureBits,
  hasFeature,
  sampleOf,
  statsOf,
  type FlagFacts,
  type GuardInput,
  type GuardSample,
  type GuardSettings,
} from './guard-window';

const SETTINGS: GuardSettings = {
  enabled: true,
  windowMs: 60_000,
  checkIntervalMs: 1000,
  minRequests: 20,
  errorRate: 0.05,
  p95Multiplier: 2,
  memoryRatio: 0.9,
  cacheHitRateMin: 0.2,
  recentChangeMs: 600_000,
};
const NOW = 1_000_000_000;

const allActive = (over: Partial<Record<FeatureName, FlagFacts>> = {}): Record<FeatureName, FlagFacts> =>
  Object.fromEntries(FEATURE_NAMES.map((n) => [n, { active: true, ...over[n] }])) as Record<
    FeatureName,
    FlagFacts
  >;

const without = (...off: FeatureName[]): FeatureSet =>
  Object.fromEntries(FEATURE_NAMES.map((n) => [n, !off.includes(n)])) as FeatureSet;

const ok = (latencyMs = 100, features?: FeatureSet, cache?: 'hit' | 'miss'): GuardSample => ({
  at: NOW - 1000,
  on: featureBits(features),
  counted: true,
  failed: false,
  latencyMs,
  cache,
});
const failed = (features?: FeatureSet): GuardSample => ({
  at: NOW - 1000,
  on: featureBits(features),
  counted: true,
  failed: true,
});
const clientError = (): GuardSample => ({
  at: NOW - 1000,
  on: featureBits(undefined),
  counted: false,
  failed: false,
});

const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

const input = (samples: GuardSample[], over: Partial<GuardInput> = {}): GuardInput => ({
  samples,
  settings: SETTINGS,
  memory: { rssBytes: 100, limitBytes: 1000 },
  flags: allActive(),
  now: NOW,
  ...over,
});

describe('guard samples', () => {
  const outcome = (o: Partial<RequestOutcome>): RequestOutcome => ({
    startedAt: 0,
    requestId: 'r',
    route: 'messages',
    status: 200,
    stream: true,
    attempts: 1,
    failovers: 0,
    durationMs: 300,
    ttfbMs: 120,
    ...o,
  });

  it('a success counts with its TTFB; client errors are left out of the error rate; failures count', () => {
    expect(sampleOf(outcome({ cache: 'MISS' }), 5)).toMatchObject({
      counted: true,
      failed: false,
      latencyMs: 120,
      cache: 'miss',
    });
    expect(
      sampleOf(outcome({ status: 400, errorType: 'invalid_request_error', errorSource: 'client' }), 5),
    ).toMatchObject({ counted: false, failed: false, latencyMs: undefined });
    expect(
      sampleOf(outcome({ status: 502, errorType: 'api_error', errorSource: 'upstream' }), 5),
    ).toMatchObject({
      counted: true,
      failed: true,
      latencyMs: undefined,
    });
    // A stream that started, then broke upstream: a failure, and no latency sample.
    expect(sampleOf(outcome({ errorType: 'overloaded_error', errorSource: 'upstream' }), 5)).toMatchObject({
      failed: true,
      latencyMs: undefined,
    });
    expect(sampleOf(outcome({ cache: 'BYPASS' }), 5).cache).toBeUndefined();
  });

  it('carries the request feature set as bits (absent = all on)', () => {
    const s = sampleOf({ ...outcome({}), features: without('hedge', 'cache') }, 1);
    expect(hasFeature(s.on, 'hedge')).toBe(false);
    expect(hasFeature(s.on, 'cache')).toBe(false);
    expect(hasFeature(s.on, 'dedup')).toBe(true);
    expect(featureBits(undefined)).toBe(featureBits(ALL_FEATURES_ON));
  });

  it('the window is bounded and drops what is older than windowMs', () => {
    const w = new GuardWindow(100);
    for (let i = 0; i < 5000; i++) {
      w.add({ ...ok(), at: i });
    }
    expect(w.size).toBe(100);
    expect(w.samples()[0].at).toBe(4900);
    w.prune(5000, 50);
    expect(w.size).toBe(50);
    expect(w.samples()[0].at).toBe(4950);
    w.clear();
    expect(w.size).toBe(0);
  });

  it('stats: error rate over counted requests, nearest-rank p95, hit rate over lookups', () => {
    const s = statsOf([
      ...times(19, (i) => ok(i + 1, undefined, 'miss')),
      ok(1000, undefined, 'hit'),
      failed(),
      clientError(),
    ]);
    expect(s).toMatchObject({ requests: 22, counted: 21, failures: 1, latencySamples: 20, cacheLookups: 20 });
    expect(s.errorRate).toBeCloseTo(1 / 21);
    expect(s.p95Ms).toBe(19);
    expect(s.cacheHitRate).toBeCloseTo(0.05);
  });
});

describe('evaluateGuard', () => {
  it('a healthy window fires nothing and offers its p95 for the baseline', () => {
    const e = evaluateGuard(input(times(30, () => ok(100))));
    expect(e.firing).toEqual([]);
    expect(e.healthyP95Ms).toBe(100);
  });

  it('too few requests: no rate trigger, no baseline', () => {
    const e = evaluateGuard(input(times(10, () => failed())));
    expect(e.firing).toEqual([]);
    expect(e.healthyP95Ms).toBeUndefined();
  });

  it('an outage with everything at 100 % fires the error rate and blames nobody', () => {
    const e = evaluateGuard(input([...times(10, () => ok()), ...times(20, () => failed())]));
    expect(e.firing).toEqual([
      expect.objectContaining({ trigger: 'error_rate', threshold: 0.05, implicated: [] }),
    ]);
    expect(e.firing[0].value).toBeCloseTo(20 / 30);
    expect(e.healthyP95Ms).toBeUndefined();
  });

  it('client errors never make an error rate', () => {
    const e = evaluateGuard(input([...times(20, () => ok()), ...times(100, () => clientError())]));
    expect(e.firing).toEqual([]);
  });

  it('cohorts: the feature whose on-requests fail while its off-requests do not is blamed', () => {
    const noHedge = without('hedge');
    const samples = [
      ...times(20, () => failed()), // hedge on: all failing
      ...times(20, () => ok(100)),
      ...times(20, () => ok(100, noHedge)), // hedge off: fine
    ];
    const e = evaluateGuard(input(samples));
    expect(e.firing[0]).toMatchObject({
      trigger: 'error_rate',
      implicated: [{ feature: 'hedge', why: 'cohort' }],
    });
  });

  it('cohorts: both cohorts as bad ⇒ not the feature; a small cohort proves nothing', () => {
    const noHedge = without('hedge');
    const bothBad = [
      ...times(20, () => failed()),
      ...times(20, () => failed(noHedge)),
      ...times(10, () => ok()),
    ];
    expect(evaluateGuard(input(bothBad)).firing[0].implicated).toEqual([]);
    const tiny = [...times(30, () => failed()), ...times(3, () => ok(100, noHedge))];
    expect(evaluateGuard(input(tiny)).firing[0].implicated).toEqual([]);
  });

  it('a feature given more traffic within recentChangeMs is blamed; an older change or an inactive flag is not', () => {
    const outage = [...times(10, () => ok()), ...times(20, () => failed())];
    const recent = evaluateGuard(
      input(outage, { flags: allActive({ dedup: { active: true, raisedAt: NOW - 1000 } }) }),
    );
    expect(recent.firing[0].implicated).toEqual([{ feature: 'dedup', why: 'recent_change' }]);
    const old = evaluateGuard(
      input(outage, {
        flags: allActive({ dedup: { active: true, raisedAt: NOW - SETTINGS.recentChangeMs - 1 } }),
      }),
    );
    expect(old.firing[0].implicated).toEqual([]);
    const inactive = evaluateGuard(
      input(outage, { flags: allActive({ dedup: { active: false, raisedAt: NOW } }) }),
    );
    expect(inactive.firing[0].implicated).toEqual([]);
  });

  it('the client rate limit is never blamed for the error rate', () => {
    const outage = times(30, () => failed());
    const e = evaluateGuard(
      input(outage, { flags: allActive({ rateLimit: { active: true, raisedAt: NOW } }) }),
    );
    expect(e.firing[0].implicated).toEqual([]);
  });

  it('p95 over multiplier × baseline fires (needs a baseline); the slower cohort is blamed', () => {
    const noCompression = without('compression');
    const samples = [...times(20, () => ok(900)), ...times(20, () => ok(100, noCompression))];
    expect(evaluateGuard(input(samples)).firing).toEqual([]); // no baseline learned yet
    const e = evaluateGuard(input(samples, { baselineP95Ms: 100 }));
    expect(e.firing).toEqual([
      {
        trigger: 'p95',
        value: 900,
        threshold: 200,
        implicated: [{ feature: 'compression', why: 'cohort' }],
      },
    ]);
    expect(e.healthyP95Ms).toBeUndefined();
  });

  it('memory over memoryRatio × limit fires; only a recent change among cache, dedup, queue is blamed', () => {
    const memory = { rssBytes: 950, limitBytes: 1000 };
    const none = evaluateGuard(input([], { memory }));
    expect(none.firing).toEqual([{ trigger: 'memory', value: 0.95, threshold: 0.9, implicated: [] }]);
    const flags = allActive({
      queue: { active: true, raisedAt: NOW - 10 },
      hedge: { active: true, raisedAt: NOW - 10 },
    });
    expect(evaluateGuard(input([], { memory, flags })).firing[0].implicated).toEqual([
      { feature: 'queue', why: 'recent_change' },
    ]);
  });

  it('a cache hit rate under the minimum over enough lookups fires; only a recent cache change is blamed', () => {
    const misses = times(25, () => ok(100, undefined, 'miss'));
    expect(evaluateGuard(input(misses)).firing).toEqual([
      { trigger: 'cache_hit_rate', value: 0, threshold: 0.2, implicated: [] },
    ]);
    const flags = allActive({ cache: { active: true, raisedAt: NOW - 5 } });
    expect(evaluateGuard(input(misses, { flags })).firing[0].implicated).toEqual([
      { feature: 'cache', why: 'recent_change' },
    ]);
    const hits = [...misses, ...times(10, () => ok(100, undefined, 'hit'))];
    expect(evaluateGuard(input(hits, { flags })).firing).toEqual([]);
  });
});
