import { AnthropicAdapter } from './anthropic/anthropic.adapter';
import { GeminiAdapter } from './gemini/gemini.adapter';
import { OpenAIAdapter } from './openai/openai.adapter';
import type { ProviderConfig } from './provider.types';
import { ProviderRegistry } from './provider.registry';
import { UpstreamClient } from './upstream.client';

const PROVIDERS: ProviderConfig[] = [
  {
    name: 'OpenRouter',
    api_base_url: 'https://openrouter.ai/api/v1/chat/completions',
    api_key: 'k',
    models: ['anthropic/claude-sonnet-4', 'Google/Gemini-2.5-Pro'],
    transformer: { use: ['openrouter'] },
  },
  {
    name: 'deepseek',
    api_base_url: 'https://api.deepseek.com/anthropic',
    models: ['deepseek-chat'],
    transformer: { use: ['Anthropic'] },
  },
  {
    name: 'gemini',
    api_base_url: 'https://generativelanguage.googleapis.com/v1beta/models/',
    models: ['gemini-2.5-flash'],
    transformer: { use: [['Gemini', {}]] },
  },
  {
    name: 'explicit',
    api_base_url: 'https://x.test/v1',
    models: ['m'],
    kind: 'anthropic',
    transformer: { use: ['gemini'] },
  },
  { name: 'ollama', api_base_url: 'http://localhost:11434/v1/chat/completions', models: ['qwen3'] },
];

describe('ProviderRegistry', () => {
  const client = new UpstreamClient();
  afterAll(() => client.destroy());

  it('infers kinds: explicit kind, else Anthropic/gemini transformer names (any case), else openai', () => {
    const reg = new ProviderRegistry(PROVIDERS, { client });
    expect(PROVIDERS.map((p) => reg.kindOf(p))).toEqual([
      'openai',
      'anthropic',
      'gemini',
      'anthropic',
      'openai',
    ]);
  });

  it('resolves provider and model case-insensitively, returning the configured spelling', () => {
    const reg = new ProviderRegistry(PROVIDERS, { client });
    const t = reg.resolve('openrouter', 'google/gemini-2.5-pro');
    expect(t?.provider.name).toBe('OpenRouter');
    expect(t?.model).toBe('Google/Gemini-2.5-Pro');
    expect(reg.get('OPENROUTER')?.name).toBe('OpenRouter');
    expect(reg.resolve('openrouter', 'unknown-model')).toBeUndefined();
    expect(reg.resolve('nope', 'm')).toBeUndefined();
  });

  it('hands out one adapter per kind', () => {
    const reg = new ProviderRegistry(PROVIDERS, { client });
    expect(reg.adapterFor(reg.resolve('openrouter', 'anthropic/claude-sonnet-4')!)).toBeInstanceOf(
      OpenAIAdapter,
    );
    expect(reg.adapterFor(reg.resolve('deepseek', 'deepseek-chat')!)).toBeInstanceOf(AnthropicAdapter);
    expect(reg.adapterFor(reg.resolve('gemini', 'gemini-2.5-flash')!)).toBeInstanceOf(GeminiAdapter);
    expect(reg.adapterFor(reg.resolve('ollama', 'qwen3')!)).toBe(
      reg.adapterFor(reg.resolve('openrouter', 'anthropic/claude-sonnet-4')!),
    );
  });

  it('lists every provider/model pair with its kind', () => {
    const reg = new ProviderRegistry(PROVIDERS, { client });
    expect(reg.list()).toContainEqual({
      provider: 'OpenRouter',
      model: 'Google/Gemini-2.5-Pro',
      kind: 'openai',
    });
    expect(reg.list()).toHaveLength(6);
  });

  it('collects config problems as warnings (and logs them) instead of crashing', () => {
    const warn = jest.fn();
    const reg = new ProviderRegistry(
      [
        ...PROVIDERS,
        {
          name: 'bad',
          api_base_url: 'https://b.test/v1',
          models: ['a', 'b'],
          transformer: { use: ['does-not-exist'], a: { use: ['neither'] } },
        },
        { name: 'BAD', api_base_url: 'https://dup.test', models: ['x'] },
        { name: 'nourl', api_base_url: 'not a url', models: ['x'] },
        { name: 'empty', api_base_url: 'https://e.test', models: [] },
      ],
      { client, logger: { warn } },
    );
    expect(reg.warnings).toEqual([
      expect.stringMatching(/^provider "bad": unknown transformer "does-not-exist"/),
      expect.stringMatching(/^provider "bad" model "a": unknown transformer "neither"/),
      'provider "BAD" is defined twice; the first definition is used',
      expect.stringMatching(/^provider "nourl": api_base_url "not a url" is not a valid URL/),
      'provider "empty" lists no models',
    ]);
    expect(warn).toHaveBeenCalledTimes(5);
    expect(reg.get('bad')?.api_base_url).toBe('https://b.test/v1');
    expect(reg.get('nourl')).toBeUndefined();
  });
});
