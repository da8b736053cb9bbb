import { clientLimitHeaders, goDuration } from './client-limit-headers';

describe('goDuration', () => {
  it.each([
    [0, '0ms'],
    [20, '20ms'],
    [999.2, '1s'],
    [1000, '1s'],
    [1500, '1.5s'],
    [20_000, '20s'],
    [60_000, '1m0s'],
    [360_000, '6m0s'],
    [90_250, '1m30.25s'],
  ])('%d ms → %s', (ms, text) => {
    expect(goDuration(ms)).toBe(text);
  });
});

describe('clientLimitHeaders', () => {
  const now = Date.parse('2026-11-28T10:00:00.000Z');

  it('OpenAI names with a reset duration on the OpenAI route', () => {
    expect(
      clientLimitHeaders(
        { requests: { limit: 3, remaining: 0 }, tokens: { limit: 1000, remaining: 750 } },
        false,
        now,
      ),
    ).toEqual({
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '1m0s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '750',
      'x-ratelimit-reset-tokens': '15s',
    });
  });

  it("Anthropic's names too on Anthropic routes, the reset as an RFC 3339 time (whole seconds, rounded up)", () => {
    expect(clientLimitHeaders({ requests: { limit: 3, remaining: 2 } }, true, now + 400)).toEqual({
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '2',
      'x-ratelimit-reset-requests': '20s',
      'anthropic-ratelimit-requests-limit': '3',
      'anthropic-ratelimit-requests-remaining': '2',
      'anthropic-ratelimit-requests-reset': '2026-11-28T10:00:21Z',
    });
  });

  it('a full bucket resets now; a limit not in force sends nothing', () => {
    expect(clientLimitHeaders({ tokens: { limit: 500, remaining: 500 } }, true, now)).toMatchObject({
      'x-ratelimit-reset-tokens': '0ms',
      'anthropic-ratelimit-tokens-reset': '2026-11-28T10:00:00Z',
    });
    expect(clientLimitHeaders({}, true, now)).toEqual({});
  });
});
