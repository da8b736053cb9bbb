import { withUnreservedDecoded, withoutTrailingSlash } from './app.factory';

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

describe('withUnreservedDecoded', () => {
  it.each([
    ['/v1/%6dessages', '/v1/messages'],
    ['/v1/%6D%65ssages?x=%6d', '/v1/messages?x=%6d'],
    ['/v1/chat%2Fcompletions', '/v1/chat%2Fcompletions'],
    ['/a%20b%7e%2e', '/a%20b~.'],
    ['/v1/messages', '/v1/messages'],
    ['/bad%zz%4', '/bad%zz%4'],
  ])('%s → %s', (url, expected) => {
    expect(withUnreservedDecoded(url)).toBe(expected);
  });
});
