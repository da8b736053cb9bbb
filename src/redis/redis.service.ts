import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import Redis, { type RedisOptions } from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { withTimeout } from '../common/with-timeout';

export type RedisMode = 'redis' | 'degraded' | 'disabled';

/**
 * The hot-path Redis connection. It never queues commands while disconnected (enableOfflineQueue: false)
 * and every command has a short timeout, so a dead Redis fails fast and callers drop to their local form;
 * ioredis keeps reconnecting in the background and `mode` flips back by itself.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private client?: Redis;
  private lastError?: string;

  constructor(
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('redis');
  }

  onModuleInit(): void {
    if (!this.config.redisConfigured) {
      this.logger.info('Redis not configured: cache, dedup, rate limits and queues run in memory');
      return;
    }
    this.client = new Redis(this.connectionOptions());
    this.client.on('ready', () => {
      this.lastError = undefined;
      this.logger.info('Redis connected');
    });
    this.client.on('error', (err: Error) => {
      // ioredis reports every failed reconnect; log only changes of state.
      if (this.lastError !== err.message) {
        this.lastError = err.message;
        this.logger.warn({ err: err.message }, 'Redis unavailable: running in degraded (in-memory) mode');
      }
    });
    this.client.connect().catch(() => undefined);
  }

  /** Options shared by every connection this project opens (the BullMQ one adds its own overrides). */
  connectionOptions(overrides: RedisOptions = {}): RedisOptions {
    const redis = this.config.get('Redis');
    const base: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: redis.commandTimeoutMs,
      connectTimeout: Math.max(redis.commandTimeoutMs * 4, 1000),
      maxRetriesPerRequest: redis.maxRetries,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
      host: redis.host,
      port: redis.port,
      password: redis.password,
      db: redis.db,
    };
    if (redis.url) {
      const url = new URL(redis.url);
      base.host = url.hostname;
      base.port = Number(url.port || 6379);
      base.password = url.password ? decodeURIComponent(url.password) : redis.password;
      base.username = url.username ? decodeURIComponent(url.username) : undefined;
      const db = url.pathname.replace('/', '');
      base.db = db ? Number(db) : redis.db;
      base.tls = url.protocol === 'rediss:' ? {} : undefined;
    }
    return { ...base, ...overrides };
  }

  get mode(): RedisMode {
    if (!this.client) {
      return 'disabled';
    }
    return this.client.status === 'ready' ? 'redis' : 'degraded';
  }

  /** The hot-path client when it is usable right now, else undefined (callers use their local form). */
  get available(): Redis | undefined {
    return this.client?.status === 'ready' ? this.client : undefined;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  async ping(timeoutMs = 1000): Promise<number> {
    if (!this.client) {
      throw new Error('Redis is not configured');
    }
    const start = performance.now();
    await withTimeout(this.client.ping(), timeoutMs, 'Redis ping');
    return Math.round((performance.now() - start) * 100) / 100;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client) {
      this.client.disconnect();
      this.client = undefined;
    }
  }
}
