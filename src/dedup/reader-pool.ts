import { Cluster, type Redis } from 'ioredis';

/** A reader is a standalone/Sentinel connection or, on a Redis Cluster, a cluster client of its own. */
export type ReaderConnection = Redis | Cluster;

/** Idle reader connections kept for reuse; more are opened on demand up to the pool's maximum. */
const MAX_IDLE = 4;

/** A copy of the hot client's addressing that fails fast and is thrown away, never reconnected, when broken. */
function openReader(hot: ReaderConnection, commandTimeout: number): ReaderConnection {
  const failFast = {
    connectionName: 'switchyard:dedup-reader',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout,
  };
  if (hot instanceof Cluster) {
    return hot.duplicate([], {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: () => null,
      redisOptions: { ...hot.options.redisOptions, ...failFast },
    });
  }
  return hot.duplicate({ ...failFast, lazyConnect: true, retryStrategy: () => null });
}

/**
 * Dedicated connections for XREAD BLOCK. A blocked command would stall every other command behind it on
 * the same socket, so followers never block the hot-path connection: each following flight borrows one of
 * these. The pool is bounded; when it is exhausted the flight makes its own call instead of waiting.
 */
export class ReaderPool {
  private readonly idle: ReaderConnection[] = [];
  private readonly all = new Set<ReaderConnection>();
  private closed = false;

  constructor(
    private readonly hot: () => ReaderConnection | undefined,
    private readonly max: number,
  ) {}

  /** `commandTimeoutMs` must exceed the XREAD BLOCK time, or every quiet wait would look like a failure. */
  async acquire(commandTimeoutMs: number): Promise<ReaderConnection> {
    while (this.idle.length > 0) {
      const conn = this.idle.pop() as ReaderConnection;
      if (conn.status === 'ready') {
        return conn;
      }
      this.discard(conn);
    }
    const hot = this.hot();
    if (this.closed || !hot) {
      throw new Error('Redis is unavailable');
    }
    if (this.all.size >= this.max) {
      throw new Error(`all ${this.max} dedup reader connections are busy`);
    }
    const conn = openReader(hot, commandTimeoutMs);
    conn.on('error', () => undefined); // failures surface on the command that hit them
    this.all.add(conn);
    try {
      await conn.connect();
      return conn;
    } catch (err) {
      this.discard(conn);
      throw err;
    }
  }

  release(conn: ReaderConnection, healthy: boolean): void {
    if (healthy && !this.closed && conn.status === 'ready' && this.idle.length < MAX_IDLE) {
      this.idle.push(conn);
      return;
    }
    this.discard(conn);
  }

  /** Closes every reader, borrowed ones included, and resolves once their sockets are gone. */
  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    const conns = [...this.all];
    const ended = conns.map(
      (conn) =>
        new Promise<void>((resolve) => {
          if (conn.status === 'end') {
            resolve();
            return;
          }
          const timer = setTimeout(resolve, 1000);
          conn.once('end', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    );
    for (const conn of conns) {
      this.discard(conn);
    }
    await Promise.all(ended);
  }

  private discard(conn: ReaderConnection): void {
    this.all.delete(conn);
    conn.disconnect();
  }
}
