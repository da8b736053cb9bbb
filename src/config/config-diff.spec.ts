import {
  changedKeys,
  keepRunningValues,
  restartRequiredChanges,
  RESTART_REQUIRED,
  staleTargets,
} from './config-diff';
import type { SwitchyardConfig } from './config.schema';
import { loadConfig } from './load-config';

const base = (): SwitchyardConfig =>
  loadConfig({ env: { NODE_ENV: 'test', HOME: '/nonexistent-switchyard-home' } }).config;

describe('changedKeys', () => {
  it('is empty for equal configurations, however they were built', () => {
    expect(changedKeys(base(), base())).toEqual([]);
  });

  it('names each top-level key whose value differs deeply, sorted', () => {
    const next = base();
    next.Router.default = 'a,b';
    next.RateLimit.client.rpm = 5;
    next.Providers = [{ name: 'a', api_base_url: 'http://a.test/v1', models: ['b'] }];
    expect(changedKeys(base(), next)).toEqual(['Providers', 'RateLimit', 'Router']);
  });

  it('counts a key present on one side only', () => {
    const next = base();
    next.CUSTOM_ROUTER_PATH = '/tmp/router.js';
    expect(changedKeys(base(), next)).toEqual(['CUSTOM_ROUTER_PATH']);
  });
});

describe('restartRequiredChanges', () => {
  it('names the concrete path of every restart-only setting that differs', () => {
    const next = base();
    next.PORT = 9999;
    next.Redis.password = 'secret';
    next.JobQueue.queues.batch.concurrency = 3;
    next.Logging.level = 'debug';
    next.Compression.streams = true; // reloadable
    next.Cache.ttl = 10; // reloadable
    expect(restartRequiredChanges(base(), next)).toEqual([
      'PORT',
      'Logging',
      'Redis',
      'JobQueue.queues.batch.concurrency',
    ]);
  });

  it('ignores reloadable settings', () => {
    const next = base();
    next.Router.default = 'x,y';
    next.APIKEY = 'k';
    next.API_TIMEOUT_MS = 1000;
    next.Failover.maxRetries = 0;
    next.AdaptiveTimeout.baseTimeout = 10;
    next.Affinity.ttlSec = 5;
    expect(restartRequiredChanges(base(), next)).toEqual([]);
  });

  it('notices an optional restart-only key that appears', () => {
    const next = base();
    next.JobQueue.redis = { host: 'q', port: 6380 };
    next.HOST = '0.0.0.0';
    expect(restartRequiredChanges(base(), next)).toEqual(['HOST', 'JobQueue.redis']);
  });
});

describe('keepRunningValues', () => {
  it('puts restart-only settings back to their running values and leaves the rest', () => {
    const running = base();
    const next = base();
    next.PORT = 9999;
    next.HOST = '0.0.0.0';
    next.Redis.url = 'redis://other:6379';
    next.JobQueue.queues.batch.concurrency = 3;
    next.JobQueue.queues.batch.maxWaitMs = 5;
    next.Router.default = 'x,y';
    const effective = keepRunningValues(running, next);
    expect(effective.PORT).toBe(running.PORT);
    expect('HOST' in effective).toBe(false);
    expect(effective.Redis).toEqual(running.Redis);
    expect(effective.JobQueue.queues.batch).toEqual({ ...running.JobQueue.queues.batch, maxWaitMs: 5 });
    expect(effective.Router.default).toBe('x,y');
    expect(restartRequiredChanges(running, effective)).toEqual([]);
  });

  it('changes neither input', () => {
    const running = base();
    const next = base();
    next.PORT = 1;
    keepRunningValues(running, next);
    expect(next.PORT).toBe(1);
    expect(running.PORT).toBe(0);
  });

  it('lists only keys of the schema', () => {
    const keys = new Set(Object.keys(base()));
    for (const pattern of RESTART_REQUIRED) {
      const top = pattern.split('.')[0];
      expect(keys.has(top) || top === 'HOST' || top === 'LOG_LEVEL').toBe(true);
    }
  });
});

describe('staleTargets', () => {
  const p = (name: string, models: string[], url = `https://${name}.example/v1/chat/completions`) => ({
    name,
    api_base_url: url,
    api_key: `sk-${name}`,
    models,
  });
  const cfg = (...providers: ReturnType<typeof p>[]) =>
    ({ Providers: providers }) as unknown as SwitchyardConfig;

  it('takes every target of a removed provider or one with another endpoint, and removed models', () => {
    const before = cfg(p('a', ['m1', 'm2']), p('b', ['x']), p('c', ['k1', 'k2']));
    const after = cfg(p('b', ['x'], 'https://elsewhere.example/v1'), p('c', ['k1']));
    const known = ['a,m1', 'a,old', 'b,x', 'c,k1', 'c,k2', 'c2,k1'];
    const stale = staleTargets(before, after, known);
    expect(stale.targets.sort()).toEqual(['a,m1', 'a,m2', 'a,old', 'b,x', 'c,k2']);
    expect(stale.providers.sort()).toEqual(['a', 'b']);
  });

  it('is empty when the providers are the same', () => {
    const both = cfg(p('a', ['m1']));
    expect(staleTargets(both, cfg(p('a', ['m1'])), ['a,m1', 'A,m1'])).toEqual({ targets: [], providers: [] });
  });
});
