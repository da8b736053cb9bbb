import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from './load-config';

const CCR_EXAMPLE = resolve(__dirname, '../../test/fixtures/ccr-config.json5');

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'switchyard-config-'));
}

function writeJson(dir: string, name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

/** A config dir with its own default.json and <env>.json so layering is tested in isolation. */
function configDir(defaults: Record<string, unknown>, envFiles: Record<string, unknown> = {}): string {
  const dir = tempDir();
  const repoDefaults = JSON.parse(
    readFileSync(resolve(__dirname, '../../config/default.json'), 'utf8'),
  ) as Record<string, unknown>;
  writeJson(dir, 'default.json', { ...repoDefaults, ...defaults });
  for (const [name, content] of Object.entries(envFiles)) {
    writeJson(dir, `${name}.json`, content);
  }
  return dir;
}

function expectConfigError(fn: () => unknown, ...fragments: string[]): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  for (const fragment of fragments) {
    expect((error as Error).message).toContain(fragment);
  }
}

const provider = {
  name: 'p',
  api_base_url: 'http://127.0.0.1:1/v1/chat/completions',
  api_key: 'k',
  models: ['m'],
};

describe('loadConfig', () => {
  it('runs on the embedded defaults with no user file and no environment', () => {
    const home = tempDir();
    const loaded = loadConfig({ env: { HOME: home } });
    expect(loaded.config.PORT).toBe(3456);
    expect(loaded.config.Providers).toEqual([]);
    expect(loaded.config.Redis.enabled).toBe(false);
    expect(loaded.config.Server.bodyLimit).toBe(50 * 1024 * 1024);
    expect(loaded.userFile).toBeUndefined();
    expect(loaded.nodeEnv).toBe('development');
  });

  it('layers default → NODE_ENV file → user file → environment, later wins', () => {
    const dir = configDir(
      {
        PORT: 1000,
        Compression: { enabled: true, threshold: 1, level: 1, encodings: ['gzip'], streams: false },
      },
      { production: { PORT: 2000, Compression: { threshold: 2 } } },
    );
    const user = writeJson(tempDir(), 'user.json', { PORT: 3000, Compression: { level: 3 } });
    const base = { NODE_ENV: 'production', SWITCHYARD_CONFIG: user, HOME: tempDir() };

    const fromFiles = loadConfig({ configDir: dir, env: base });
    expect(fromFiles.config.PORT).toBe(3000);
    // deep merge: each layer changed one field of the section
    expect(fromFiles.config.Compression).toEqual({
      enabled: true,
      threshold: 2,
      level: 3,
      encodings: ['gzip'],
      streams: false,
    });
    expect(fromFiles.sources).toEqual([join(dir, 'default.json'), join(dir, 'production.json'), user]);

    const withEnv = loadConfig({
      configDir: dir,
      env: { ...base, PORT: '4000', HOST: '0.0.0.0', LOG_LEVEL: 'error' },
    });
    expect(withEnv.config.PORT).toBe(4000);
    expect(withEnv.config.HOST).toBe('0.0.0.0');
    expect(withEnv.config.Logging.level).toBe('error');
  });

  it('a NODE_ENV without an environment file is one warning listing the files there are, not an error', () => {
    const dir = configDir({}, { production: {}, development: {}, test: {} });
    const staging = loadConfig({ configDir: dir, env: { HOME: tempDir(), NODE_ENV: 'staging' } });
    expect(staging.warnings).toEqual([
      `NODE_ENV=staging has no environment file ${join(dir, 'staging.json')}: only the defaults, the user file ` +
        `and the environment apply (environment files in ${dir}: development, production, test)`,
    ]);
    expect(staging.sources).toEqual([join(dir, 'default.json')]);
    const production = loadConfig({ configDir: dir, env: { HOME: tempDir(), NODE_ENV: 'production' } });
    expect(production.warnings).toEqual([]);
  });

  it('REDIS_URL enables Redis', () => {
    const loaded = loadConfig({ env: { HOME: tempDir(), REDIS_URL: 'redis://127.0.0.1:6390/2' } });
    expect(loaded.config.Redis.enabled).toBe(true);
    expect(loaded.config.Redis.url).toBe('redis://127.0.0.1:6390/2');
  });

  it('falls back to ~/.claude-code-router/config.json when SWITCHYARD_CONFIG is unset', () => {
    const home = tempDir();
    mkdirSync(join(home, '.claude-code-router'));
    const file = writeJson(join(home, '.claude-code-router'), 'config.json', { PORT: 4567 });
    const loaded = loadConfig({ env: { HOME: home } });
    expect(loaded.userFile).toBe(file);
    expect(loaded.config.PORT).toBe(4567);
  });

  it("HOST from CCR's own config file without APIKEY listens on loopback, as CCR does, with a warning", () => {
    const home = tempDir();
    mkdirSync(join(home, '.claude-code-router'));
    const dir = join(home, '.claude-code-router');
    writeJson(dir, 'config.json', { HOST: '0.0.0.0' });
    const loaded = loadConfig({ env: { HOME: home } });
    expect(loaded.config.HOST).toBe('127.0.0.1');
    expect(loaded.warnings.join('\n')).toMatch(/HOST 0\.0\.0\.0 .*without APIKEY: listening on 127\.0\.0\.1/);
    // With a key, or HOST from the environment or a Switchyard config file, HOST is what was written.
    writeJson(dir, 'config.json', { HOST: '0.0.0.0', APIKEY: 'k' });
    expect(loadConfig({ env: { HOME: home } }).config.HOST).toBe('0.0.0.0');
    writeJson(dir, 'config.json', { PORT: 4567 });
    expect(loadConfig({ env: { HOME: home, HOST: '0.0.0.0' } }).config.HOST).toBe('0.0.0.0');
    const own = writeJson(tempDir(), 'switchyard.json', { HOST: '0.0.0.0' });
    expect(loadConfig({ env: { HOME: home, SWITCHYARD_CONFIG: own } }).config.HOST).toBe('0.0.0.0');
  });

  it('reads JSON5 user files (comments, trailing commas, unquoted keys)', () => {
    const file = writeJson(tempDir(), 'c.json', `{\n // comment\n PORT: 5555, /* block */\n LOG: false,\n}`);
    const loaded = loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: file } });
    expect(loaded.config.PORT).toBe(5555);
    expect(loaded.config.LOG).toBe(false);
  });

  it('expands $VAR and ${VAR} in every string', () => {
    const file = writeJson(tempDir(), 'c.json', {
      Providers: [
        {
          ...provider,
          api_key: '$KEY_A',
          api_base_url: 'http://${HOST_B}:8080/v1',
          headers: { x: 'pre-${KEY_A}-post' },
        },
      ],
    });
    const loaded = loadConfig({
      env: { HOME: tempDir(), SWITCHYARD_CONFIG: file, KEY_A: 'secret-a', HOST_B: 'example.test' },
    });
    const p = loaded.config.Providers[0];
    expect(p.api_key).toBe('secret-a');
    expect(p.api_base_url).toBe('http://example.test:8080/v1');
    expect(p.headers).toEqual({ x: 'pre-secret-a-post' });
  });

  it('an unset variable in a required field is an error naming the key path and the variable', () => {
    const file = writeJson(tempDir(), 'c.json', {
      Providers: [{ ...provider, api_base_url: '${MISSING_URL}' }],
    });
    expectConfigError(
      () => loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: file } }),
      'Providers[0].api_base_url',
      'MISSING_URL',
      file,
    );
  });

  it('an unset variable in an optional field is a warning, not an error', () => {
    const file = writeJson(tempDir(), 'c.json', { Providers: [{ ...provider, api_key: '$NOPE' }] });
    const loaded = loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: file } });
    expect(loaded.config.Providers[0].api_key).toBeUndefined();
    expect(loaded.warnings.join('\n')).toContain('Providers[0].api_key');
    expect(loaded.warnings.join('\n')).toContain('$NOPE');
  });

  it('loads a full Claude Code Router config unchanged, with one warning per unsupported key', () => {
    const loaded = loadConfig({
      env: {
        HOME: tempDir(),
        SWITCHYARD_CONFIG: CCR_EXAMPLE,
        OPENROUTER_API_KEY: 'or-key',
        DEEPSEEK_API_KEY: 'ds-key',
      },
    });
    const c = loaded.config;
    expect(c.APIKEY).toBe('your-secret-key');
    expect(c.Providers.map((p) => p.name)).toEqual([
      'openrouter',
      'deepseek',
      'ollama',
      'gemini',
      'volcengine',
      'modelscope',
      'anthropic',
    ]);
    expect(c.Providers[0].api_key).toBe('or-key');
    expect(c.Providers[1].api_key).toBe('ds-key');
    expect(c.Providers[1].transformer).toEqual({ use: ['deepseek'], 'deepseek-chat': { use: ['tooluse'] } });
    expect(c.Providers[5].transformer?.use).toEqual([['maxtoken', { max_tokens: 65536 }], 'enhancetool']);
    expect(c.Router.default).toBe('deepseek,deepseek-chat');
    expect(c.Router.longContextThreshold).toBe(60000);
    expect(c.fallback).toEqual({ default: ['openrouter,anthropic/claude-sonnet-4'] });
    expect(c.PROXY_URL).toBe('http://127.0.0.1:7890');
    expect(c.CUSTOM_ROUTER_PATH).toBe('/tmp/custom-router.js');
    const warnings = loaded.warnings.join('\n');
    expect(loaded.warnings.filter((w) => w.includes('"NON_INTERACTIVE_MODE"'))).toHaveLength(1);
    expect(loaded.warnings.filter((w) => w.includes('"StatusLine"'))).toHaveLength(1);
    expect(warnings).not.toContain('"Providers"');
  });

  it('loads examples/performance-config.json, which sets every section', () => {
    const file = resolve(__dirname, '../../examples/performance-config.json');
    const loaded = loadConfig({
      env: { HOME: tempDir(), SWITCHYARD_CONFIG: file, SWITCHYARD_API_KEY: 'k', OPENROUTER_API_KEY: 'o' },
    });
    expect(loaded.warnings).toEqual([
      expect.stringContaining('$DEEPSEEK_API_KEY'),
      expect.stringContaining('$ANTHROPIC_API_KEY'),
      expect.stringContaining('$GEMINI_API_KEY'),
    ]);
    expect(loaded.config.APIKEY).toBe('k');
    expect(loaded.config.Router.default).toEqual([
      'deepseek,deepseek-chat',
      'openrouter,anthropic/claude-sonnet-4',
    ]);
    expect(loaded.config.JobQueue.enabled).toBe(true);
  });

  it('an unknown top-level key is one warning and is dropped', () => {
    const file = writeJson(tempDir(), 'c.json', { SomethingNew: { a: 1 } });
    const loaded = loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: file } });
    expect(loaded.warnings).toEqual([expect.stringContaining('"SomethingNew"')]);
    expect((loaded.config as Record<string, unknown>).SomethingNew).toBeUndefined();
  });

  describe('validation errors name the key path, the problem and the file', () => {
    const cases: Array<[string, Record<string, unknown>, string[]]> = [
      ['PORT of the wrong type', { PORT: 'eighty' }, ['PORT', 'expected number']],
      ['PORT out of range', { PORT: 70000 }, ['PORT']],
      [
        'provider without models',
        { Providers: [{ ...provider, models: [] }] },
        ['Providers[0].models', 'at least one model'],
      ],
      [
        'provider with a bad URL',
        { Providers: [{ ...provider, api_base_url: 'not a url' }] },
        ['Providers[0].api_base_url', 'URL'],
      ],
      [
        'provider name with a comma',
        { Providers: [{ ...provider, name: 'a,b' }] },
        ['Providers[0].name', 'comma'],
      ],
      [
        'Router target without a comma',
        { Router: { default: 'justamodel' } },
        ['Router.default', 'provider,model'],
      ],
      ['Redis.port of the wrong type', { Redis: { port: 'x' } }, ['Redis.port']],
      ['Logging.level unknown', { Logging: { level: 'loud' } }, ['Logging.level']],
      ['Compression encoding unknown', { Compression: { encodings: ['zip'] } }, ['Compression.encodings[0]']],
      ['Failover.maxRetries negative', { Failover: { maxRetries: -1 } }, ['Failover.maxRetries']],
      [
        'AdaptiveTimeout multiplier not positive',
        { AdaptiveTimeout: { modelMultipliers: { m: 0 } } },
        ['AdaptiveTimeout.modelMultipliers.m'],
      ],
      [
        'JobQueue concurrency zero',
        { JobQueue: { queues: { batch: { priority: 1, concurrency: 0 } } } },
        ['JobQueue.queues.batch.concurrency'],
      ],
      ['fallback not a list', { fallback: { default: 'a,b' } }, ['fallback.default']],
    ];
    it.each(cases)('%s', (_name, content, fragments) => {
      const file = writeJson(tempDir(), 'bad.json', content);
      expectConfigError(
        () => loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: file } }),
        ...fragments,
        file,
      );
    });

    it('a value from a NODE_ENV file names that file', () => {
      const dir = configDir({}, { staging: { PORT: 'x' } });
      expectConfigError(
        () => loadConfig({ configDir: dir, env: { HOME: tempDir(), NODE_ENV: 'staging' } }),
        'PORT',
        join(dir, 'staging.json'),
      );
    });

    it('a value from the environment names the variable', () => {
      expectConfigError(
        () => loadConfig({ env: { HOME: tempDir(), PORT: '99999' } }),
        'PORT',
        '(from environment variable PORT)',
      );
    });

    it('an invalid LOG_LEVEL is one problem, named where it was set (not also Logging.level of a file)', () => {
      const dir = configDir({}, { production: { Logging: { level: 'info' } } });
      let message = '';
      try {
        loadConfig({
          configDir: dir,
          env: { HOME: tempDir(), NODE_ENV: 'production', LOG_LEVEL: 'verbose' },
        });
      } catch (err) {
        message = (err as Error).message;
      }
      const problems = message.split('\n').filter((line) => line.startsWith('  - '));
      expect(problems).toEqual([
        expect.stringMatching(/^ {2}- LOG_LEVEL: .*\(from environment variable LOG_LEVEL\)$/),
      ]);
      const file = writeJson(tempDir(), 'c.json', { LOG_LEVEL: 'loud' });
      expectConfigError(
        () =>
          loadConfig({
            configDir: dir,
            env: { HOME: tempDir(), NODE_ENV: 'production', SWITCHYARD_CONFIG: file },
          }),
        `LOG_LEVEL: Invalid option`,
        file,
      );
    });

    it('a valid LOG_LEVEL still sets Logging.level', () => {
      const loaded = loadConfig({ env: { HOME: tempDir(), NODE_ENV: 'production', LOG_LEVEL: 'warn' } });
      expect(loaded.config.Logging.level).toBe('warn');
    });

    it('--role names the command line, SWITCHYARD_ROLE the environment; the flag wins', () => {
      expectConfigError(
        () => loadConfig({ env: { HOME: tempDir(), SWITCHYARD_ROLE: 'api' }, role: 'bogus' }),
        'JobQueue.role',
        '(from command-line flag --role)',
      );
      expectConfigError(
        () => loadConfig({ env: { HOME: tempDir(), SWITCHYARD_ROLE: 'bogus' } }),
        'JobQueue.role',
        '(from environment variable SWITCHYARD_ROLE)',
      );
      const loaded = loadConfig({ env: { HOME: tempDir(), SWITCHYARD_ROLE: 'api' }, role: 'worker' });
      expect(loaded.config.JobQueue.role).toBe('worker');
    });

    it.each(['localhost:6379', 'http://foo', 'redis://'])(
      'REDIS_URL=%s is a configuration error naming the variable',
      (url) => {
        expectConfigError(
          () => loadConfig({ env: { HOME: tempDir(), REDIS_URL: url } }),
          'invalid configuration:\n  - Redis.url: must be a URL redis://',
          '(from environment variable REDIS_URL)',
        );
      },
    );

    it('Redis.url in a file must be a redis:// or rediss:// URL too', () => {
      const file = writeJson(tempDir(), 'bad.json', { Redis: { enabled: true, url: '10.0.0.5:6379' } });
      expectConfigError(
        () => loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: file } }),
        'Redis.url',
        file,
      );
      for (const url of ['redis://10.0.0.5:6379/2', 'rediss://u:p@h', 'redis+sentinel://h:26379']) {
        const ok = writeJson(tempDir(), 'ok.json', { Redis: { url } });
        expect(loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: ok } }).config.Redis.url).toBe(url);
      }
    });

    it('Redis.sentinels without Redis.name is a config error naming both, not a crash at connect', () => {
      const file = writeJson(tempDir(), 'sentinel.json', {
        Redis: { enabled: true, sentinels: [{ host: '10.0.0.7', port: 26379 }] },
      });
      expectConfigError(
        () => loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: file } }),
        'Redis.sentinels: set without Redis.name (the Sentinel master group name)',
        file,
      );
      const ok = writeJson(tempDir(), 'ok.json', {
        Redis: { sentinels: [{ host: '10.0.0.7', port: 26379 }], name: 'mymaster' },
      });
      expect(loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: ok } }).config.Redis.name).toBe('mymaster');
    });

    it('broken JSON5 names the file and the position', () => {
      const file = writeJson(tempDir(), 'broken.json', '{ PORT: 1,, }');
      expectConfigError(
        () => loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: file } }),
        'JSON5',
        file,
      );
    });

    it('a missing SWITCHYARD_CONFIG file is an error', () => {
      expectConfigError(
        () => loadConfig({ env: { HOME: tempDir(), SWITCHYARD_CONFIG: '/nonexistent/switchyard.json' } }),
        '/nonexistent/switchyard.json',
      );
    });
  });
});

