import { ProviderResolver } from './provider-resolver';

describe('ProviderResolver', () => {
  const resolver = new ProviderResolver([
    { name: 'openai', api_base_url: 'http://127.0.0.1:9000/v1/chat/completions', api_key: 'sk-o' },
    { name: 'anthropic', api_base_url: 'http://127.0.0.1:9000/v1/messages', api_key: 'sk-a' },
    { name: 'anthropic-2', api_base_url: 'http://127.0.0.1:9000/anthropic', api_key: 'sk-a' },
    { name: 'gemini', api_base_url: 'https://Gemini.example:443/v1beta/models/', api_key: 'g' },
    { name: 'keyless', api_base_url: 'http://10.0.0.1:8080/v1/chat/completions' },
  ]);

  it('identifies the account by origin and credential, whatever the path', () => {
    expect(
      resolver.resolve('http://127.0.0.1:9000/v1/chat/completions', { authorization: 'Bearer sk-o' }),
    ).toEqual(['openai']);
    // Two providers on one account share its limits.
    expect(resolver.resolve('http://127.0.0.1:9000/v1/messages', { 'x-api-key': 'sk-a' })).toEqual([
      'anthropic',
      'anthropic-2',
    ]);
    expect(
      resolver.resolve('https://gemini.example/v1beta/models/x:streamGenerateContent?alt=sse', {
        'x-goog-api-key': 'g',
      }),
    ).toEqual(['gemini']);
  });

  it('falls back to the origin only when one provider uses it', () => {
    expect(
      resolver.resolve('http://10.0.0.1:8080/v1/chat/completions', { authorization: 'Bearer other' }),
    ).toEqual(['keyless']);
    expect(resolver.resolve('http://127.0.0.1:9000/v1/messages', { 'x-api-key': 'unknown' })).toEqual([]);
    expect(resolver.resolve('http://elsewhere:1/v1/messages', undefined)).toEqual([]);
  });
});
