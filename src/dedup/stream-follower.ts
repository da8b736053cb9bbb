import type { StreamEvent } from '../protocol/types';
import { reviveError } from './dedup-errors';
import type { ReaderConnection, ReaderPool } from './reader-pool';
import type { EndMarker } from './redis-keys';

/** How a follower's view of a remote leader ended. */
export type RemoteOutcome =
  | { kind: 'done' }
  | { kind: 'failed'; error: Error }
  /** The leader went away (died, abandoned, capped) or Redis failed: someone else must call upstream. */
  | { kind: 'gone'; reason: string }
  /** Our own signal stopped the reading. */
  | { kind: 'stopped' };

export interface FollowOptions {
  pool: ReaderPool;
  lockKey: string;
  logKey: string;
  /** The lock token of the leader being followed. */
  owner: string;
  /** XREAD BLOCK time; the leader's liveness is checked after each quiet block. */
  blockMs: number;
  /** Extra command timeout on top of blockMs. */
  slackMs: number;
  signal: AbortSignal;
}

interface Entry {
  id: string;
  events: StreamEvent[];
  end?: EndMarker;
}

/** Entries per XREAD; each holds up to Dedup.batchEvents events. */
const READ_COUNT = 16;

async function read(conn: ReaderConnection, key: string, after: string, blockMs?: number): Promise<Entry[]> {
  const reply =
    blockMs === undefined
      ? await conn.xread('COUNT', READ_COUNT, 'STREAMS', key, after)
      : await conn.xread('COUNT', READ_COUNT, 'BLOCK', blockMs, 'STREAMS', key, after);
  return (reply?.[0]?.[1] ?? []).map(([id, fields]) => {
    const entry: Entry = { id, events: [] };
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'e') {
        entry.events = JSON.parse(fields[i + 1]) as StreamEvent[];
      } else if (fields[i] === 'end') {
        entry.end = JSON.parse(fields[i + 1]) as EndMarker;
      }
    }
    return entry;
  });
}

function outcomeOf(marker: EndMarker): RemoteOutcome {
  switch (marker.kind) {
    case 'done':
      return { kind: 'done' };
    case 'failed':
      return { kind: 'failed', error: reviveError(marker.error) };
    case 'abandoned':
      return { kind: 'gone', reason: 'the leader was abandoned by its clients' };
    case 'capped':
      return { kind: 'gone', reason: 'the answer outgrew Dedup.maxLogBytes' };
  }
}

/**
 * Yields a remote leader's events from the start of its stream on a dedicated connection, and returns how
 * it ended. A quiet XREAD BLOCK is followed by a look at the lock: when it no longer names the leader
 * (released or expired, the leader having stopped its heartbeat), whatever the leader wrote last is drained
 * and, without an end marker, the leader is declared gone.
 */
export async function* followStream(o: FollowOptions): AsyncGenerator<StreamEvent, RemoteOutcome, undefined> {
  let conn: ReaderConnection;
  try {
    conn = await o.pool.acquire(o.blockMs + o.slackMs);
  } catch (err) {
    return { kind: 'gone', reason: `no reader connection: ${(err as Error).message}` };
  }
  if (o.signal.aborted) {
    o.pool.release(conn, true);
    return { kind: 'stopped' };
  }
  let healthy = true;
  const onAbort = (): void => {
    healthy = false;
    conn.disconnect(); // interrupts a pending XREAD BLOCK at once
  };
  o.signal.addEventListener('abort', onAbort, { once: true });
  let after = '0';
  try {
    for (;;) {
      let entries = await read(conn, o.logKey, after, o.blockMs);
      let leaderGone = false;
      if (entries.length === 0) {
        if ((await conn.get(o.lockKey)) === o.owner) {
          continue;
        }
        entries = await read(conn, o.logKey, after);
        leaderGone = entries.length < READ_COUNT;
      }
      for (const entry of entries) {
        after = entry.id;
        yield* entry.events;
        if (entry.end) {
          return outcomeOf(entry.end);
        }
      }
      if (leaderGone) {
        return { kind: 'gone', reason: 'the leader stopped without an end marker (its lock expired)' };
      }
    }
  } catch (err) {
    healthy = false;
    return o.signal.aborted
      ? { kind: 'stopped' }
      : { kind: 'gone', reason: `Redis: ${(err as Error).message}` };
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    o.pool.release(conn, healthy && !o.signal.aborted);
  }
}
