/**
 * `npm run migrate:redis -- --snapshot <file> [--redis-url redis://…] [--dry-run]`
 *
 * Copies a memory-tier cache snapshot (written on shutdown when `Cache.snapshotPath` is set) into Redis,
 * each entry with its remaining lifetime. Idempotent: entries already in Redis are left alone, so it can be
 * rerun safely. Without --redis-url the Redis settings come from the usual configuration layers
 * (config files, REDIS_URL).
 */
import { parseArgs } from 'node:util';
import Redis, { Cluster } from 'ioredis';
import { migrateSnapshot, readSnapshot } from '../src/cache/cache-snapshot';
import { loadConfig } from '../src/config/load-config';
import { clusterOptions, dedicatedOptions, topologyOf } from '../src/redis/redis-options';

const USAGE = `migrate a cache snapshot into Redis

  --snapshot FILE     the snapshot written by Cache.snapshotPath (required)
  --redis-url URL     redis://… (default: Redis settings from the configuration / REDIS_URL)
  --dry-run           report what would be copied, write nothing
  -h, --help`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      snapshot: { type: 'string' },
      'redis-url': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || !values.snapshot) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const url = values['redis-url'];
  const { config } = loadConfig(url ? { overrides: { Redis: { url, enabled: true } } } : {});
  const settings = config.Redis;
  if (!settings.enabled && !settings.url) {
    console.error('No Redis configured: pass --redis-url or set REDIS_URL.');
    return 2;
  }
  const snapshot = await readSnapshot(values.snapshot);
  if (!snapshot) {
    console.error(`No snapshot at ${values.snapshot}.`);
    return 1;
  }
  const options = { ...dedicatedOptions(settings, 'migrate'), lazyConnect: true, maxRetriesPerRequest: 1 };
  const client =
    topologyOf(settings) === 'cluster'
      ? new Cluster(settings.cluster ?? [], clusterOptions(settings, options, false))
      : new Redis({ ...options, retryStrategy: () => null });
  client.on('error', () => undefined); // reported through the failing command below
  try {
    await client.connect();
    const report = await migrateSnapshot(snapshot, client, { dryRun: values['dry-run'] });
    console.log(
      `${report.dryRun ? '[dry run] would copy' : 'copied'} ${report.copied} of ${report.total} entries; ` +
        `${report.skippedExisting} already in Redis, ${report.expired} expired`,
    );
    console.log(JSON.stringify(report));
    return 0;
  } finally {
    client.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`migrate:redis failed: ${err.message}`);
    process.exit(1);
  },
);
