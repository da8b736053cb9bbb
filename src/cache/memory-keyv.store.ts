import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { LRUCache } from 'lru-cache';

/** The LRU node, the entry object and the key string's header: what an entry costs beyond its bytes. */
const ENTRY_OVERHEAD_BYTES = 96;

/**
 * The value in memory of its own, exactly its size. A small Buffer is usually a slice of something bigger —
 * Node's shared 8 KB allocation pool (Buffer.concat), zlib's 16 KB output chunk, an ioredis socket read — and
 * keeping the slice keeps all of that alive: the memory tier's byte bound would count 1 KB and hold 16.
 */
export function ownBytes(value: Buffer): Buffer {
  if (value.byteOffset === 0 && value.buffer.byteLength === value.byteLength) {
    return value;
  }
  const own = Buffer.allocUnsafeSlow(value.byteLength);
  value.copy(own);
  return own;
}

/** What Keyv hands a store when its serializer is off: the value and its absolute expiry. */
export interface StoredEntry {
  value: Buffer;
  expires?: number;
}

export interface MemoryEntryDump {
  key: string;
  value: Buffer;
  expiresAt: number;
}

/**
 * The memory tier: a Keyv store over an lru-cache bounded by BYTES (compressed entry + key), not by count —
 * entries range from a few hundred bytes to megabytes, so a count cap would bound nothing (STYLE.md habit 8).
 * Expiry is the LRU's own per-entry TTL; an entry larger than the whole budget is refused, never stored.
 */
export class MemoryLruStore extends EventEmitter implements KeyvStoreAdapter {
  opts: Record<string, unknown> = {};
  namespace?: string;
  private readonly lru: LRUCache<string, StoredEntry>;

  /** `onDispose` hears every key that leaves (evicted, expired, deleted, overwritten, cleared). */
  constructor(
    readonly maxBytes: number,
    onDispose?: (key: string) => void,
  ) {
    super();
    this.lru = new LRUCache<string, StoredEntry>({
      maxSize: maxBytes,
      sizeCalculation: (entry, key) => entry.value.byteLength + key.length + ENTRY_OVERHEAD_BYTES,
      dispose: onDispose ? (_value, key) => onDispose(key) : undefined,
    });
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.lru.get(key) as StoredData<Value> | undefined;
  }

  async set(key: string, entry: StoredEntry, ttl?: number): Promise<boolean> {
    if (!Buffer.isBuffer(entry?.value)) {
      return false;
    }
    const stored = { ...entry, value: ownBytes(entry.value) };
    this.lru.set(key, stored, { ttl: ttl !== undefined && ttl > 0 ? ttl : undefined });
    return this.lru.has(key);
  }

  async delete(key: string): Promise<boolean> {
    return this.lru.delete(key);
  }

  async clear(): Promise<void> {
    this.lru.clear();
  }

  has(key: string): Promise<boolean> {
    return Promise.resolve(this.lru.has(key));
  }

  get entries(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  /** Drops expired entries so that counts and bytes describe live data. */
  purgeStale(): void {
    this.lru.purgeStale();
  }

  /** Remaining time to live in ms; Infinity for no TTL, 0 when absent or expired. */
  remainingTtl(key: string): number {
    return this.lru.getRemainingTTL(key);
  }

  /** Live entries, most recently used first, with absolute expiry times (snapshots). */
  *dump(now = Date.now()): Generator<MemoryEntryDump> {
    for (const [key, entry] of this.lru.entries()) {
      const remaining = this.lru.getRemainingTTL(key);
      if (remaining > 0 && Number.isFinite(remaining)) {
        yield { key, value: entry.value, expiresAt: Math.round(now + remaining) };
      }
    }
  }
}
