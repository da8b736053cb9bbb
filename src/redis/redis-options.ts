import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { SwitchyardConfig } from '../config/config.schema';

/**
 * ioredis options for the two connection roles (ARCHITECTURE.md §3), as pure functions of the `Redis`
 * config section so each topology (standalone, Sentinel, Cluster) can be checked without a server.
 */

export type RedisSettings = SwitchyardConfig['Redis'];
export type RedisTopology = 'standalone' | 'sentinel' | 'cluster';

/** Reconnect quickly but never hammer: 50 ms doubling, capped so recovery is noticed within ~0.5 s. */
export const reconnectDelay = (times: number): number => Math.min(50 * 2 ** Math.min(times, 4), 500);

export function topologyOf(redis: RedisSettings): RedisTopology {
  if (redis.cluster && redis.cluster.length > 0) {
    return 'cluster';
  }
  return redis.sentinels && redis.sentinels.length > 0 ? 'sentinel' : 'standalone';
}

/** A misconfiguration that would only show up as endless reconnects fails at startup instead. */
export function assertUsable(redis: RedisSettings): void {
  if (topologyOf(redis) === 'sentinel' && !redis.name) {
    throw new Error('Redis.sentinels is set but Redis.name (the Sentinel master group name) is missing');
  }
}

/** Address, credentials, db and TLS: from `Redis.url` when given, else from host/port/password/db. */
function addressing(redis: RedisSettings): RedisOptions {
  const base: RedisOptions = {
    host: redis.host,
    port: redis.port,
    password: redis.password,
    db: redis.db,
  };
  if (!redis.url) {
    return base;
  }
  const url = new URL(redis.url);
  const db = url.pathname.replace('/', '');
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    password: url.password ? decodeURIComponent(url.password) : redis.password,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    db: db ? Number(db) : redis.db,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
}

function withTopology(redis: RedisSettings, options: RedisOptions): RedisOptions {
  if (topologyOf(redis) !== 'sentinel') {
    return options;
  }
  // Sentinel resolves the master's address itself; host/port would only confuse the connector.
  const { host: _host, port: _port, ...rest } = options;
  return {
    ...rest,
    sentinels: redis.sentinels,
    name: redis.name,
    sentinelPassword: redis.sentinelPassword,
    sentinelRetryStrategy: reconnectDelay,
  };
}

/**
 * The hot path: no offline queue (a command while disconnected rejects at once instead of waiting for the
 * reconnect), a short per-command timeout, and reconnects forever in the background.
 */
export function hotOptions(redis: RedisSettings): RedisOptions {
  return withTopology(redis, {
    ...addressing(redis),
    connectionName: 'switchyard:hot',
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: redis.commandTimeoutMs,
    connectTimeout: Math.max(redis.commandTimeoutMs * 4, 1000),
    maxRetriesPerRequest: redis.maxRetries,
    retryStrategy: reconnectDelay,
  });
}

/**
 * A separate connection for blocking and long-lived work (BullMQ): `maxRetriesPerRequest: null` as BullMQ
 * requires, and no command timeout, which would cut its blocking commands (BZPOPMIN and friends).
 */
export function dedicatedOptions(redis: RedisSettings, name: string): RedisOptions {
  return withTopology(redis, {
    ...addressing(redis),
    connectionName: `switchyard:${name}`,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: reconnectDelay,
  });
}

/** Cluster wrapper: per-node options come from `nodeOptions` minus what Cluster manages itself. */
export function clusterOptions(
  redis: RedisSettings,
  nodeOptions: RedisOptions,
  failFast: boolean,
): ClusterOptions {
  const {
    host: _h,
    port: _p,
    db: _db, // Cluster has only db 0.
    retryStrategy: _r,
    enableOfflineQueue: _q,
    lazyConnect: _l,
    ...redisOptions
  } = nodeOptions;
  return {
    redisOptions,
    lazyConnect: true,
    enableOfflineQueue: !failFast,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: Math.max(redis.commandTimeoutMs * 4, 1000),
  };
}
