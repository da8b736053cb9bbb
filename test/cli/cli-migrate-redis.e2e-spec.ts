import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import type { CacheSnapshot } from '../../src/cache/cache-snapshot';
import { targetIndexKey } from '../../src/cache/target-index';
import { freePort } from '../support/redis-server';
import { cliEnv, ROOT, runCli, tempHome, transcript } from './cli-process';

const run = promisify(execFile);

/** The run's throwaway redis-server (test/support/global-setup.ts); this spec keeps to its own key prefix. */
const REDIS_URL = process.env.TEST_REDIS_URL as string;
const PREFIX = `sy-test-cli-migrate-${process.pid}:`;

describe('switchyard migrate-to-redis', () => {
  let home: string;
  let redis: Redis;
  let snapshotFile: string;

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length) {
      await redis.del(...keys);
    }
    redis.disconnect();
  });
  beforeEach(() => {
    home = tempHome();
    const now = Date.now();
    const snapshot: CacheSnapshot = {
      v: 1,
      savedAt: now,
      keyPrefix: PREFIX,
      entries: [
        {
          key: `${PREFIX}cache:v1:long`,
          target: 'fake,model-a',
          expiresAt: now + 3_600_000,
          data: Buffer.from('long').toString('base64'),
        },
        {
          key: `${PREFIX}cache:v1:short`,
          target: 'fake,model-a',
          expiresAt: now + 60_000,
          data: Buffer.from('short').toString('base64'),
        },
        {
          key: `${PREFIX}cache:v1:gone`,
          target: 'fake,model-a',
          expiresAt: now - 5,
          data: Buffer.from('gone').toString('base64'),
        },
      ],
    };
    snapshotFile = join(home, 'cache.snapshot.json');
    writeFileSync(snapshotFile, JSON.stringify(snapshot));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const lastJson = (stdout: string): Record<string, unknown> =>
    JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;

  it('copies a snapshot with the remaining TTLs: --dry-run, then for real, then idempotently', async () => {
    const args = ['migrate-to-redis', '--snapshot', snapshotFile, '--redis-url', REDIS_URL];
    const dry = await runCli([...args, '--dry-run'], { env: cliEnv(home) });
    expect(transcript(dry)).toMatchObject({ code: 0 });
    expect(dry.stdout).toContain('[dry run] would copy 2 of 3 entries');
    expect(lastJson(dry.stdout)).toEqual({
      total: 3,
      copied: 2,
      skippedExisting: 0,
      expired: 1,
      dryRun: true,
    });
    expect(await redis.keys(`${PREFIX}*`)).toEqual([]);

    const real = await runCli(args, { env: cliEnv(home) });
    expect(lastJson(real.stdout)).toEqual({
      total: 3,
      copied: 2,
      skippedExisting: 0,
      expired: 1,
      dryRun: false,
    });
    expect((await redis.getBuffer(`${PREFIX}cache:v1:long`))?.toString()).toBe('long');
    expect(await redis.pttl(`${PREFIX}cache:v1:long`)).toBeGreaterThan(3_000_000);
    const short = await redis.pttl(`${PREFIX}cache:v1:short`);
    expect(short).toBeGreaterThan(0);
    expect(short).toBeLessThanOrEqual(60_000);
    expect(await redis.exists(`${PREFIX}cache:v1:gone`)).toBe(0);
    expect(await redis.zcard(targetIndexKey(PREFIX, 'fake,model-a'))).toBe(2);

    const again = await runCli(args, { env: cliEnv(home) });
    expect(lastJson(again.stdout)).toMatchObject({ copied: 0, skippedExisting: 2, expired: 1 });
  });

  it('takes Redis from the configuration (REDIS_URL) when --redis-url is not given', async () => {
    const res = await runCli(['migrate-to-redis', '--snapshot', snapshotFile, '--dry-run'], {
      env: cliEnv(home, { REDIS_URL }),
    });
    expect(transcript(res)).toMatchObject({ code: 0 });
    expect(lastJson(res.stdout)).toMatchObject({ total: 3, dryRun: true });
  });

  it('usage errors are 2 (no --snapshot; no Redis configured), a missing snapshot is 1', async () => {
    const noSnapshot = await runCli(['migrate-to-redis'], { env: cliEnv(home) });
    expect(noSnapshot.code).toBe(2);
    expect(noSnapshot.stderr).toContain('--snapshot <file> is required');
    const noRedis = await runCli(['migrate-to-redis', '--snapshot', snapshotFile], { env: cliEnv(home) });
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toContain('No Redis configured');
    const missing = await runCli(
      ['migrate-to-redis', '--snapshot', join(home, 'none.json'), '--redis-url', REDIS_URL],
      {
        env: cliEnv(home),
      },
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No snapshot at');
  });

  it('an unreachable Redis is 1, naming the address and the cause (not just "Connection is closed.")', async () => {
    const port = await freePort();
    const res = await runCli(
      [
        'migrate-to-redis',
        '--snapshot',
        snapshotFile,
        '--redis-url',
        `redis://:pw-not-shown@127.0.0.1:${port}/0`,
      ],
      { env: cliEnv(home) },
    );
    expect(transcript(res)).toMatchObject({
      code: 1,
      stderr: `switchyard migrate-to-redis: cannot connect to Redis at 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    });
  });

  it('npm run migrate:redis (scripts/migrate-to-redis.ts) runs the same command', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        require.resolve('tsx/cli'),
        'scripts/migrate-to-redis.ts',
        '--snapshot',
        snapshotFile,
        '--redis-url',
        REDIS_URL,
        '--dry-run',
      ],
      { cwd: ROOT, env: cliEnv(home) },
    );
    expect(lastJson(stdout)).toMatchObject({ total: 3, expired: 1, dryRun: true });
  });
});
