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
  return entries.map(([id, fields]) => parseEntry(id, fields));
}

/**
 * Entry ids are the publisher's own sequence (`0-1`, `0-2`, …), so a reader knows which id comes next and
 * can take an entry straight from its PUBLISH notification; a gap means something was missed (read the stream).
 */
export function entryId(seq: number): string {
  return `0-${seq}`;
}

export function nextEntryId(after: string): string {
  const seq = after === '0' ? 0 : Number(after.slice(after.indexOf('-') + 1));
  return entryId(seq + 1);
}

/** A notification: `<jobId>\n<entry id>\n<fields as JSON>`. */
export function encodeNotice(jobId: string, id: string, fields: string[]): string {
  return `${jobId}\n${id}\n${JSON.stringify(fields)}`;
}

export function decodeNotice(message: string): { jobId: string; id?: string; fields?: string[] } {
  const a = message.indexOf('\n');
  if (a < 0) {
    return { jobId: message };
  }
  const b = message.indexOf('\n', a + 1);
  return {
    jobId: message.slice(0, a),
    id: message.slice(a + 1, b),
    fields: JSON.parse(message.slice(b + 1)) as string[],
  };
}

export function parseEntry(id: string, fields: string[]): JobEntry {
  {
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
  }
}
