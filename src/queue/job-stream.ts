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

/*
 * A notification carries entries of one or more jobs, records joined by RS (U+001E); a record is
 * `<jobId>\n<entry id>\n<field>\n<value>…`. JSON never holds a raw control character, so neither
 * separator can occur inside a value. (A record `<jobId>\n<id>\n<fields as a JSON array>` is the
 * earlier form, still read.)
 */
const RS = '\u001e';

export interface Notice {
  jobId: string;
  id?: string;
  fields?: string[];
}

export function encodeRecord(jobId: string, id: string, fields: string[]): string {
  return `${jobId}\n${id}\n${fields.join('\n')}`;
}

export function joinRecords(records: string[]): string {
  return records.join(RS);
}

export function decodeNotice(message: string): Notice[] {
  return message.split(RS).map((record) => {
    const parts = record.split('\n');
    if (parts.length < 3) {
      return { jobId: parts[0] };
    }
    const fields =
      parts.length === 3 && parts[2].startsWith('[') ? (JSON.parse(parts[2]) as string[]) : parts.slice(2);
    return { jobId: parts[0], id: parts[1], fields };
  });
}

export function parseEntry(id: string, fields: string[]): JobEntry {
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
