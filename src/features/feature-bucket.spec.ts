import fc from 'fast-check';
import { bucketOf, decideFeatures, offFeatures, requestSeed, type FlagGate } from './feature-bucket';
import { ALL_FEATURES_ON, FEATURE_NAMES, type FeatureName } from './feature-set';

const gates = (over: Partial<Record<FeatureName, Partial<FlagGate>>> = {}): Record<FeatureName, FlagGate> =>
  Object.fromEntries(
    FEATURE_NAMES.map((name) => [name, { enabled: true, rollout: 100, tripped: false, ...over[name] }]),
  ) as Record<FeatureName, FlagGate>;

const feature = fc.constantFrom(...FEATURE_NAMES);

describe('rollout buckets', () => {
  it('a bucket is in [0, 100) and the same for the same feature and seed', () => {
    fc.assert(
      fc.property(feature, fc.string(), (name, seed) => {
        const b = bucketOf(name, seed);
        return b >= 0 && b < 100 && bucketOf(name, seed) === b;
      }),
    );
  });

  it('the decision is deterministic: one seed, one feature set', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.record(Object.fromEntries(FEATURE_NAMES.map((n) => [n, fc.integer({ min: 0, max: 100 })]))),
        (seed, rollouts) => {
          const g = gates(Object.fromEntries(FEATURE_NAMES.map((n) => [n, { rollout: rollouts[n] }])));
          expect(decideFeatures(g, () => seed)).toEqual(decideFeatures(g, () => seed));
        },
      ),
    );
  });

  it('raising a rollout only adds requests (a request in at r % stays in at every r′ > r)', () => {
    fc.assert(
      fc.property(
        feature,
        fc.string(),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (name, seed, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const at = (rollout: number) => decideFeatures(gates({ [name]: { rollout } }), () => seed)[name];
          return !at(low) || at(high);
        },
      ),
    );
  });

  it('each rollout reaches its share of requests (±2 points over 20,000 seeds)', () => {
    const seeds = Array.from({ length: 20_000 }, (_, i) => `req-${i}`);
    fc.assert(
      fc.property(feature, fc.integer({ min: 1, max: 99 }), (name, rollout) => {
        const on = seeds.filter((s) => decideFeatures(gates({ [name]: { rollout } }), () => s)[name]).length;
        return Math.abs((on / seeds.length) * 100 - rollout) < 2;
      }),
      { numRuns: 15 },
    );
  });

  it('rollouts of different features are independent (the 50 % of one are not the 50 % of another)', () => {
    const seeds = Array.from({ length: 20_000 }, (_, i) => `session-${i}`);
    const g = gates({ cache: { rollout: 50 }, hedge: { rollout: 50 } });
    let both = 0;
    for (const s of seeds) {
      const set = decideFeatures(g, () => s);
      if (set.cache && set.hedge) {
        both += 1;
      }
    }
    // Independent halves overlap on a quarter; identical buckets would overlap on a half.
    expect(both / seeds.length).toBeGreaterThan(0.23);
    expect(both / seeds.length).toBeLessThan(0.27);
  });

  it('a disabled or tripped flag is off for everyone whatever its rollout; 0 % is off, 100 % is on', () => {
    fc.assert(
      fc.property(feature, fc.string(), (name, seed) => {
        const off = (g: Partial<FlagGate>) => !decideFeatures(gates({ [name]: g }), () => seed)[name];
        return (
          off({ enabled: false }) && off({ tripped: true }) && off({ rollout: 0 }) && !off({ rollout: 100 })
        );
      }),
    );
  });

  it('asks for the seed only when some rollout is partial, and then once', () => {
    const seed = jest.fn(() => 'x');
    expect(decideFeatures(gates(), seed)).toBe(ALL_FEATURES_ON);
    expect(decideFeatures(gates({ hedge: { enabled: false }, cache: { rollout: 0 } }), seed)).toMatchObject({
      hedge: false,
      cache: false,
      dedup: true,
    });
    expect(seed).not.toHaveBeenCalled();
    decideFeatures(gates({ hedge: { rollout: 30 }, cache: { rollout: 60 } }), seed);
    expect(seed).toHaveBeenCalledTimes(1);
  });

  it('offFeatures lists the features that are off, in declaration order', () => {
    const set = decideFeatures(gates({ queue: { enabled: false }, cache: { tripped: true } }), () => '');
    expect(offFeatures(set)).toEqual(['cache', 'queue']);
    expect(offFeatures(ALL_FEATURES_ON)).toEqual([]);
  });
});

describe('requestSeed', () => {
  const SESSION = '00000000-0000-4000-8000-000000000001';
  const turn = (text: string) => ({
    model: 'claude-sonnet-4-6',
    metadata: { user_id: JSON.stringify({ device_id: 'd', session_id: SESSION }) },
    messages: [{ role: 'user', content: text }],
  });

  it('bucketBy session: every turn of a Claude Code session gets the same seed', () => {
    expect(requestSeed(turn('one'), {}, 'session')).toBe(`session:${SESSION}`);
    expect(requestSeed(turn('two'), {}, 'session')).toBe(`session:${SESSION}`);
    expect(requestSeed({ messages: [] }, { 'x-claude-code-session-id': 'abc' }, 'session')).toBe(
      'session:abc',
    );
  });

  it('no session, or bucketBy request: the body hash (same body, same seed)', () => {
    const a = requestSeed({ messages: [{ role: 'user', content: 'a' }] }, {}, 'session');
    expect(a).toMatch(/^body:/);
    expect(requestSeed({ messages: [{ role: 'user', content: 'a' }] }, {}, 'session')).toBe(a);
    expect(requestSeed({ messages: [{ role: 'user', content: 'b' }] }, {}, 'session')).not.toBe(a);
    expect(requestSeed(turn('one'), {}, 'request')).not.toBe(requestSeed(turn('two'), {}, 'request'));
    expect(requestSeed(undefined, {}, 'session')).toMatch(/^body:/);
  });
});
