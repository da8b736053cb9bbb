import { IGNORED_CCR_KEYS } from '../config/config.schema';
import { convertCcrConfig, describeKeys } from './ccr-convert';

describe('describeKeys', () => {
  it('classifies keys by the schema’s own sets', () => {
    const keys = describeKeys({ Providers: [], LOG_LEVEL: 'info', Redis: {}, StatusLine: {}, Foo: 1 });
    expect(keys.map((k) => [k.key, k.status, k.target])).toEqual([
      ['Providers', 'used', 'Providers'],
      ['LOG_LEVEL', 'used', 'Logging.level'],
      ['Redis', 'switchyard', 'Redis'],
      ['StatusLine', 'ignored', undefined],
      ['Foo', 'unsupported', undefined],
    ]);
  });

  it('reports a lowercase `providers` as used, as Providers (CCR reads either); not when Providers is there', () => {
    expect(describeKeys({ providers: [] })[0]).toMatchObject({ key: 'providers', status: 'used', target: 'Providers' });
    expect(describeKeys({ Providers: [], providers: [] })[1]).toMatchObject({ key: 'providers', status: 'unsupported' });
  });

  it('has advice for every CCR key the loader ignores', () => {
    for (const key of IGNORED_CCR_KEYS) {
      expect(describeKeys({ [key]: true })[0].note).not.toBe('a CCR setting Switchyard does not use');
    }
  });
});

describe('convertCcrConfig', () => {
  it('leaves out unused keys and fixes CCR spellings the loader rejects, nothing else', () => {
    const raw = {
      APIKEY: '',
      PROXY_URL: ' ',
      PORT: '3457',
      CUSTOM_ROUTER_PATH: '~/r.js',
      Router: { default: 'a,b', longContextThreshold: '1000' },
      Providers: [{ name: 'a', api_key: '$KEY' }],
      CLAUDE_PATH: '/bin/claude',
      Weird: 1,
    };
    const { config, fixes } = convertCcrConfig(raw, '/home/me');
    expect(config).toEqual({
      PORT: 3457,
      CUSTOM_ROUTER_PATH: '/home/me/r.js',
      Router: { default: 'a,b', longContextThreshold: 1000 },
      Providers: [{ name: 'a', api_key: '$KEY' }],
    });
    expect(fixes).toHaveLength(7);
    expect(raw.Router.longContextThreshold).toBe('1000');
  });

  it('writes a lowercase `providers` as Providers', () => {
    const providers = [{ name: 'a', api_key: '$KEY', models: ['m'] }];
    const { config, fixes } = convertCcrConfig({ providers, Router: { default: 'a,m' } }, '/home/me');
    expect(config).toEqual({ Providers: providers, Router: { default: 'a,m' } });
    expect(fixes).toEqual(['providers: read as Providers (CCR accepts both spellings)']);
  });
});
