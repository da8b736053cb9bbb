import { createHash } from 'node:crypto';
import { withTimeout } from '../common/with-timeout';
import type { RedisClient } from '../redis/redis.service';

/**
 * A Lua script run by its SHA (EVALSHA), loaded with EVAL the first time a server has not seen it (after a
 * restart or a failover), and always bounded by a timeout: a rate limit never waits for Redis.
 */
export class RedisScript {
  readonly sha: string;

  constructor(
    readonly source: string,
    private readonly name: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  run(client: RedisClient, keys: string[], args: (string | number)[], timeoutMs: number): Promise<unknown> {
    return withTimeout(this.call(client, keys, args), timeoutMs, this.name);
  }

  private async call(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) {
        throw err;
      }
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
