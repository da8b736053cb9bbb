import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { withTimeout } from '../common/with-timeout';
import type { StoredEntry } from './memory-keyv.store';

type Client = Redis | Cluster;

export interface IoredisStoreOptions {
  /** The hot-path client when Redis may be used right now, else undefined (degraded mode). */
  client: () => Client | undefined;
  /** SCAN MATCH pattern of this store's keys (clear, count); never KEYS. */
  match: string;
  commandTimeoutMs: number;
  onError?: (err: Error) => void;
}

/** The result of an admin operation on the Redis tier, or why it could not be done. */
export type TierOutcome<T> = { value: T } | { error: string };

const UNAVAILABLE = 'Redis is unavailable (the cache is running on its memory tier)';

const SCAN_COUNT = 500;

/**
 * The Redis tier: a small Keyv store over the project's hot-path ioredis connection (the maintained Keyv
 * Redis adapter brings its own node-redis client, which would be a third connection without our fail-fast
 * options). Values are the raw entry bytes with a PX expiry. It never throws: an unavailable or failing
 * Redis reads as a miss / refused write, counted, so the memory tier keeps answering and no call waits
 * longer than the command timeout.
 */
export class IoredisKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  opts: Record<string, unknown> = {};
  namespace?: string;
  errors = 0;

  constructor(private readonly options: IoredisStoreOptions) {
    super();
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return (await this.run(async (c) => {
      const res = await c.pipeline().getBuffer(key).pttl(key).exec();
      const value = res?.[0]?.[1] as Buffer | null | undefined;
      const pttl = res?.[1]?.[1] as number | undefined;
      if (!value) {
        return undefined;
      }
      const entry: StoredEntry = {
        value,
        expires: pttl !== undefined && pttl > 0 ? Date.now() + pttl : undefined,
      };
      return entry;
    }, undefined)) as StoredData<Value> | undefined;
  }

  /** Refuses a write without a positive TTL: every key this project writes expires (ARCHITECTURE.md §3). */
  async set(key: string, entry: StoredEntry, ttl?: number): Promise<boolean> {
    if (ttl === undefined || !(ttl > 0) || !Buffer.isBuffer(entry?.value)) {
      return false;
    }
    return this.run(async (c) => (await c.set(key, entry.value, 'PX', Math.ceil(ttl))) === 'OK', false);
  }

  async delete(key: string): Promise<boolean> {
    return this.run(async (c) => (await c.unlink(key)) > 0, false);
  }

  async clear(): Promise<void> {
    await this.clearCount();
  }

  /**
   * Deletes every key matching the pattern (SCAN + UNLINK per key, so Cluster slots never collide). An
   * unavailable Redis, or a node that failed part-way, is an error: the admin must not read it as done.
   */
  async clearCount(): Promise<TierOutcome<number>> {
    const nodes = this.nodes();
    if (nodes.length === 0) {
      return { error: UNAVAILABLE };
    }
    let removed = 0;
    const failures: string[] = [];
    for (const node of nodes) {
      try {
        await scanEach(node, this.options.match, this.options.commandTimeoutMs, async (keys) => {
          const pipe = node.pipeline();
          keys.forEach((k) => pipe.unlink(k));
          const res = (await pipe.exec()) ?? [];
          removed += res.filter(([err, n]) => !err && n === 1).length;
        });
      } catch (err) {
        this.fail(err);
        failures.push((err as Error).message);
      }
    }
    return failures.length > 0 ? { error: failures.join('; ') } : { value: removed };
  }

  /** Counts matching keys within a time budget; null when Redis is unavailable or the budget ran out. */
  async count(budgetMs = 500): Promise<number | null> {
    const deadline = Date.now() + budgetMs;
    const nodes = this.nodes();
    if (nodes.length === 0) {
      return null;
    }
    let total = 0;
    try {
      for (const node of nodes) {
        await scanEach(
          node,
          this.options.match,
          this.options.commandTimeoutMs,
          async (keys) => {
            total += keys.length;
          },
          deadline,
        );
      }
    } catch (err) {
      if (!(err instanceof BudgetExceeded)) {
        this.fail(err);
      }
      return null;
    }
    return total;
  }

  /**
   * Runs one operation on the hot client; a failure or an unavailable Redis yields `fallback`. The client has
   * its own per-command timeout; this bound also covers pipelines and Cluster redirections. Request-path
   * calls keep the default; admin operations (purge) may allow more.
   */
  async run<T>(
    op: (c: Client) => Promise<T>,
    fallback: T,
    timeoutMs = this.options.commandTimeoutMs + 50,
  ): Promise<T> {
    const client = this.options.client();
    if (!client) {
      return fallback;
    }
    try {
      return await withTimeout(op(client), timeoutMs, 'Redis cache command');
    } catch (err) {
      this.fail(err);
      return fallback;
    }
  }

  /** run() for admin operations, which must tell a failure from a result. */
  async attempt<T>(op: (c: Client) => Promise<T>, timeoutMs: number): Promise<TierOutcome<T>> {
    const client = this.options.client();
    if (!client) {
      return { error: UNAVAILABLE };
    }
    try {
      return { value: await withTimeout(op(client), timeoutMs, 'Redis cache command') };
    } catch (err) {
      this.fail(err);
      return { error: (err as Error).message };
    }
  }

  private nodes(): Redis[] {
    const client = this.options.client();
    if (!client) {
      return [];
    }
    return 'nodes' in client && typeof client.nodes === 'function'
      ? client.nodes('master')
      : [client as Redis];
  }

  private fail(err: unknown): void {
    this.errors++;
    this.options.onError?.(err as Error);
  }
}

class BudgetExceeded extends Error {}

async function scanEach(
  node: Redis,
  match: string,
  timeoutMs: number,
  onBatch: (keys: string[]) => Promise<void>,
  deadline = Infinity,
): Promise<void> {
  let cursor = '0';
  do {
    // Checked per SCAN step, not per match: a big keyspace with few matches must stop on time too.
    if (Date.now() > deadline) {
      throw new BudgetExceeded();
    }
    const [next, keys] = await withTimeout(
      node.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT),
      timeoutMs + 50,
      'Redis SCAN',
    );
    cursor = next;
    if (keys.length > 0) {
      await onBatch(keys);
    }
  } while (cursor !== '0');
}
