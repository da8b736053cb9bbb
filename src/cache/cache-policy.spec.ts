import { cacheHeaderValue, parseCachePolicy } from './cache-policy';

describe('cache policy from cache-control', () => {
  it.each([
    [undefined, { read: true, write: true }],
    ['', { read: true, write: true }],
    ['no-cache', { read: false, write: true }],
    ['No-Cache', { read: false, write: true }],
    ['no-store', { read: false, write: false }],
    ['max-age=60', { read: true, write: true, maxAgeSec: 60 }],
    ['max-age="30"', { read: true, write: true, maxAgeSec: 30 }],
    ['max-age=0', { read: true, write: true, maxAgeSec: 0 }],
    ['max-age=60, max-age=10', { read: true, write: true, maxAgeSec: 10 }],
    ['max-age=abc', { read: true, write: true }],
    ['max-age=-5', { read: true, write: true }],
    ['max-age=60, no-cache', { read: false, write: true }],
    ['no-cache, no-store', { read: false, write: false }],
    ['private, max-age=5', { read: true, write: true, maxAgeSec: 5 }],
    [['max-age=60', 'no-store'], { read: false, write: false }],
  ])('%j → %j', (header, policy) => {
    expect(parseCachePolicy({ 'cache-control': header }, true)).toEqual(policy);
  });

  it('is off entirely when the cache is disabled', () => {
    expect(parseCachePolicy({ 'cache-control': 'max-age=60' }, false)).toEqual({ read: false, write: false });
    expect(parseCachePolicy({}, false)).toEqual({ read: false, write: false });
  });

  it('names the x-switchyard-cache outcome', () => {
    const on = { read: true, write: true };
    expect(cacheHeaderValue(on, 'k', true)).toBe('HIT');
    expect(cacheHeaderValue(on, 'k', false)).toBe('MISS');
    expect(cacheHeaderValue(on, undefined, false)).toBe('BYPASS');
    expect(cacheHeaderValue({ read: false, write: true }, 'k', false)).toBe('BYPASS');
    expect(cacheHeaderValue({ read: false, write: false }, 'k', false)).toBe('BYPASS');
  });
});
