import type Redis from 'ioredis';
import { GatewayError } from '../protocol/errors';
import type { RedisService } from '../redis/redis.service';
import { idFloor } from './batch-id';
import type { BatchPageQuery, BatchPageResult, BatchStore, SettleResult, Settlement } from './batch.store';
import type { BatchRecord, BatchRequestInput, BatchResult, BatchResultLine, Outcome } from './batch.types';
import { CANCEL, SETTLE, pairsToObject, toRecord } from './redis-batch.scripts';

/** Params written per command: big batches go in slices so no single command outlasts the timeout. */
const WRITE_SLICE_REQUESTS = 100;
const WRITE_SLICE_BYTES = 256 * 1024;
const READ_SLICE = 500;
const MAX_UNFINISHED = 10_000;

interface BatchKeys {
  meta: string;
  req: string;
  res: string;
  ids: string;
}

/**
 * Batches in Redis: a meta hash (status, times, counts), the pending params (hash by request index), the
 * results (hash by index) and the custom ids (list), all under one hash tag so the Lua scripts stay on
 * one Cluster slot; plus two sorted sets: every batch (by id, for the newest-first list) and the
 * unfinished ones (by expiry, for the sweep). Keys live until expiry + retention, then the retention
 * after the batch ended.
 */
export class RedisBatchStore implements BatchStore {
  readonly durable = true;

  constructor(
    private readonly redis: RedisService,
    private readonly lifetimeMs: number,
    private readonly retainMs: number,
  ) {}

  async create(record: BatchRecord, requests: BatchRequestInput[]): Promise<void> {
    const client = this.client();
    const keys = this.keys(record.id);
    const ttlMs = record.expiresAt - record.createdAt + this.retainMs;
    try {
      let start = 0;
      while (start < requests.length) {
        const fields: Record<string, string> = {};
        const customIds: string[] = [];
        let bytes = 0;
        let i = start;
        for (; i < requests.length && i - start < WRITE_SLICE_REQUESTS && bytes < WRITE_SLICE_BYTES; i++) {
          const json = JSON.stringify(requests[i].params);
          fields[String(i)] = json;
          customIds.push(requests[i].custom_id);
          bytes += json.length;
        }
        await exec(
          client
            .pipeline()
            .hset(keys.req, fields)
            .rpush(keys.ids, ...customIds),
        );
        start = i;
      }
      // The meta hash last: until it exists the batch is invisible (get answers 404, jobs do nothing).
      await exec(
        client
          .pipeline()
          .hset(keys.meta, {
            status: record.status,
            total: record.total,
            processing: record.counts.processing,
            succeeded: 0,
            errored: 0,
            canceled: 0,
            expired: 0,
            created_at: record.createdAt,
            expires_at: record.expiresAt,
          })
          .pexpire(keys.meta, ttlMs)
          .pexpire(keys.req, ttlMs)
          .pexpire(keys.ids, ttlMs),
      );
      await client.zadd(this.indexKey(), 0, record.id);
      await client.zadd(this.openKey(), record.expiresAt, record.id);
    } catch (err) {
      await this.delete(record.id).catch(() => undefined);
      throw unavailable(err);
    }
  }

  async get(id: string): Promise<BatchRecord | undefined> {
    return this.run(async (client) => toRecord(id, await client.hgetall(this.keys(id).meta)));
  }

  async list(query: BatchPageQuery): Promise<BatchPageResult> {
    return this.run((client) => this.page(client, query));
  }

  private async page(client: Redis, query: BatchPageQuery): Promise<BatchPageResult> {
    const newerFirst = query.beforeId === undefined;
    // Redis lex ranges: `(x` excludes x, `+` / `-` are the ends.
    let cursor =
      query.afterId !== undefined
        ? `(${query.afterId}`
        : query.beforeId !== undefined
          ? `(${query.beforeId}`
          : undefined;
    const found: BatchRecord[] = [];
    let hasMore = false;
    while (found.length < query.limit) {
      const want = query.limit - found.length;
      const ids = newerFirst
        ? await client.zrevrangebylex(this.indexKey(), cursor ?? '+', '-', 'LIMIT', 0, want + 1)
        : await client.zrangebylex(this.indexKey(), cursor ?? '-', '+', 'LIMIT', 0, want + 1);
      hasMore = ids.length > want;
      const page = ids.slice(0, want);
      const records = await this.records(client, page);
      found.push(...records);
      if (!hasMore || records.length === page.length) {
        break;
      }
      // Some ids outlived their batch (expired keys): read on past them.
      cursor = `(${page[page.length - 1]}`;
    }
    return { batches: newerFirst ? found : found.reverse(), hasMore };
  }

  async params(id: string, index: number): Promise<Record<string, unknown> | undefined> {
    const json = await this.run((client) => client.hget(this.keys(id).req, String(index)));
    return json === null ? undefined : (JSON.parse(json) as Record<string, unknown>);
  }

  async pending(id: string): Promise<number[]> {
    const fields = await this.run((client) => client.hkeys(this.keys(id).req));
    return fields.map(Number).sort((a, b) => a - b);
  }

