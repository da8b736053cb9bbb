/**
 * A throwaway redis-server for a benchmark (as test/support/redis-server.ts does for the tests): from PATH,
 * on a free port, bound to 127.0.0.1, no persistence, its own temp dir; stopped with the other children.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import * as px from './processes';

export interface BenchRedis {
  child: px.Child;
  port: number;
  url: string;
  /** FLUSHALL, so that a run starts from an empty cache. */
  flush(): Promise<void>;
  /** Number of keys (DBSIZE). */
  size(): Promise<number>;
}

async function withClient<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined); // connect failures are reported by connect() itself
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

/** `port`: a given port (a restart on the same address, as after an outage); default a free one. */
export async function startRedis(tmp: string, port?: number): Promise<BenchRedis> {
  port ??= await px.freePort();
  const dir = join(tmp, 'redis');
  mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = px.spawnChild('redis-server', 'redis-server', args, { cwd: tmp, env: process.env, logFile: join(tmp, 'redis.log') });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await withClient(port, (c) => c.ping());
      break;
    } catch (err) {
      if (!child.alive || Date.now() > deadline) {
        throw new Error(`redis-server on :${port} did not answer (${(err as Error).message}):\n${px.logTail(child)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const p = port;
  return {
    child,
    port: p,
    url: `redis://127.0.0.1:${p}`,
    flush: () => withClient(p, async (c) => void (await c.flushall())),
    size: () => withClient(p, (c) => c.dbsize()),
  };
}