describe('loadConfig: CCR spellings', () => {
  it('loads a file written by `ccr ui` unchanged: "" is unset, numbers may be strings, ~/ is the home', () => {
    const home = tempDir();
    const file = writeJson(home, 'config.json', {
      APIKEY: '',
      PROXY_URL: '',
      HOST: '',
      LOG_LEVEL: '',
      PORT: '3457',
      API_TIMEOUT_MS: '600000',
      CUSTOM_ROUTER_PATH: '~/router.js',
      Providers: [provider],
      Router: {
        default: 'p,m',
        background: '',
        think: '',
        longContext: ' ',
        longContextThreshold: '60000',
        webSearch: '',
        image: '',
      },
    });
    const { config } = loadConfig({ env: { HOME: home, SWITCHYARD_CONFIG: file }, configDir: configDir({}) });
    expect(config.Router.default).toBe('p,m');
    for (const slot of ['background', 'think', 'longContext', 'webSearch', 'image'] as const) {
      expect(config.Router[slot]).toBeUndefined();
    }
    expect(config.APIKEY).toBeUndefined();
    expect(config.PROXY_URL).toBeUndefined();
    expect(config.HOST).toBeUndefined();
    expect(config.PORT).toBe(3457);
    expect(config.API_TIMEOUT_MS).toBe(600000);
    expect(config.CUSTOM_ROUTER_PATH).toBe(join(home, 'router.js'));
    expect(config.Router.longContextThreshold).toBe(60000);
  });

  it('reads a lowercase `providers` as Providers (CCR takes either), unless Providers is there too', () => {
    const home = tempDir();
    const file = writeJson(home, 'config.json', { providers: [provider], Router: { default: 'p,m' } });
    const loaded = loadConfig({ env: { HOME: home, SWITCHYARD_CONFIG: file }, configDir: configDir({}) });
    expect(loaded.config.Providers).toEqual([provider]);
    expect(loaded.warnings.filter((w) => w.includes('providers'))).toEqual([]);

    const both = writeJson(home, 'both.json', { Providers: [provider], providers: [{ ...provider, name: 'q' }] });
    const second = loadConfig({ env: { HOME: home, SWITCHYARD_CONFIG: both }, configDir: configDir({}) });
    expect(second.config.Providers.map((p) => p.name)).toEqual(['p']);
    expect(second.warnings.some((w) => w.includes('"providers"'))).toBe(true);
  });

  it('takes the transformer `use` entries CCR takes: ["name"] and ["name", options, …extra] too', () => {
    const home = tempDir();
    const use = ['openrouter', ['enhancetool'], ['maxtoken', { max_tokens: 8192 }, 'extra']];
    const file = writeJson(home, 'config.json', {
      Providers: [{ ...provider, transformer: { use, m: { use: [['reasoning']] } } }],
    });
    const { config } = loadConfig({ env: { HOME: home, SWITCHYARD_CONFIG: file }, configDir: configDir({}) });
    expect(config.Providers[0].transformer?.use).toEqual(use);
  });

  it('still rejects what CCR would not take either', () => {
    const home = tempDir();
    const file = writeJson(home, 'config.json', { PORT: 'not-a-port', Providers: [provider] });
    expectConfigError(
      () => loadConfig({ env: { HOME: home, SWITCHYARD_CONFIG: file }, configDir: configDir({}) }),
      'PORT',
    );
  });
});
