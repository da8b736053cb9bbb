import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { createCache, type Cache } from 'cache-manager';
import type { Keyv } from 'keyv';
import { PinoLogger } from 'nestjs-pino';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import type { CanonicalRequest, StreamEvent } from '../protocol/types';
import { DegradedModeService } from '../redis/degraded-mode.service';
import { RedisService } from '../redis/redis.service';
import { cacheKeyFromDigests, fieldDigests } from './canonical-key';
import {
  codecFor,
  decodeEntrySized,
  encodeEntry,
  refusalReason,
  type CacheEntry,
  type EntryCodec,
} from './cache-entry.codec';
import { DecodedEntries } from './decoded-entries';
import { parseCachePolicy } from './cache-policy';
import { CacheRecorder, replayEvents } from './cache-recorder';
import { CacheSnapshotter } from './cache-snapshotter';
import type {
  CachedAnswer,
  CacheExplanation,
  CachePolicy,
  CacheRoute,
  CacheStats,
  CacheTierCounters,
  PurgeResult,
} from './cache.types';
import { globEscape, rawKeyv } from './cache-tiers';
import { IoredisKeyvStore, type TierOutcome } from './ioredis-keyv.store';
import { MemoryLruStore } from './memory-keyv.store';
import { MemoryTargetIndex, RedisTargetIndex } from './target-index';

type Headers = Record<string, string | string[] | undefined>;

/**
 * The exact-match response cache: a byte-bounded memory LRU in front of Redis, both through cache-manager.
 * Entries are compressed canonical event logs, so any client format can be served from any other's entry.
 * Every public method is total: the cache can make a request faster, never fail it or make it wait on Redis.
 */
@Injectable()
export class CacheService implements OnModuleInit, OnApplicationShutdown {
  private readonly codec: EntryCodec;
  private readonly memoryIndex = new MemoryTargetIndex();
  /**
   * Answers being encoded and written right now. An identical request arriving in that window (the
   * coalesced call has just finished, the entry is not in a tier yet) is served from here instead of
   * paying the upstream again. Entries live only for the duration of one store().
   */
  private readonly pending = new Map<string, { target: string; storedAt: number; events: StreamEvent[] }>();
  readonly memory: MemoryLruStore;
  private readonly decoded: DecodedEntries;
  private readonly redisStore?: IoredisKeyvStore;
  private readonly redisIndex?: RedisTargetIndex;
  private readonly tiers: Cache;
  private readonly snapshotter: CacheSnapshotter;
  private counters = { hits: 0, misses: 0, stores: 0, errors: 0, rawBytes: 0, storedBytes: 0 };
  /** Per tier: a lookup that reaches Redis after a memory miss counts at both tiers. */
  private readonly tierCounters: CacheTierCounters = {
    hits: { memory: 0, redis: 0 },
    misses: { memory: 0, redis: 0 },
    stores: { memory: 0, redis: 0 },
  };
  private redisEntries: number | null = null;

  constructor(
    private readonly config: AppConfigService,
    private readonly redis: RedisService,
    private readonly degraded: DegradedModeService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('cache');
    // The memory tier's size, the snapshot file and the codec's settings are restart-only (config-diff.ts).
    const boot = config.get('Cache');
    this.codec = codecFor(config.get('Compression'));
    this.memory = new MemoryLruStore(boot.maxMemoryBytes, (key) => this.memoryIndex.remove(key));
    // Decoded copies of the hottest memory-tier entries: a quarter of the tier's budget, in JSON bytes.
    this.decoded = new DecodedEntries(Math.floor(boot.maxMemoryBytes / 4));
    const stores = [rawKeyv(this.memory)];
    if (redis.configured) {
      this.redisStore = new IoredisKeyvStore({
        client: () => (degraded.isDistributed('cache') ? redis.available : undefined),
        match: `${globEscape(redis.keyPrefix)}cache:v1:*`,
        commandTimeoutMs: redis.commandTimeoutMs,
        onError: (err) => this.logger.debug({ err: err.message }, 'Redis cache tier error; memory tier used'),
      });
      this.redisIndex = new RedisTargetIndex(this.redisStore, redis.keyPrefix);
      stores.push(rawKeyv(this.redisStore));
    }
    this.tiers = createCache({ stores, ttl: this.ttlMs });
    this.snapshotter = new CacheSnapshotter(
      boot.snapshotPath,
      redis.keyPrefix,
      this.memory,
      this.memoryIndex,
    );
  }

