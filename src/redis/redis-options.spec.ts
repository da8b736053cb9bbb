import { loadConfig } from '../config/load-config';
import {
  assertUsable,
  clusterOptions,
  dedicatedOptions,
  hotOptions,
  reconnectDelay,
  topologyOf,
  type RedisSettings,
} from './redis-options';

const settings = (redis: Record<string, unknown> = {}, env: Record<string, string> = {}): RedisSettings =>
  loadConfig({ env: { NODE_ENV: 'test', HOME: '/nonexistent', ...env }, overrides: { Redis: redis } }).config
    .Redis;

describe('redis options', () => {
  it('hot path: fail fast, lazy, reconnect forever, from REDIS_URL', () => {
    const o = hotOptions(settings({}, { REDIS_URL: 'rediss://u%40x:p%3Aw@cache.example:6380/2' }));
    expect(o).toMatchObject({
      host: 'cache.example',
      port: 6380,
      username: 'u@x',
      password: 'p:w',
      db: 2,
      tls: {},
      enableOfflineQueue: false,
      commandTimeout: 250,
      lazyConnect: true,
      connectionName: 'switchyard:hot',
    });
    expect(o.retryStrategy?.(1000)).toBe(500);
  });

  it('dedicated (BullMQ): maxRetriesPerRequest null, no command timeout, offline queue on', () => {
    const o = dedicatedOptions(settings({ host: 'h', port: 7000, password: 'pw', db: 3 }), 'bullmq');
    expect(o).toMatchObject({ host: 'h', port: 7000, password: 'pw', db: 3, maxRetriesPerRequest: null });
    expect(o.commandTimeout).toBeUndefined();
    expect(o.enableOfflineQueue).toBe(true);
    expect(o.connectionName).toBe('switchyard:bullmq');
  });

  it('Sentinel: sentinels + master name replace host/port', () => {
    const s = settings({
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'mymaster',
      sentinelPassword: 'spw',
      password: 'pw',
    });
    expect(topologyOf(s)).toBe('sentinel');
    const o = hotOptions(s);
    expect(o).toMatchObject({
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'mymaster',
      sentinelPassword: 'spw',
    });
    expect(o.password).toBe('pw');
    expect(o.host).toBeUndefined();
    expect(() => assertUsable(settings({ sentinels: [{ host: 's1', port: 26379 }] }))).toThrow(/Redis.name/);
  });

  it('Cluster: node options without db/host, cluster-level offline queue off on the hot path', () => {
    const s = settings({ cluster: [{ host: 'n1', port: 7000 }], password: 'pw' });
    expect(topologyOf(s)).toBe('cluster');
    const hot = clusterOptions(s, hotOptions(s), true);
    expect(hot.enableOfflineQueue).toBe(false);
    expect(hot.lazyConnect).toBe(true);
    expect(hot.redisOptions).toMatchObject({ password: 'pw', commandTimeout: 250 });
    expect(hot.redisOptions).not.toHaveProperty('db');
    expect(hot.redisOptions).not.toHaveProperty('host');
    const bull = clusterOptions(s, dedicatedOptions(s, 'bullmq'), false);
    expect(bull.enableOfflineQueue).toBe(true);
    expect(bull.redisOptions?.maxRetriesPerRequest).toBeNull();
  });

  it('reconnect delay doubles from 100 ms and caps at 500 ms', () => {
    expect([1, 2, 3, 4, 10].map(reconnectDelay)).toEqual([100, 200, 400, 500, 500]);
    expect(topologyOf(settings())).toBe('standalone');
  });
});
