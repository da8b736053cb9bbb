import { resolveUserPath } from '../common/user-path';
import { readSnapshot, writeSnapshot, type SnapshotEntry } from './cache-snapshot';
import type { MemoryLruStore } from './memory-keyv.store';
import type { MemoryTargetIndex } from './target-index';

/**
 * Saves the memory tier to `Cache.snapshotPath` on shutdown and restores it at start, so a restarted
 * single instance (no Redis) does not begin cold. Expired entries are skipped both ways.
 */
export class CacheSnapshotter {
  private readonly path: string | null;

  /** `path` as configured: `~/…` is the home folder, a relative path is from the working directory. */
  constructor(
    path: string | null,
    private readonly keyPrefix: string,
    private readonly memory: MemoryLruStore,
    private readonly index: MemoryTargetIndex,
  ) {
    this.path = path ? resolveUserPath(path) : null;
  }

  async save(now = Date.now()): Promise<{ path: string; entries: number } | undefined> {
    if (!this.path) {
      return undefined;
    }
    const entries: SnapshotEntry[] = [];
    for (const { key, value, expiresAt } of this.memory.dump(now)) {
      const target = this.index.target(key);
      if (target !== undefined) {
        entries.push({ key, target, expiresAt, data: value.toString('base64') });
      }
    }
    await writeSnapshot(this.path, { v: 1, savedAt: now, keyPrefix: this.keyPrefix, entries });
    return { path: this.path, entries: entries.length };
  }

  async load(now = Date.now()): Promise<{ path: string; loaded: number; expired: number } | undefined> {
    if (!this.path) {
      return undefined;
    }
    const snapshot = await readSnapshot(this.path);
    if (!snapshot) {
      return undefined;
    }
    let loaded = 0;
    let expired = 0;
    // The dump is most-recently-used first; inserting oldest first restores the same LRU order.
    for (const entry of [...snapshot.entries].reverse()) {
      const remaining = entry.expiresAt - now;
      if (remaining <= 0) {
        expired++;
        continue;
      }
      const value = Buffer.from(entry.data, 'base64');
      if (await this.memory.set(entry.key, { value, expires: entry.expiresAt }, remaining)) {
        this.index.add(entry.key, entry.target);
        loaded++;
      }
    }
    return { path: this.path, loaded, expired };
  }
}
