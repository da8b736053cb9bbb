import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { withTimeout } from '../common/with-timeout';
import {
  assertUsable,
  clusterOptions,
  dedicatedOptions,
  hotOptions,
  topologyOf,
  type RedisSettings,
  type RedisTopology,
} from './redis-options';

export type RedisMode = 'redis' | 'degraded' | 'disabled';
/** A standalone/Sentinel client or a Cluster: both speak the same command API. */
export type RedisClient = Redis | Cluster;
export type RedisStateListener = (up: boolean) => void;

const AREA = /^[a-z][a-z0-9-]*$/;
/** A watchdog ping whose failure came this many times its timeout after it was sent: the loop stalled. */
const STALLED_FACTOR = 1.5;

/**
 * The hot-path Redis connection, its health, and the factory for dedicated connections. The hot client never
 * queues commands while disconnected and every command has a short timeout, so a dead Redis fails fast and
 * callers drop to their local form. Health flips on ioredis connection events and on a ping watchdog (a
 * Redis that is alive at TCP level but stopped answering emits no event); it flips back by itself.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private hot?: RedisClient;
  private healthy = false;
  private lastError?: string;
  private watchdog?: NodeJS.Timeout;
  private probing = false;
  private readonly dedicated = new Set<RedisClient>();
  private readonly listeners = new Set<RedisStateListener>();
  private readonly settings: RedisSettings;

  constructor(
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('redis');
    this.settings = config.get('Redis');
  }

  onModuleInit(): void {
    if (!this.configured) {
      this.logger.info('Redis not configured: cache, dedup, rate limits and queues run in memory');
      return;
    }
    assertUsable(this.settings);
    const client = this.open(hotOptions(this.settings), true);
    this.hot = client;
    client.on('ready', () => {
      this.lastError = undefined;
      this.setHealthy(true);
    });
    client.on('close', () => this.setHealthy(false));
    client.on('end', () => this.setHealthy(false));
    client.on('error', (err: Error) => {
      // ioredis reports every failed reconnect; log only changes.
      if (this.lastError !== err.message) {
        this.lastError = err.message;
        this.logger.warn({ err: err.message }, 'Redis error');
      }
      if (client.status !== 'ready') {
        this.setHealthy(false);
      }
    });
    client.connect().catch(() => undefined);
    this.watchdog = setInterval(() => void this.probe(), this.settings.watchdogIntervalMs);
    this.watchdog.unref();
  }

  get configured(): boolean {
    return this.config.redisConfigured;
  }

  get topology(): RedisTopology {
    return topologyOf(this.settings);
  }

  get mode(): RedisMode {
    if (!this.hot) {
      return 'disabled';
    }
    return this.healthy ? 'redis' : 'degraded';
  }

  /**
   * The hot-path client when it is usable right now, else undefined (callers use their local form). Typed
   * as `Redis` because a Cluster answers the same commands; code that needs topology-specific behaviour
   * (SCAN per master, multi-key commands across slots) checks `topology` / uses `client`.
   */
  get available(): Redis | undefined {
    return this.healthy ? (this.hot as Redis | undefined) : undefined;
  }

  /** The hot-path client whatever its state (tests, diagnostics); commands on it fail fast while down. */
  get client(): RedisClient | undefined {
    return this.hot;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  get keyPrefix(): string {
    return this.settings.keyPrefix;
  }

  /** Default TTL of everything written to Redis, in seconds (`Redis.ttl`). */
  get ttlSeconds(): number {
    return this.settings.ttl;
  }

  get commandTimeoutMs(): number {
    return this.settings.commandTimeoutMs;
  }

  /**
   * The one key scheme: `<keyPrefix><area>:v<version>:<hash>` (ARCHITECTURE.md §3). Versioned so that a
   * format change simply stops matching old keys, which then expire by their TTL.
   */
  key(area: string, version: number, hash: string): string {
    if (!AREA.test(area) || !Number.isInteger(version) || version < 0 || hash.length === 0) {
      throw new Error(`invalid Redis key parts: area=${area} version=${version}`);
    }
    return `${this.settings.keyPrefix}${area}:v${version}:${hash}`;
  }

  /** Subscribes to up/down flips of the hot connection; returns the unsubscribe function. */
  onStateChange(listener: RedisStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async ping(timeoutMs = 1000): Promise<number> {
    if (!this.hot) {
      throw new Error('Redis is not configured');
    }
    const start = performance.now();
    await withTimeout(this.hot.ping(), timeoutMs, 'Redis ping');
    return Math.round((performance.now() - start) * 100) / 100;
  }

  /** Options for BullMQ's `connection` (standalone and Sentinel; a Cluster needs createDedicatedConnection). */
  bullConnectionOptions(name = 'bullmq'): RedisOptions {
    return dedicatedOptions(this.settings, name);
  }

  /**
   * A new connection that is never the hot one (BullMQ, blocking reads). It is owned here and closed on
   * shutdown; callers may close it earlier with `quit()`.
   */
  createDedicatedConnection(name: string): RedisClient {
    if (!this.configured) {
      throw new Error(`Redis is not configured: cannot open the "${name}" connection`);
    }
    assertUsable(this.settings);
    const client = this.open(dedicatedOptions(this.settings, name), false);
    client.on('error', () => undefined); // its owner watches it; an unhandled 'error' would crash the process
    client.once('end', () => this.dedicated.delete(client));
    this.dedicated.add(client);
    return client;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    const clients = [...this.dedicated, ...(this.hot ? [this.hot] : [])];
    this.dedicated.clear();
    this.hot = undefined;
    this.setHealthy(false);
    this.listeners.clear();
    await Promise.all(clients.map((c) => closeQuietly(c)));
  }

  private open(options: RedisOptions, failFast: boolean): RedisClient {
    if (this.topology === 'cluster') {
      const nodes = (this.settings.cluster ?? []).map(({ host, port }) => ({ host, port }));
      return new Cluster(nodes, clusterOptions(this.settings, options, failFast));
    }
    return new Redis(options);
  }

  private async probe(): Promise<void> {
    const client = this.hot;
    if (!client || this.probing) {
      return;
    }
    if (client.status !== 'ready') {
      this.setHealthy(false);
      return;
    }
    this.probing = true;
    try {
      // A ping that "timed out" only because this process's loop was blocked past its deadline (the reply
      // sat unread in the socket) says nothing about Redis: ask again before calling Redis down.
      for (let attempt = 0; ; attempt += 1) {
        const sent = performance.now();
        try {
          await withTimeout(client.ping(), this.settings.commandTimeoutMs, 'Redis watchdog ping');
          this.setHealthy(true);
          return;
        } catch (err) {
          const late = performance.now() - sent > this.settings.commandTimeoutMs * STALLED_FACTOR;
          if (!late || attempt >= 1) {
            this.lastError = (err as Error).message;
            this.setHealthy(false);
            return;
          }
        }
      }
    } finally {
      this.probing = false;
    }
  }

  private setHealthy(up: boolean): void {
    if (this.healthy === up) {
      return;
    }
    this.healthy = up;
    if (up) {
      this.logger.info('Redis available: shared mode');
    } else if (this.hot) {
      this.logger.warn({ err: this.lastError }, 'Redis unavailable: running in degraded (in-memory) mode');
    }
    for (const listener of this.listeners) {
      try {
        listener(up);
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'Redis state listener failed');
      }
    }
  }
}

/** QUIT lets pending replies arrive; a dead server would never answer it, so disconnect after a moment. */
async function closeQuietly(client: RedisClient): Promise<void> {
  if (client.status === 'end') {
    return;
  }
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  try {
    await withTimeout(client.quit(), 500, 'Redis quit');
  } catch {
    client.disconnect();
  }
  // The socket closes after QUIT's reply; shutdown is complete only when it has.
  await withTimeout(ended, 500, 'Redis close').catch(() => client.disconnect());
}
