import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { BUCKETS, FastHistogram, LocalBuckets } from './fast-histogram';

describe('BUCKETS', () => {
  const defaults = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'default.json'), 'utf8')) as {
    API_TIMEOUT_MS: number;
    AdaptiveTimeout: { firstByte: { maxMs: number }; idle: { maxMs: number } };
  };
  const top = (bounds: readonly number[]): number => bounds[bounds.length - 1];

  it('request durations reach the default API_TIMEOUT_MS, so a long answer is not folded into +Inf', () => {
    expect(top(BUCKETS.request)).toBeGreaterThanOrEqual(defaults.API_TIMEOUT_MS / 1000);
  });

  it('first bytes and chunk gaps reach the default deadlines that would cut them', () => {
    expect(top(BUCKETS.firstByte)).toBeGreaterThanOrEqual(defaults.AdaptiveTimeout.firstByte.maxMs / 1000);
    expect(top(BUCKETS.gap)).toBeGreaterThanOrEqual(defaults.AdaptiveTimeout.idle.maxMs / 1000);
  });
});

describe('FastHistogram', () => {
  it('exports cumulative buckets, +Inf, _sum and _count in the Prometheus text format', async () => {
    const registry = new Registry();
    const h = new FastHistogram(registry, 'test_seconds', 'A test.', ['route'], [0.1, 1]);
    h.observe(0.05, 'a');
    h.observe(0.5, 'a');
    h.observe(5, 'a');
    h.observe(0.1, 'b');
    const text = await registry.metrics();
    expect(text).toContain('# TYPE test_seconds histogram');
    expect(text).toContain('test_seconds_bucket{route="a",le="0.1"} 1');
    expect(text).toContain('test_seconds_bucket{route="a",le="1"} 2');
    expect(text).toContain('test_seconds_bucket{route="a",le="+Inf"} 3');
    expect(text).toContain('test_seconds_sum{route="a"} 5.55');
    expect(text).toContain('test_seconds_count{route="a"} 3');
    expect(text).toContain('test_seconds_bucket{route="b",le="0.1"} 1'); // le is inclusive
  });

  it('merges locally accumulated observations in one step', async () => {
    const registry = new Registry();
    const bounds = [0.01, 0.1];
    const h = new FastHistogram(registry, 'gap_seconds', 'Gaps.', ['p'], bounds);
    const local = new LocalBuckets(bounds);
    [0.001, 0.02, 0.02, 3].forEach((v) => local.observe(v));
    h.series('x').merge(local);
    h.series('x').merge(new LocalBuckets(bounds)); // empty: nothing
    const text = await registry.metrics();
    expect(text).toContain('gap_seconds_bucket{p="x",le="0.01"} 1');
    expect(text).toContain('gap_seconds_bucket{p="x",le="0.1"} 3');
    expect(text).toContain('gap_seconds_count{p="x"} 4');
  });

  it('a label gone wrong cannot grow memory: series past the cap fold into "other"', async () => {
    const registry = new Registry();
    const h = new FastHistogram(registry, 'capped_seconds', 'Capped.', ['id'], [1], 3);
    for (let i = 0; i < 100; i++) {
      h.observe(0.5, `value-${i}`);
    }
    const text = await registry.metrics();
    const series = text.split('\n').filter((l) => l.startsWith('capped_seconds_count'));
    expect(series).toHaveLength(4); // three real ones and "other"
    expect(text).toContain('capped_seconds_count{id="other"} 97');
  });
});
