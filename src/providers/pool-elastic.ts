import { Dispatcher, Pool } from 'undici';

/** `Pools.minConnections` / `Pools.maxConnections` for one origin. */
export interface ElasticLimits {
  min: number;
  max: number;
}

export interface PoolTuneEvent {
  origin: string;
  direction: 'grow' | 'shrink';
  /** Connection limit before and after. */
  from: number;
  to: number;
}

/** The PoolStats counters, summed over an origin's pools. */
export interface PoolCounts {
  connected: number;
  free: number;
  pending: number;
  queued: number;
  running: number;
  size: number;
}

/**
 * undici's own `size` getter (queued + running requests) behind `pool.stats.size`. `stats` builds a
 * PoolStats of six counters, each a walk over the pool's clients, and `pick` asks on every request: this
 * reads the one counter needed. Found by its description on the prototype chain; if a future undici
 * renames it, `stats.size` is used as before.
 */
const kSize: symbol | undefined = (() => {
  for (let proto: object | null = Pool.prototype; proto; proto = Object.getPrototypeOf(proto) as object | null) {
    const sym = Object.getOwnPropertySymbols(proto).find(
      (s) => s.description === 'size' && typeof Object.getOwnPropertyDescriptor(proto, s)?.get === 'function',
    );
    if (sym) {
      return sym;
    }
  }
  return undefined;
})();

export function poolSize(pool: Pool): number {
  if (kSize) {
    const n = (pool as unknown as Record<symbol, unknown>)[kSize];
    if (typeof n === 'number') {
      return n;
    }
  }
  return pool.stats.size;
}

interface Shard {
  pool: Pool;
  limit: number;
  /** Requests given to this shard since the last tune pass. */
  dispatched: number;
}

export type ElasticPoolOptions = Omit<Pool.Options, 'connections'>;

/**
 * An origin's connections as a stack of undici Pools whose limits add up to the current connection limit.
 *
 * undici fixes `connections` when a Pool is built, so the limit moves by adding and removing whole pools
 * instead of swapping one: the base pool (`min` connections, the ones warm-up and pings keep open) is never
 * replaced, so growing keeps every warm socket and never strands requests in an old pool's queue.
 * - grow: a request arriving while every pool is full gets a new pool doubling the limit (up to `max`) at
 *   once — a request would otherwise wait behind an LLM stream that may last minutes;
 * - shrink: `shrinkIfIdle()` (the tuner's interval) retires the newest pool when it got no request for a
 *   whole interval. A retired pool takes no new requests and closes gracefully: undici's close() waits for
 *   the requests it is running, streamed bodies included, then closes their sockets.
 * Requests go to the oldest pool with room, so the extra pools only carry overflow and empty first.
 */
export class ElasticPool extends Dispatcher {
  private readonly shards: Shard[] = [];
  private readonly draining = new Set<Pool>();
  private isClosed = false;
  private isDestroyed = false;

  constructor(
    private readonly origin: string,
    private readonly options: ElasticPoolOptions,
    private readonly limits: ElasticLimits,
    private readonly onTune: (event: PoolTuneEvent) => void = () => undefined,
  ) {
    super();
    this.addShard(limits.min);
  }

  /** The current connection limit (sum over the pools taking requests). */
  get limit(): number {
    return this.shards.reduce((n, s) => n + s.limit, 0);
  }

  get pools(): number {
    return this.shards.length;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** Retiring pools are included: their in-flight requests still hold sockets. */
  get stats(): PoolCounts {
    const sum: PoolCounts = { connected: 0, free: 0, pending: 0, queued: 0, running: 0, size: 0 };
    for (const pool of [...this.shards.map((s) => s.pool), ...this.draining]) {
      const s = pool.stats;
      sum.connected += s.connected;
      sum.free += s.free;
      sum.pending += s.pending;
      sum.queued += s.queued;
      sum.running += s.running;
      sum.size += s.size;
    }
    return sum;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const shard = this.pick();
    shard.dispatched++;
    return shard.pool.dispatch(options, handler);
  }

  /** One tune pass: retires the newest pool if it stayed unused since the last pass. */
  shrinkIfIdle(): PoolTuneEvent | undefined {
    const newest = this.shards[this.shards.length - 1];
    const idle = this.shards.length > 1 && newest.dispatched === 0 && newest.pool.stats.size === 0;
    for (const s of this.shards) {
      s.dispatched = 0;
    }
    return idle ? this.shrink() : undefined;
  }

  /** Retires the newest pool now (never the base one); its running requests finish first. */
  shrink(): PoolTuneEvent | undefined {
    if (this.shards.length <= 1) {
      return undefined;
    }
    const from = this.limit;
    const { pool } = this.shards.pop()!;
    this.draining.add(pool);
    void pool
      .close()
      .catch(() => undefined)
      .finally(() => this.draining.delete(pool));
    return this.tuned('shrink', from);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.isClosed = true;
    const done = Promise.all(this.allPools().map((p) => p.close())).then(() => undefined);
    if (!callback) {
      return done;
    }
    void done.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    this.isClosed = true;
    this.isDestroyed = true;
    const done = Promise.all(this.allPools().map((p) => p.destroy(err))).then(() => undefined);
    if (!callback) {
      return done;
    }
    void done.then(callback, callback);
  }

  private pick(): Shard {
    const perSocket = this.options.pipelining ?? 1;
    for (const s of this.shards) {
      if (poolSize(s.pool) < s.limit * perSocket) {
        return s;
      }
    }
    if (!this.isClosed && this.limit < this.limits.max) {
      const from = this.limit;
      const shard = this.addShard(Math.min(from, this.limits.max - from));
      this.tuned('grow', from);
      return shard;
    }
    // At the ceiling: queue where the wait should be shortest.
    return this.shards.reduce((a, b) => (poolSize(a.pool) / a.limit <= poolSize(b.pool) / b.limit ? a : b));
  }

  private addShard(limit: number): Shard {
    // Events are not forwarded on purpose: behind a ProxyAgent, the Agent closes a dispatcher whose
    // connections all disconnected, which would throw away the warm base pool.
    const shard: Shard = {
      pool: new Pool(this.origin, { ...this.options, connections: limit }),
      limit,
      dispatched: 0,
    };
    this.shards.push(shard);
    return shard;
  }

  private allPools(): Pool[] {
    return [...this.shards.map((s) => s.pool), ...this.draining];
  }

  private tuned(direction: PoolTuneEvent['direction'], from: number): PoolTuneEvent {
    const event: PoolTuneEvent = { origin: this.origin, direction, from, to: this.limit };
    this.onTune(event);
    return event;
  }
}
