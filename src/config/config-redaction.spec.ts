import { createHash } from 'node:crypto';
import { REDACTED, configSecrets, isSecretName, redactConfig, scrubSecrets } from './config-redaction';

const SECRETS = [
  'sk-provider-secret-1',
  'gateway-apikey-2',
  'redis-pass-3',
  'redis-url-pass-4',
  'otel-token-5',
  'header-bearer-6',
  'client-key-7',
  'sentinel-pass-8',
  'gemini-query-9',
  'transformer-secret-10',
];

const config = {
  APIKEY: 'gateway-apikey-2',
  PORT: 3456,
  Providers: [
    {
      name: 'openai',
      api_base_url: 'https://api.example.test/v1/chat/completions',
      api_key: 'sk-provider-secret-1',
      models: ['gpt-x'],
      headers: { Authorization: 'Bearer header-bearer-6', 'anthropic-version': '2023-06-01' },
      transformer: { use: [['custom', { apiKey: 'transformer-secret-10', max_tokens: 100 }]] },
      countTokens: true,
    },
    {
      name: 'gemini',
      api_base_url: 'https://gemini.example.test/v1beta/models/?key=gemini-query-9',
      models: ['g'],
    },
  ],
  Redis: {
    url: 'redis://user:redis-url-pass-4@redis.example.test:6379/0',
    password: 'redis-pass-3',
    sentinelPassword: 'sentinel-pass-8',
    keyPrefix: 'ccr:',
    db: 0,
  },
  Tracing: { headers: { 'x-honeycomb-team': 'otel-token-5' }, endpoint: 'http://collector:4318/v1/traces' },
  RateLimit: {
    keys: { 'client-key-7': { rpm: 5 }, [`sha256:${'a'.repeat(64)}`]: { rpm: 1 } },
    maxTokensEstimate: 4096,
  },
  Cache: { partitionByKey: true },
  Router: { default: 'openai,gpt-x' },
};

describe('isSecretName', () => {
  it.each([
    ['api_key', true],
    ['APIKEY', true],
    ['apiKey', true],
    ['x-api-key', true],
    ['password', true],
    ['sentinelPassword', true],
    ['Authorization', true],
    ['accessToken', true],
    ['client_secret', true],
    ['keyPrefix', false],
    ['maxTokensEstimate', false],
    ['authHeader', false],
    ['name', false],
    ['models', false],
  ])('%s → %s', (name, expected) => {
    expect(isSecretName(name)).toBe(expected);
  });
});

describe('redactConfig', () => {
  const redacted = redactConfig(config);
  const text = JSON.stringify(redacted);

  it('leaves none of the configured secrets anywhere in the output', () => {
    for (const secret of SECRETS) {
      expect(text).not.toContain(secret);
    }
  });

  it('redacts by field: api keys, passwords, header values, secret-looking keys', () => {
    expect(redacted.APIKEY).toBe(REDACTED);
    expect(redacted.Providers[0].api_key).toBe(REDACTED);
    expect(redacted.Providers[0].headers).toEqual({
      Authorization: REDACTED,
      'anthropic-version': '2023-06-01',
    });
    expect(redacted.Providers[0].transformer?.use[0]).toEqual([
      'custom',
      { apiKey: REDACTED, max_tokens: 100 },
    ]);
    expect(redacted.Redis.password).toBe(REDACTED);
    expect(redacted.Redis.sentinelPassword).toBe(REDACTED);
    expect(redacted.Tracing.headers['x-honeycomb-team']).toBe(REDACTED);
  });

  it('masks URL credentials and secret query parameters, keeping the rest of the URL', () => {
    expect(redacted.Redis.url).toBe('redis://[redacted]:[redacted]@redis.example.test:6379/0');
    expect(redacted.Providers[1].api_base_url).toBe(
      'https://gemini.example.test/v1beta/models/?key=[redacted]',
    );
    expect(redacted.Tracing.endpoint).toBe('http://collector:4318/v1/traces');
  });

  it('shows client keys of RateLimit.keys as sha256 digests', () => {
    const digest = createHash('sha256').update('client-key-7').digest('hex');
    expect(Object.keys(redacted.RateLimit.keys).sort()).toEqual(
      [`sha256:${digest}`, `sha256:${'a'.repeat(64)}`].sort(),
    );
  });

  it('keeps what is not secret: numbers, booleans, prefixes, routes', () => {
    expect(redacted.PORT).toBe(3456);
    expect(redacted.Redis.keyPrefix).toBe('ccr:');
    expect(redacted.RateLimit.maxTokensEstimate).toBe(4096);
    expect(redacted.Cache.partitionByKey).toBe(true);
    expect(redacted.Providers[0].countTokens).toBe(true);
    expect(redacted.Router.default).toBe('openai,gpt-x');
  });

  it('does not change its input', () => {
    expect(config.APIKEY).toBe('gateway-apikey-2');
    expect(config.Providers[0].headers?.Authorization).toBe('Bearer header-bearer-6');
  });

  it('scrubs a secret that also appears under an innocent name', () => {
    const out = redactConfig({
      api_key: 'shared-secret-value',
      CUSTOM_ROUTER_PATH: '/etc/shared-secret-value/r.js',
    });
    expect(out.CUSTOM_ROUTER_PATH).toBe('/etc/[redacted]/r.js');
  });
});

describe('a placeholder key equal to a provider or model name (CCR\'s "ollama" example)', () => {
  const ccr = {
    Providers: [
      { name: 'ollama', api_base_url: 'http://localhost:11434/v1/chat/completions', api_key: 'ollama', models: ['qwen'] },
      { name: 'vllm', api_base_url: 'http://localhost:8000/v1', api_key: 'EMPTY', models: ['EMPTY'] },
    ],
    Router: { default: 'ollama,qwen', background: 'vllm,EMPTY' },
  };

  it('keeps the provider and model names and the targets in the clear; the key field stays redacted', () => {
    const out = redactConfig(ccr);
    expect(out.Providers.map((p) => [p.name, p.api_key, p.models[0]])).toEqual([
      ['ollama', REDACTED, 'qwen'],
      ['vllm', REDACTED, 'EMPTY'],
    ]);
    expect(out.Router).toEqual(ccr.Router);
  });

  it('is not scrubbed out of other answers (the target names in /api/providers)', () => {
    expect(configSecrets(ccr)).toEqual([]);
    const answer = { targets: [{ target: 'ollama,qwen' }, { target: 'vllm,EMPTY' }] };
    expect(scrubSecrets(answer, configSecrets(ccr))).toEqual(answer);
  });
});

describe('configSecrets and scrubSecrets', () => {
  it('collects every secret value of a configuration', () => {
    const found = configSecrets(config);
    for (const secret of SECRETS.filter((s) => s !== 'header-bearer-6')) {
      expect(found).toContain(secret);
    }
    expect(found).toContain('Bearer header-bearer-6');
  });

  it('replaces them inside any string, keys included, and ignores very short ones', () => {
    const out = scrubSecrets(
      {
        error: 'Incorrect API key provided: sk-provider-secret-1',
        ['sk-provider-secret-1']: 1,
        n: 5,
        short: 'abc',
      },
      ['sk-provider-secret-1', 'abc'],
    );
    expect(out).toEqual({
      error: 'Incorrect API key provided: [redacted]',
      '[redacted]': 1,
      n: 5,
      short: 'abc',
    });
  });
});
