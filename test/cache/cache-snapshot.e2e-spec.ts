import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import {
  migrateSnapshot,
  readSnapshot,
  writeSnapshot,
  type CacheSnapshot,
} from '../../src/cache/cache-snapshot';
import { targetIndexKey } from '../../src/cache/target-index';
import { startRedisServer, type ThrowawayRedis } from '../support/redis-server';
import { startCacheStack, waitFor } from '../redis/harness';
import { answerEvents, request, uniquePrefix } from './fixtures';

const run = promisify(execFile);
const route = { target: 'fake,model-a', scenario: 'default' };

describe('cache snapshot and the migrate:redis script', () => {
  let dir: string;
  let server: ThrowawayRedis;
  let raw: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-snapshot-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(async () => {
    raw.disconnect();
    await server.stop();
  });

  it('writes the memory tier on shutdown and loads it on start, skipping expired entries', async () => {
    const snapshotPath = join(dir, 'nested', 'cache.snapshot.json');
    const first = await startCacheStack(undefined, { Cache: { snapshotPath } });
    const keep = first.cache.keyFor(request('keep'), route) as string;
    await first.cache.store(keep, answerEvents('kept'), route.target);
    await first.close();

    const file = JSON.parse(readFileSync(snapshotPath, 'utf8')) as CacheSnapshot;
    expect(file).toMatchObject({ v: 1, keyPrefix: 'ccr:', entries: [{ key: keep, target: route.target }] });
    expect(file.entries[0].expiresAt).toBeGreaterThan(Date.now() + 3_500_000);
    // Add an already expired entry to the file: it must not come back.
    file.entries.push({ ...file.entries[0], key: 'ccr:cache:v1:expired', expiresAt: Date.now() - 1 });
    await writeSnapshot(snapshotPath, file);

    const second = await startCacheStack(undefined, { Cache: { snapshotPath } });
    const hit = await second.cache.get(keep);
    expect(hit).toMatchObject({ tier: 'memory', target: route.target, events: answerEvents('kept') });
    expect(await second.cache.get('ccr:cache:v1:expired')).toBeUndefined();
    expect(second.cache.stats().tiers.memory.entries).toBe(1);
    expect(await second.cache.purge(route.target)).toEqual({ memory: 1, redis: 0 }); // target index restored
    await second.close();
    expect((await readSnapshot(snapshotPath))?.entries).toEqual([]);
    expect(await readSnapshot(join(dir, 'missing.json'))).toBeUndefined();
  });

  /** A snapshot of three entries: two live (1 h, `shortMs`) and one expired, under a private key prefix. */
  async function makeSnapshot(
    shortMs: number,
  ): Promise<{ path: string; snapshot: CacheSnapshot; keyPrefix: string; keys: string[] }> {
    const keyPrefix = uniquePrefix('migrate');
    const path = join(dir, 'snap.json');
    const source = await startCacheStack(undefined, { Redis: { keyPrefix }, Cache: { snapshotPath: path } });
    const keys = ['a', 'b'].map((t) => source.cache.keyFor(request(t), route) as string);
    await source.cache.store(keys[0], answerEvents('a'), route.target);
    await source.cache.store(keys[1], answerEvents('b'), route.target);
    await source.close();
    const snapshot = (await readSnapshot(path)) as CacheSnapshot;
    const b = snapshot.entries.find((e) => e.key === keys[1]);
    if (b) {
      b.expiresAt = Date.now() + shortMs;
    }
    snapshot.entries.push({
      ...snapshot.entries[0],
      key: `${keyPrefix}cache:v1:gone`,
      expiresAt: Date.now() - 5,
    });
    await writeSnapshot(path, snapshot);
    return { path, snapshot, keyPrefix, keys };
  }

  it('migrates with each entry’s remaining TTL: dry run, real run, idempotent rerun', async () => {
    const { snapshot, keyPrefix, keys } = await makeSnapshot(2000);
    const dry = await migrateSnapshot(snapshot, raw, { dryRun: true });
    expect(dry).toEqual({ total: 3, copied: 2, skippedExisting: 0, expired: 1, dryRun: true });
    expect(await raw.keys(`${keyPrefix}*`)).toEqual([]);

    const real = await migrateSnapshot(snapshot, raw);
    expect(real).toEqual({ total: 3, copied: 2, skippedExisting: 0, expired: 1, dryRun: false });
    const [long, short] = keys;
    expect(await raw.pttl(long)).toBeGreaterThan(3_500_000);
    const shortTtl = await raw.pttl(short);
    expect(shortTtl).toBeGreaterThan(0);
    expect(shortTtl).toBeLessThanOrEqual(2000);
    expect(await raw.pttl(targetIndexKey(keyPrefix, route.target))).toBeGreaterThan(3_500_000);
    expect(await raw.exists(`${keyPrefix}cache:v1:gone`)).toBe(0);

    expect(await migrateSnapshot(snapshot, raw)).toEqual({
      total: 3,
      copied: 0,
      skippedExisting: 2,
      expired: 1,
      dryRun: false,
    });

    // A gateway on this Redis serves the migrated entries and can purge them by target.
    const gateway = await startCacheStack(server.url, { Redis: { keyPrefix } });
    await waitFor(() => gateway.degraded.isDistributed('cache'));
    expect(await gateway.cache.get(long)).toMatchObject({ tier: 'redis', events: answerEvents('a') });
    expect(await gateway.cache.purge(route.target)).toEqual({ memory: 1, redis: 2 });
    await gateway.close();
  });

  it('runs as a CLI (npm run migrate:redis) with --dry-run, then for real, then idempotently', async () => {
    const { path, keyPrefix } = await makeSnapshot(60_000);
    const cli = async (...args: string[]) => {
      const { stdout } = await run(
        process.execPath,
        [
          require.resolve('tsx/cli'),
          'scripts/migrate-to-redis.ts',
          '--snapshot',
          path,
          '--redis-url',
          server.url,
          ...args,
        ],
        { cwd: join(__dirname, '..', '..'), env: { ...process.env, HOME: dir, NODE_ENV: 'test' } },
      );
      return JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
    };
    expect(await cli('--dry-run')).toMatchObject({ copied: 2, skippedExisting: 0, expired: 1, dryRun: true });
    expect(await raw.keys(`${keyPrefix}*`)).toEqual([]);
    expect(await cli()).toMatchObject({ copied: 2, skippedExisting: 0, expired: 1, dryRun: false });
    expect(await cli()).toMatchObject({ copied: 0, skippedExisting: 2, expired: 1 });
  });
});
