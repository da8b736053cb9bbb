import { ProviderUsageCounters, providerOf, usageDelta, usageView } from './usage-counters';

describe('usage counters', () => {
  it('the provider is the target before its first comma', () => {
    expect(providerOf('openai,gpt-4o')).toBe('openai');
    expect(providerOf('openrouter,anthropic/claude,x')).toBe('openrouter');
    expect(providerOf('bare')).toBe('bare');
  });

  it('one answer counts one request and its non-negative integer token counts', () => {
    expect(
      usageDelta({ input_tokens: 10, cache_read_input_tokens: 90.4, cache_creation_input_tokens: -3 }),
    ).toEqual({
      requests: 1,
      inputTokens: 10,
      cacheReadTokens: 90,
      cacheCreationTokens: 0,
    });
    expect(usageDelta({})).toEqual({
      requests: 1,
      inputTokens: 0,
      cacheReadTokens: 0,
      cacheCreationTokens: 0,
    });
  });

  it('cacheReadShare = cacheRead / (input + cacheRead + cacheCreation), 0 before any token', () => {
    expect(
      usageView({ requests: 2, inputTokens: 10, cacheReadTokens: 80, cacheCreationTokens: 10 })
        .cacheReadShare,
    ).toBe(0.8);
    expect(
      usageView({ requests: 1, inputTokens: 1, cacheReadTokens: 1, cacheCreationTokens: 1 }).cacheReadShare,
    ).toBe(0.3333);
    expect(
      usageView({ requests: 1, inputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 }).cacheReadShare,
    ).toBe(0);
  });

  it('adds up per provider', () => {
    const c = new ProviderUsageCounters();
    c.add('openai', usageDelta({ input_tokens: 10, cache_read_input_tokens: 30 }));
    c.add('openai', usageDelta({ input_tokens: 10, cache_read_input_tokens: 50 }));
    c.add('anthropic', usageDelta({ input_tokens: 5, cache_creation_input_tokens: 15 }));
    expect(c.view()).toEqual({
      anthropic: {
        requests: 1,
        inputTokens: 5,
        cacheReadTokens: 0,
        cacheCreationTokens: 15,
        cacheReadShare: 0,
      },
      openai: {
        requests: 2,
        inputTokens: 20,
        cacheReadTokens: 80,
        cacheCreationTokens: 0,
        cacheReadShare: 0.8,
      },
    });
  });

  it('tracks at most maxProviders providers', () => {
    const c = new ProviderUsageCounters(3);
    for (let i = 0; i < 10; i++) {
      c.add(`p${i}`, usageDelta({ input_tokens: 1 }));
    }
    expect(Object.keys(c.view())).toEqual(['p0', 'p1', 'p2']);
    expect(c.add('p0', usageDelta({ input_tokens: 1 }))).toBe(true);
    expect(c.view().p0.requests).toBe(2);
  });
});
