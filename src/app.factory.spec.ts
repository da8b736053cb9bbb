import { withoutTrailingSlash } from './app.factory';

describe('withoutTrailingSlash', () => {
  it.each([
    ['/', '/'],
    ['//', '/'],
    ['/v1/messages/', '/v1/messages'],
    ['/v1/messages//?beta=true', '/v1/messages?beta=true'],
    ['/v1/messages?x=/', '/v1/messages?x=/'],
    ['/v1/models', '/v1/models'],
  ])('%s → %s', (url, expected) => {
    expect(withoutTrailingSlash(url)).toBe(expected);
  });

  it('is linear on a long run of slashes', () => {
    const url = `/${'/'.repeat(100_000)}a${'/'.repeat(100_000)}`;
    expect(withoutTrailingSlash(url)).toBe(`/${'/'.repeat(100_000)}a`);
  });
});
