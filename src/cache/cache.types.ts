import type { StreamEvent } from '../protocol/types';

/** What the client allows for this request, from its `cache-control` header. */
export interface CachePolicy {
  read: boolean;
  write: boolean;
  /** Only entries stored at most this many seconds ago may answer (`max-age=N`). */
  maxAgeSec?: number;
}

export interface CachedAnswer {
  /** The canonical event log, message_start … message_stop, without pings. A fresh copy per call. */
  events: StreamEvent[];
  storedAt: number;
  tier: 'memory' | 'redis';
  /** "provider,model" that produced the answer. */
  target: string;
}

export type CacheHeaderValue = 'HIT' | 'MISS' | 'BYPASS';

export interface CacheRoute {
  target: string;
  scenario: string;
}

export interface CacheExplanation {
  key: string | null;
  cacheable: boolean;
  reason?: string;
  /** sha256 of each allowlisted field's canonical JSON, or "absent". */
  fields: Record<string, string>;
}

/** Lookups answered (hits) or not (misses) at each tier, and answers each tier took (stores). */
export interface CacheTierCounters {
  hits: { memory: number; redis: number };
  misses: { memory: number; redis: number };
  stores: { memory: number; redis: number };
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses), 0 before the first lookup. */
  hitRate: number;
  stores: number;
  errors: number;
  tiers: {
    memory: { entries: number; bytes: number; maxBytes: number };
    /** `entries` is the last bounded SCAN count (null: not counted yet, Redis unavailable, or too many). */
    redis: { entries: number | null; mode: 'redis' | 'local' | 'disabled' };
  };
  /** Cumulative over stored entries; ratio = rawBytes / storedBytes (null before the first store). */
  compression: { rawBytes: number; storedBytes: number; ratio: number | null };
}

/** What a purge removed from each tier. */
export interface PurgeResult {
  memory: number;
  /** Entries removed from Redis (0 without a Redis tier); null when the Redis tier was not purged. */
  redis: number | null;
  /** Why the Redis tier was not purged (Redis unavailable, a command failed); set exactly when `redis` is null. */
  redisError?: string;
}
