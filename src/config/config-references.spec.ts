import { referenceProblems, routingWarnings } from './config-references';
import type { SwitchyardConfig } from './config.schema';
import { loadConfig } from './load-config';

function configWith(overrides: Record<string, unknown>): SwitchyardConfig {
  return loadConfig({
    env: { NODE_ENV: 'test', HOME: '/nonexistent-switchyard-home' },
    overrides: {
      Providers: [
        { name: 'openai', api_base_url: 'http://a.test/v1/chat/completions', models: ['gpt-a', 'gpt-b'] },
        { name: 'Anthropic', api_base_url: 'http://b.test/v1/messages', models: ['claude-x'] },
      ],
      ...overrides,
    },
  }).config;
}

describe('referenceProblems', () => {
  it('accepts targets of configured providers and models, in any case', () => {
    const config = configWith({
      Router: {
        default: 'openai,gpt-a',
        think: ['anthropic,CLAUDE-X', 'openai,gpt-b'],
        longContextThreshold: 1000,
      },
      fallback: { default: ['anthropic,claude-x'] },
      Failover: { providers: { primary: 'openai,gpt-a', fallback: ['openai,gpt-b'] } },
    });
    expect(referenceProblems(config)).toEqual([]);
  });

  it('names the key path and the unknown provider', () => {
    const config = configWith({ Router: { default: 'nope,gpt-a', longContextThreshold: 1000 } });
    expect(referenceProblems(config)).toEqual([
      '  - Router.default: "nope,gpt-a" names provider "nope", which is not in Providers',
    ]);
  });

  it('names unknown models, list positions, fallbacks and Failover.providers', () => {
    const config = configWith({
      Router: { background: ['openai,gpt-a', 'openai,gpt-z'], longContextThreshold: 1000 },
      fallback: { think: ['ghost,m'] },
      Failover: { providers: { primary: 'ghost,m' } },
    });
    expect(referenceProblems(config)).toEqual([
      '  - Router.background[1]: "openai,gpt-z" names model "gpt-z", which provider "openai" does not list',
      '  - fallback.think[0]: "ghost,m" names provider "ghost", which is not in Providers',
      '  - Failover.providers.primary: "ghost,m" names provider "ghost", which is not in Providers',
    ]);
  });

  it('rejects a provider health block the probes would refuse', () => {
    const config = configWith({});
    (config.Providers[0] as Record<string, unknown>).health = { intervalMs: -1 };
    const problems = referenceProblems(config);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ {2}- Providers\[0\]\.health\.intervalMs: /);
  });
});

describe('routingWarnings', () => {
  it('names Router and fallback targets routing will skip, and Router keys that are no scenario', () => {
    const config = configWith({
      Router: { default: 'openai,gpt-a', think: 'openai,gpt-z', websearch: 'openai,gpt-a', longContextThreshold: 1000 },
      fallback: { default: ['nowhere,x'] },
    });
    expect(routingWarnings(config)).toEqual([
      expect.stringMatching(/^Router\.websearch is not a scenario \(default, background, think, longContext, webSearch, image\)/),
      expect.stringMatching(/^Router\.think: "openai,gpt-z" names model "gpt-z", which provider "openai" does not list; skipped when routing/),
      expect.stringMatching(/^fallback\.default\[0\]: "nowhere,x" names provider "nowhere", which is not in Providers; skipped/),
    ]);
  });

  it('is empty for a clean Router', () => {
    expect(routingWarnings(configWith({ Router: { default: 'openai,gpt-a', longContextThreshold: 1000 } }))).toEqual([]);
  });
});
