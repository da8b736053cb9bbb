import { resolve } from 'node:path';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { migrateSnapshot, readSnapshot } from '../cache/cache-snapshot';
import { clusterOptions, dedicatedOptions, topologyOf, type RedisSettings } from '../redis/redis-options';
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
  // ioredis rejects a failed connect with a bare "Connection is closed."; the cause (ECONNREFUSED, a DNS
  // failure, a bad password) only comes as an 'error' event, so it is kept for the message.
  let cause: Error | undefined;
  client.on('error', (err: Error) => {
    cause = err;
  });
  const where = redisAddress(settings, options);
  try {
    try {
      await client.connect();
    } catch (err) {
      throw new CliError(`cannot connect to ${where}: ${(cause ?? (err as Error)).message}`);
    }
    const report = await migrateSnapshot(snapshot, client, { dryRun: values['dry-run'] });
    ctx.io.stdout(
      `${report.dryRun ? '[dry run] would copy' : 'copied'} ${report.copied} of ${report.total} entries; ` +
        `${report.skippedExisting} already in Redis, ${report.expired} expired\n`,
    );
    ctx.io.stdout(`${JSON.stringify(report)}\n`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CliError) {
      throw err;
    }
    const because = cause && cause.message !== (err as Error).message ? ` (${cause.message})` : '';
    throw new CliError(`migrate-to-redis failed on ${where}: ${(err as Error).message}${because}`);
  } finally {
    client.disconnect();
  }
}

/** Which Redis the command talks to, for its messages: addresses only, never credentials. */
function redisAddress(settings: RedisSettings, options: RedisOptions): string {
  const list = (nodes: Array<{ host: string; port: number }> = []): string =>
    nodes.map((n) => `${n.host}:${n.port}`).join(', ');
  switch (topologyOf(settings)) {
    case 'cluster':
      return `the Redis Cluster at ${list(settings.cluster)}`;
    case 'sentinel':
      return `the Redis master "${settings.name ?? ''}" through the Sentinels at ${list(settings.sentinels)}`;
    case 'standalone':
      return `Redis at ${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
  }
}
