import type { SerializedError } from '../dedup/dedup-errors';
import type { AttemptRecord } from '../failover/failover.types';
import type { StreamEvent } from '../protocol/types';

/*
 * One Redis Stream per queued request carries the worker's answer to the API instance that holds the
 * client. Entry fields (JSON values):
 *   start  {worker}                 the job left the queue (queue wait ends)
 *   head   {target, attempts}       the failover chain committed to a target
 *   e      [StreamEvent…]           canonical events, in order (batched)
 *   end    {kind:'done'} | {kind:'failed', error, attempts}
 */
export interface StartMarker {
  worker: string;
}

export interface HeadMarker {
  target: string;
  attempts: AttemptRecord[];
}

export type EndMarker =
  { kind: 'done' } | { kind: 'failed'; error: SerializedError; attempts?: AttemptRecord[] };

export interface JobEntry {
  id: string;
  start?: StartMarker;
  head?: HeadMarker;
  events: StreamEvent[];
  end?: EndMarker;
}

export function parseEntries(reply: [string, [string, string[]][]][] | null | undefined): JobEntry[] {
  const entries = reply?.[0]?.[1] ?? [];
  return entries.map(([id, fields]) => {
    const entry: JobEntry = { id, events: [] };
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const value = JSON.parse(fields[i + 1]) as unknown;
      switch (fields[i]) {
        case 'start':
          entry.start = value as StartMarker;
          break;
        case 'head':
          entry.head = value as HeadMarker;
          break;
        case 'e':
          entry.events = value as StreamEvent[];
          break;
        case 'end':
          entry.end = value as EndMarker;
          break;
      }
    }
    return entry;
  });
}