  async onModuleInit(): Promise<void> {
    try {
      const loaded = await this.snapshotter.load();
      if (loaded) {
        this.logger.info(loaded, 'cache snapshot loaded into the memory tier');
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'cache snapshot not loaded');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    try {
      const saved = await this.snapshotter.save();
      if (saved) {
        this.logger.info(saved, 'cache snapshot written');
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'cache snapshot not written');
    }
  }

  /** Read per use: a config reload applies to the next request. */
  private get cfg(): SwitchyardConfig['Cache'] {
    return this.config.get('Cache');
  }

  /** Entries are stored with the TTL in force when they are written. */
  private get ttlMs(): number {
    return (this.cfg.ttl ?? this.config.get('Redis').ttl) * 1000;
  }

  policyFor(headers: Headers): CachePolicy {
    return parseCachePolicy(headers, this.cfg.enabled);
  }

  /** The full cache key (`<prefix>cache:v1:<sha256>`), or undefined when this request is not cacheable. */
  keyFor(req: CanonicalRequest, route: CacheRoute, clientKey?: string): string | undefined {
    if (this.notCacheable(req, route) !== undefined) {
      return undefined;
    }
    return this.redis.key(
      'cache',
      1,
      cacheKeyFromDigests(fieldDigests(req, route.target), this.partition(clientKey)),
    );
  }

  explain(req: CanonicalRequest, route: CacheRoute, clientKey?: string): CacheExplanation {
    const fields = fieldDigests(req, route.target);
    const reason = this.notCacheable(req, route);
    const key = this.redis.key('cache', 1, cacheKeyFromDigests(fields, this.partition(clientKey)));
    return reason === undefined
      ? { key, cacheable: true, fields }
      : { key: null, cacheable: false, reason, fields };
  }

  /** Memory first, then Redis (promoting the entry to memory for its remaining lifetime). Never throws. */
  async get(key: string, maxAgeSec?: number): Promise<CachedAnswer | undefined> {
    const pending = this.pending.get(key);
    if (pending && (maxAgeSec === undefined || Date.now() - pending.storedAt <= maxAgeSec * 1000)) {
      this.counters.hits++;
      this.tierCounters.hits.memory++;
      return {
        events: structuredClone(pending.events),
        storedAt: pending.storedAt,
        tier: 'memory',
        target: pending.target,
      };
    }
    try {
      const [memoryKeyv, redisKeyv] = this.tiers.stores as Array<Keyv<Buffer>>;
      const fromMemory = await this.read(memoryKeyv, key, 'memory', maxAgeSec);
      if (fromMemory) {
        this.counters.hits++;
        this.tierCounters.hits.memory++;
        return fromMemory;
      }
      this.tierCounters.misses.memory++;
      const raw = redisKeyv ? await redisKeyv.get(key, { raw: true }) : undefined;
      const fromRedis = raw?.value ? await this.decode(raw.value, 'redis', maxAgeSec) : undefined;
      if (fromRedis && raw?.value) {
        const remaining = typeof raw.expires === 'number' ? raw.expires - Date.now() : this.ttlMs;
        if (remaining > 0 && (await memoryKeyv.set(key, raw.value, remaining))) {
          this.memoryIndex.add(key, fromRedis.target);
        }
        this.counters.hits++;
        this.tierCounters.hits.redis++;
        return fromRedis;
      }
      if (redisKeyv) {
        this.tierCounters.misses.redis++;
      }
    } catch (err) {
      this.fail(err, 'cache read failed');
    }
    this.counters.misses++;
    return undefined;
  }

  /** Stores a complete, successful log in both tiers; returns whether any tier took it. Never throws. */
  async store(key: string, events: StreamEvent[], target: string): Promise<boolean> {
    const refusal = refusalReason(events, this.cfg.storeStopReasons);
    if (refusal !== undefined) {
      this.logger.debug({ target, refusal }, 'answer not cached');
      return false;
    }
    const entry = {
      v: 1 as const,
      target,
      storedAt: Date.now(),
      events: events.filter((e) => e.type !== 'ping'),
    };
    this.pending.set(key, entry);
    try {
      const { data, rawBytes } = await encodeEntry(entry, this.codec);
      const [memoryKeyv, redisKeyv] = this.tiers.stores as Array<Keyv<Buffer>>;
      // Through cache-manager: one set writes every tier in parallel; each tier reports on its own below.
      await this.tiers.set(key, data, this.ttlMs);
      const inMemory = await memoryKeyv.has(key);
      if (inMemory) {
        this.memoryIndex.add(key, target);
      }
      const inRedis = redisKeyv ? ((await this.redisIndex?.add(key, target, this.ttlMs)) ?? false) : false;
      if (!inMemory && !inRedis) {
        return false;
      }
      this.counters.stores++;
      this.tierCounters.stores.memory += inMemory ? 1 : 0;
      this.tierCounters.stores.redis += inRedis ? 1 : 0;
      this.counters.rawBytes += rawBytes;
      this.counters.storedBytes += data.length;
      return true;
    } catch (err) {
      this.fail(err, 'cache store failed');
      return false;
    } finally {
      if (this.pending.get(key) === entry) {
        this.pending.delete(key);
      }
    }
  }

  stats(): CacheStats {
    this.memory.purgeStale();
    const { hits, misses, stores, rawBytes, storedBytes } = this.counters;
    return {
      hits,
      misses,
      hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
      stores,
      errors: this.counters.errors + (this.redisStore?.errors ?? 0),
      tiers: {
        memory: { entries: this.memory.entries, bytes: this.memory.bytes, maxBytes: this.memory.maxBytes },
        redis: { entries: this.redisEntries, mode: this.degraded.mode('cache') },
      },
      compression: { rawBytes, storedBytes, ratio: storedBytes === 0 ? null : rawBytes / storedBytes },
    };
  }

  /** Hits, misses and stores per tier (Prometheus); lookups and their outcome are in `stats()`. */
  tierCounts(): CacheTierCounters {
    return structuredClone(this.tierCounters);
  }

  /** Recounts the Redis tier (bounded SCAN) for `stats()`; the admin endpoint calls it first. */
  async refreshRedisEntries(budgetMs = 500): Promise<number | null> {
    this.redisEntries = this.redisStore ? await this.redisStore.count(budgetMs) : null;
    return this.redisEntries;
  }

  /**
   * Removes every entry, or only those of one target ("provider,model"). Never throws; a Redis tier that
   * could not be purged (unavailable, failing) is `redis: null` with the reason, never a silent 0.
   */
  async purge(target?: string): Promise<PurgeResult> {
    try {
      let memory = 0;
      let redis: TierOutcome<number> | undefined;
      if (target === undefined) {
        this.memory.purgeStale();
        memory = this.memory.entries;
        await this.memory.clear();
        this.memoryIndex.clear();
        this.decoded.clear();
        redis = await this.redisStore?.clearCount();
      } else {
        for (const key of this.memoryIndex.keys(target)) {
          memory += (await this.memory.delete(key)) ? 1 : 0;
        }
        redis = await this.redisIndex?.purge(target);
      }
      if (redis === undefined || 'value' in redis) {
        return { memory, redis: redis?.value ?? 0 };
      }
      this.logger.warn({ target, err: redis.error }, 'cache purge: the Redis tier was not purged');
      return { memory, redis: null, redisError: redis.error };
    } catch (err) {
      this.fail(err, 'cache purge failed');
      return { memory: 0, redis: null, redisError: (err as Error).message };
    }
  }

  /** The answer's events as a stream, paced by `Cache.paceReplayMs` between content deltas (0: at once). */
  replay(answer: CachedAnswer, signal?: AbortSignal): AsyncGenerator<StreamEvent> {
    return replayEvents(answer.events, this.cfg.paceReplayMs, signal);
  }

  /** Records an answer as it streams; `finish()` / the end of `tap()` stores it under `key`. */
  recorder(key: string, target: string): CacheRecorder {
    return new CacheRecorder((events) => this.store(key, events, target));
  }

  private notCacheable(req: CanonicalRequest, route: CacheRoute): string | undefined {
    if (!this.cfg.enabled) {
      return 'cache disabled (Cache.enabled: false)';
    }
    if (!this.cfg.scenarios.includes(route.scenario)) {
      return `scenario ${route.scenario} is not in Cache.scenarios`;
    }
    const limit = this.cfg.skipWhenTemperatureAbove;
    // An absent temperature is the API default, 1.0: sampled answers are as random as an explicit 1.0.
    // An OpenAI client's own value (0–2) counts, not the canonical one clamped to Anthropic's 0–1.
    const sent = req.openai_params?.temperature ?? req.temperature;
    const temperature = typeof sent === 'number' ? sent : 1;
    if (limit !== null && temperature > limit) {
      return `temperature ${temperature} is above Cache.skipWhenTemperatureAbove (${limit})`;
    }
    return undefined;
  }

  private partition(clientKey: string | undefined): string | undefined {
    return this.cfg.partitionByKey ? (clientKey ?? '') : undefined;
  }

  private async read(
    keyv: Keyv<Buffer>,
    key: string,
    tier: CachedAnswer['tier'],
    maxAgeSec: number | undefined,
  ): Promise<CachedAnswer | undefined> {
    const data = await keyv.get(key);
    return data ? this.decode(data, tier, maxAgeSec) : undefined;
  }

  private async decode(
    data: Buffer,
    tier: CachedAnswer['tier'],
    maxAgeSec: number | undefined,
  ): Promise<CachedAnswer | undefined> {
    try {
      const entry = await this.decodeShared(data, tier);
      if (maxAgeSec !== undefined && Date.now() - entry.storedAt > maxAgeSec * 1000) {
        return undefined;
      }
      return { events: entry.events, storedAt: entry.storedAt, tier, target: entry.target };
    } catch (err) {
      this.fail(err, 'undecodable cache entry ignored');
      return undefined;
    }
  }

  /** Memory-tier entries are decoded once while hot (DecodedEntries); Redis reads are fresh Buffers anyway. */
  private async decodeShared(data: Buffer, tier: CachedAnswer['tier']): Promise<CacheEntry> {
    if (tier !== 'memory') {
      return (await decodeEntrySized(data)).entry;
    }
    const known = this.decoded.get(data);
    if (known) {
      return known;
    }
    const { entry, rawBytes } = await decodeEntrySized(data);
    return this.decoded.set(data, entry, rawBytes);
  }

  private fail(err: unknown, msg: string): void {
    this.counters.errors++;
    this.logger.warn({ err: (err as Error).message }, msg);
  }
}
