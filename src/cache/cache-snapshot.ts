import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { addToTargetIndex, targetIndexKey } from './target-index';

/**
 * The memory tier on disk: written on shutdown and read at start when `Cache.snapshotPath` is set, and the
 * input of `npm run migrate:redis`. Each entry keeps its absolute expiry, so whoever reads it later gives
 * it only its remaining lifetime.
 */
export interface SnapshotEntry {
  /** The full cache key (with the key prefix of the instance that wrote it). */
  key: string;
  target: string;
  expiresAt: number;
  /** The stored entry bytes (tag + compressed JSON), base64. */
  data: string;
}

export interface CacheSnapshot {
  v: 1;
  savedAt: number;
  /** `Redis.keyPrefix` of the writer; the migration derives the per-target index keys from it. */
  keyPrefix: string;
  entries: SnapshotEntry[];
}

/** Written next to the target and renamed over it, so a crash mid-write never leaves half a snapshot. */
export async function writeSnapshot(path: string, snapshot: CacheSnapshot): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(snapshot));
  await rename(tmp, path);
}

/** The snapshot at `path`, or undefined when there is none; a malformed file throws. */
export async function readSnapshot(path: string): Promise<CacheSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw err;
  }
  const parsed = JSON.parse(text) as CacheSnapshot;
  if (parsed?.v !== 1 || !Array.isArray(parsed.entries) || typeof parsed.keyPrefix !== 'string') {
    throw new Error(`${path} is not a v1 cache snapshot`);
  }
  return parsed;
}

export interface MigrationReport {
  total: number;
  copied: number;
  skippedExisting: number;
  expired: number;
  dryRun: boolean;
}

/**
 * Copies snapshot entries into Redis with each entry's REMAINING lifetime (SET … PX … NX): an entry already
 * in Redis is left alone (it is as fresh or fresher), so a rerun copies nothing twice. Per-target indexes
 * are added so that purge by target also finds migrated entries.
 */
export async function migrateSnapshot(
  snapshot: CacheSnapshot,
  client: Redis | Cluster,
  options: { dryRun?: boolean; now?: number } = {},
): Promise<MigrationReport> {
  const now = options.now ?? Date.now();
  const dryRun = options.dryRun ?? false;
  const report: MigrationReport = {
    total: snapshot.entries.length,
    copied: 0,
    skippedExisting: 0,
    expired: 0,
    dryRun,
  };
  for (const entry of snapshot.entries) {
    const remaining = Math.ceil(entry.expiresAt - now);
    if (remaining <= 0) {
      report.expired++;
      continue;
    }
    const written = dryRun
      ? (await client.exists(entry.key)) === 0
      : (await client.set(entry.key, Buffer.from(entry.data, 'base64'), 'PX', remaining, 'NX')) === 'OK';
    if (!written) {
      report.skippedExisting++;
      continue;
    }
    report.copied++;
    if (!dryRun) {
      await addToTargetIndex(
        client,
        targetIndexKey(snapshot.keyPrefix, entry.target),
        entry.key,
        remaining,
        now,
      );
    }
  }
  return report;
}
