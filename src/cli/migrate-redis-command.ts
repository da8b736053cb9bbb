import { resolve } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { migrateSnapshot, readSnapshot } from '../cache/cache-snapshot';
import { clusterOptions, dedicatedOptions, topologyOf } from '../redis/redis-options';
import { CliError, CliUsageError, EXIT, parseCommandArgs, type CliContext } from './cli-context';
import { loadCliConfig } from './gateway-address';
import { MIGRATE_REDIS_USAGE } from './cli-usage';

export async function runMigrateToRedis(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(args, {
    snapshot: { type: 'string' },
    'redis-url': { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    ctx.io.stdout(MIGRATE_REDIS_USAGE);
    return EXIT.ok;
  }
  if (!values.snapshot) {
    throw new CliUsageError('--snapshot <file> is required');
  }
  const url = values['redis-url'];
  const env: NodeJS.ProcessEnv = url ? { ...ctx.env, REDIS_URL: url } : ctx.env;
  const settings = loadCliConfig(env).config.Redis;
  if (!settings.enabled && !settings.url) {
    throw new CliError('No Redis configured: pass --redis-url or set REDIS_URL.', EXIT.usage);
  }
  const file = resolve(ctx.cwd, values.snapshot);
  const snapshot = await readSnapshot(file);
  if (!snapshot) {
    throw new CliError(`No snapshot at ${file}.`);
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
    ctx.io.stdout(
      `${report.dryRun ? '[dry run] would copy' : 'copied'} ${report.copied} of ${report.total} entries; ` +
        `${report.skippedExisting} already in Redis, ${report.expired} expired\n`,
    );
    ctx.io.stdout(`${JSON.stringify(report)}\n`);
    return EXIT.ok;
  } catch (err) {
    throw new CliError(`migrate-to-redis failed: ${(err as Error).message}`);
  } finally {
    client.disconnect();
  }
}
