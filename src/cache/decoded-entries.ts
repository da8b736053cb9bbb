import type { CacheEntry } from './cache-entry.codec';

/**
 * Decoded entries of the memory tier, by the identity of the stored (compressed) Buffer: a hot entry is
 * decompressed and parsed once, not on every hit. Bounded by the decoded JSON's bytes (LRU). The memory
 * tier hands back the very Buffer it stores, so a replaced or evicted entry simply stops matching, and
 * the memo can never serve anything the tier no longer holds under that key.
 *
 * Hits share the decoded events, so they are deep-frozen: a consumer that tried to change a cached event in
 * place would throw rather than corrupt what later hits replay.
 */
export class DecodedEntries {
  private readonly map = new Map<Buffer, { entry: CacheEntry; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(data: Buffer): CacheEntry | undefined {
    const hit = this.map.get(data);
    if (hit) {
      this.map.delete(data); // most recently used last
      this.map.set(data, hit);
    }
    return hit?.entry;
  }

  /** Keeps `entry` (decoded from `data`, `rawBytes` of JSON) unless it is too large to be worth it. */
  set(data: Buffer, entry: CacheEntry, rawBytes: number): CacheEntry {
    if (rawBytes > this.maxBytes / 8) {
      return entry;
    }
    deepFreeze(entry);
    this.map.set(data, { entry, bytes: rawBytes });
    this.bytes += rawBytes;
    for (const [oldest, v] of this.map) {
      if (this.bytes <= this.maxBytes) {
        break;
      }
      this.map.delete(oldest);
      this.bytes -= v.bytes;
    }
    return entry;
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.map.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) {
    return;
  }
  Object.freeze(value);
  for (const v of Object.values(value)) {
    deepFreeze(v);
  }
}
