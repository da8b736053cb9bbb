import { negotiateEncoding } from './negotiate-encoding';

describe('negotiateEncoding', () => {
  const cases: Array<[string | undefined, ReturnType<typeof negotiateEncoding>]> = [
    [undefined, undefined],
    ['', undefined],
    ['identity', undefined],
    ['gzip', 'gzip'],
    ['br', 'br'],
    ['x-gzip', 'gzip'],
    ['gzip, br', 'gzip'], // tie: configured order wins
    ['br;q=1, gzip;q=0.5', 'br'],
    ['gzip;q=0, br;q=0.1', 'br'],
    ['*', 'gzip'],
    ['*;q=0.5, gzip;q=0', 'br'],
    ['deflate', undefined], // not configured
    ['GZIP', 'gzip'],
    ['gzip;q=0', undefined],
  ];
  it.each(cases)('%p → %p', (header, expected) => {
    expect(negotiateEncoding(header, ['gzip', 'br'])).toBe(expected);
  });

  it('joins repeated headers', () => {
    expect(negotiateEncoding(['gzip;q=0.1', 'br'], ['gzip', 'br'])).toBe('br');
  });
});
