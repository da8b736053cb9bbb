import type { Cluster, Redis } from 'ioredis';
import { sha256Hex } from './canonical-key';
import type { IoredisKeyvStore, TierOutcome } from './ioredis-keyv.store';

/** A purge is an admin call, not a request: it may take longer than one command. */
const ADMIN_TIMEOUT_MS = 10_000;

/** `<keyPrefix>cache-target:v1:<sha256(target)>`: the RedisService.key scheme, usable without Nest (scripts). */
export function targetIndexKey(keyPrefix: string, target: string): string {
  return `${keyPrefix}cache-target:v1:${sha256Hex(target)}`;
}

/**
 * Adds a member, drops expired ones and extends (never shortens) the index TTL, atomically: a ZADD whose
 * PEXPIRE got lost would leave a key without TTL, which this project never writes.
 */
const ADD_SCRIPT = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1`;

export async function addToTargetIndex(
  client: Redis | Cluster,
  indexKey: string,
  entryKey: string,
  ttlMs: number,
  now = Date.now(),
): Promise<void> {
  await client.eval(ADD_SCRIPT, 1, indexKey, now + ttlMs, entryKey, now, Math.ceil(ttlMs));
}

/**
 * Which cache keys belong to which target, so `DELETE /api/cache?target=…` purges one target without
 * decompressing entries. In memory: maps kept exactly in step with the LRU (its dispose hook removes keys),
 * so they are bounded by it. In Redis: one sorted set per target, member = entry key, score = its expiry;
 * a sorted set rather than a plain SET so each write can drop expired members (ZREMRANGEBYSCORE) — a busy
 * target's index would otherwise grow forever, its TTL being refreshed by every write.
 */
export class MemoryTargetIndex {
  private readonly targetOf = new Map<string, string>();
  private readonly keysOf = new Map<string, Set<string>>();

  add(key: string, target: string): void {
    this.remove(key);
    this.targetOf.set(key, target);
    let keys = this.keysOf.get(target);
    if (!keys) {
      keys = new Set();
      this.keysOf.set(target, keys);
    }
    keys.add(key);
  }

  remove(key: string): void {
    const target = this.targetOf.get(key);
    if (target === undefined) {
      return;
    }
    this.targetOf.delete(key);
    const keys = this.keysOf.get(target);
    keys?.delete(key);
    if (keys?.size === 0) {
      this.keysOf.delete(target);
    }
  }

  keys(target: string): string[] {
    return [...(this.keysOf.get(target) ?? [])];
  }

  target(key: string): string | undefined {
    return this.targetOf.get(key);
  }

  clear(): void {
    this.targetOf.clear();
    this.keysOf.clear();
  }
}

export class RedisTargetIndex {
  constructor(
    private readonly store: IoredisKeyvStore,
    private readonly keyPrefix: string,
  ) {}

  /**
   * Records `key` under `target` for `ttlMs`; the index itself lives as long as its newest entry. Returns
   * whether the entry is in Redis (asked in the same round trip; a member without its entry is harmless).
   */
  async add(key: string, target: string, ttlMs: number): Promise<boolean> {
    const idx = targetIndexKey(this.keyPrefix, target);
    return this.store.run(async (c) => {
      // Two keys, possibly two Cluster slots: never one pipeline; sent together, still one round trip.
      const [exists] = await Promise.all([c.exists(key), addToTargetIndex(c, idx, key, ttlMs)]);
      return exists === 1;
    }, false);
  }

  /** Deletes every live entry of `target` and its index: how many entries were removed, or why not. */
  async purge(target: string): Promise<TierOutcome<number>> {
    const idx = targetIndexKey(this.keyPrefix, target);
    return this.store.attempt(async (c) => {
      const keys = await c.zrange(idx, 0, -1);
      // One UNLINK per key, sent together: in a Cluster the entries live in different slots.
      const removed = await Promise.all(keys.map((k) => c.unlink(k)));
      await c.unlink(idx);
      return removed.filter((n) => n === 1).length;
    }, ADMIN_TIMEOUT_MS);
  }
}