  async settle(id: string, settlements: Settlement[], now: number): Promise<SettleResult> {
    if (settlements.length === 0) {
      return { settled: 0, ended: false };
    }
    const keys = this.keys(id);
    const args = settlements.flatMap((s) => [String(s.index), s.outcome, JSON.stringify(s.result)]);
    return this.run(async (client) => {
      const [settled, ended] = (await client.eval(
        SETTLE,
        4,
        keys.meta,
        keys.req,
        keys.res,
        keys.ids,
        String(now),
        String(this.retainMs),
        ...args,
      )) as [number, number];
      if (ended === 1) {
        // Best effort: the sweep drops an ended batch it still finds there.
        await client.zrem(this.openKey(), id).catch(() => undefined);
      }
      return { settled, ended: ended === 1 };
    });
  }

  async settleRemaining(
    id: string,
    outcome: Outcome,
    result: BatchResult,
    now: number,
  ): Promise<SettleResult> {
    const pending = await this.pending(id);
    const settled = await this.settle(
      id,
      pending.map((index) => ({ index, outcome, result })),
      now,
    );
    const record = await this.get(id);
    if (!record || record.status === 'ended') {
      await this.run((client) => client.zrem(this.openKey(), id));
    }
    return settled;
  }

  async cancel(id: string, now: number): Promise<BatchRecord | undefined> {
    const flat = (await this.run((client) =>
      client.eval(CANCEL, 1, this.keys(id).meta, String(now)),
    )) as string[];
    return toRecord(id, pairsToObject(flat));
  }

  async *results(id: string): AsyncIterable<BatchResultLine> {
    const client = this.client();
    const keys = this.keys(id);
    for (let start = 0; ; start += READ_SLICE) {
      const customIds = await client.lrange(keys.ids, start, start + READ_SLICE - 1);
      if (customIds.length === 0) {
        return;
      }
      const fields = customIds.map((_, i) => String(start + i));
      const results = await client.hmget(keys.res, ...fields);
      for (let i = 0; i < customIds.length; i++) {
        const json = results[i];
        if (json !== null) {
          yield { custom_id: customIds[i], result: JSON.parse(json) as BatchResult };
        }
      }
    }
  }

  async delete(id: string): Promise<boolean> {
    const keys = this.keys(id);
    return this.run(async (client) => {
      const removed = await client.del(keys.meta, keys.req, keys.res, keys.ids);
      await client.zrem(this.indexKey(), id);
      await client.zrem(this.openKey(), id);
      return removed > 0;
    });
  }

  async unfinished(): Promise<BatchRecord[]> {
    return this.run(async (client) => {
      const ids = await client.zrange(this.openKey(), 0, MAX_UNFINISHED - 1);
      const records = await this.records(client, ids, false);
      const open = new Set(records.filter((r) => r.status !== 'ended').map((r) => r.id));
      // Ended (their removal was best effort) or gone (keys expired): no longer open.
      const stale = ids.filter((id) => !open.has(id));
      if (stale.length > 0) {
        await client.zrem(this.openKey(), ...stale);
      }
      return records.filter((r) => r.status !== 'ended');
    });
  }

  async prune(now: number): Promise<void> {
    // Ids sort by creation time, so everything created before the longest possible life is gone.
    const floor = idFloor(now - this.lifetimeMs);
    await this.run((client) => client.zremrangebylex(this.indexKey(), '-', `(${floor}`));
  }

  /** The batches of `ids` that still exist; the others leave the list index when `pruneIndex`. */
  private async records(client: Redis, ids: string[], pruneIndex = true): Promise<BatchRecord[]> {
    if (ids.length === 0) {
      return [];
    }
    // One command per batch, not a pipeline: on a Cluster each batch's keys live on their own slot.
    const replies = await Promise.all(ids.map((id) => client.hgetall(this.keys(id).meta)));
    const out: BatchRecord[] = [];
    const stale: string[] = [];
    ids.forEach((id, i) => {
      const record = toRecord(id, replies[i]);
      if (record) {
        out.push(record);
      } else {
        stale.push(id);
      }
    });
    if (pruneIndex && stale.length > 0) {
      await client.zrem(this.indexKey(), ...stale);
    }
    return out;
  }

  private client(): Redis {
    const client = this.redis.available;
    if (!client) {
      throw unavailable();
    }
    return client;
  }

  /** Redis failures become a 503 in the client's format (the SDKs retry those). */
  private async run<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client());
    } catch (err) {
      throw unavailable(err);
    }
  }

  private keys(id: string): BatchKeys {
    const tag = `{${id}}`;
    return {
      meta: this.redis.key('batch', 1, `${tag}:meta`),
      req: this.redis.key('batch', 1, `${tag}:req`),
      res: this.redis.key('batch', 1, `${tag}:res`),
      ids: this.redis.key('batch', 1, `${tag}:ids`),
    };
  }

  private indexKey(): string {
    return this.redis.key('batch', 1, 'index');
  }

  private openKey(): string {
    return this.redis.key('batch', 1, 'open');
  }
}

/** Runs a pipeline and surfaces the first command error (ioredis reports them per command). */
async function exec(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([err, value]) => {
    if (err) {
      throw err;
    }
    return value;
  });
}

function unavailable(cause?: unknown): GatewayError {
  if (cause instanceof GatewayError) {
    return cause;
  }
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new GatewayError(503, `The batch store (Redis) is unavailable${reason}`, {
    type: 'overloaded_error',
  });
}
