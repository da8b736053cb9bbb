import type Redis from 'ioredis';
import type { StreamEvent } from '../protocol/types';
import {
  encodeRecord,
  entryId,
  joinRecords,
  type EndMarker,
  type HeadMarker,
  type JobEntry,
  type StartMarker,
} from './job-stream';

/** Back-off before each retry of a failed write. */
const RETRIES = [50, 200, 500];

/** What a publisher gathered since its entries last went out: it becomes one stream entry. */
interface Draft {
  start?: StartMarker;
  head?: HeadMarker;
  events: StreamEvent[];
  end?: EndMarker;
}

interface OutboxEntry {
  publisher: JobPublisher;
  id: string;
  fields: string[];
  entry: JobEntry;
  /** (Re)sets the stream's TTL: on its first entry and on its last. */
  expire: boolean;
  last: boolean;
}

/** Hands entries to a relay in this process instead of a PUBLISH (undefined: the channel is elsewhere). */
export type LocalRelay = (
  channel: string,
) => ((entries: { jobId: string; entry: JobEntry }[]) => void) | undefined;

/**
 * The worker side of every queued request this process runs, written to Redis together. A job's
 * publisher gathers what its answer produced (start, head, events, end) into a draft; the outbox sends
 * the drafts of every job as one pipeline — one XADD per job and one PUBLISH per API instance, whose
 * notice carries the entries themselves — and sends the next one when that one's replies are back. An
 * idle process thus writes an event at once, a busy one in batches as large as the load makes them, with
 * no timer. Entries whose API instance is this process are handed to its relay directly (they are in the
 * stream all the same). Ids are the job's own sequence, so a retried write is idempotent.
 */
export class RelayOutbox {
  private readonly dirty = new Set<JobPublisher>();
  private busy = false;
  private scheduled = false;

  constructor(
    private readonly client: () => Redis | undefined,
    private readonly local: LocalRelay = () => undefined,
  ) {}

  publisher(streamKey: string, channel: string, jobId: string, ttlMs: number): JobPublisher {
    return new JobPublisher(this, streamKey, channel, jobId, ttlMs);
  }

  /** Called by a publisher whose draft was empty. */
  mark(publisher: JobPublisher): void {
    this.dirty.add(publisher);
    this.schedule();
  }

  private schedule(): void {
    if (this.busy || this.scheduled) {
      return;
    }
    this.scheduled = true;
    // After the current I/O phase: everything the upstream reads of this turn produced goes out together.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch: OutboxEntry[] = [];
    for (const publisher of this.dirty) {
      const entry = publisher.take();
      if (entry) {
        batch.push(entry);
      }
    }
    this.dirty.clear();
    if (batch.length === 0) {
      return;
    }
    this.busy = true;
    try {
      await this.sendWithRetries(batch);
    } finally {
      this.busy = false;
      if (this.dirty.size > 0) {
        this.schedule();
      }
    }
  }

  /**
   * A blip (a reconnect, a command timeout on a busy loop) is retried; later entries wait meanwhile, so a
   * job's entries stay in order. Only a lasting failure ends a job's relay (its requester then sees the
   * worker as lost).
   */
  private async sendWithRetries(batch: OutboxEntry[]): Promise<void> {
    let pending = batch;
    for (let attempt = 0; ; attempt += 1) {
      let failed: Map<OutboxEntry, Error>;
      try {
        failed = await this.send(pending);
      } catch (err) {
        failed = new Map(pending.map((e) => [e, err as Error]));
      }
      for (const e of pending) {
        if (!failed.has(e)) {
          e.publisher.settle(e);
        }
      }
      if (failed.size === 0) {
        return;
      }
      if (attempt >= RETRIES.length) {
        for (const [e, err] of failed) {
          e.publisher.settle(e, err);
        }
        return;
      }
      pending = [...failed.keys()];
      await new Promise((r) => setTimeout(r, RETRIES[attempt]));
    }
  }

  /** One pipeline for the whole batch; the entries whose writes failed. */
  private async send(batch: OutboxEntry[]): Promise<Map<OutboxEntry, Error>> {
    const client = this.client();
    if (!client) {
      throw new Error('Redis unavailable');
    }
    const pipeline = client.pipeline();
    const replies: { entry: OutboxEntry; at: number }[] = [];
    const notices = new Map<string, OutboxEntry[]>();
    let commands = 0;
    for (const entry of batch) {
      const p = entry.publisher;
      pipeline.xadd(p.streamKey, entry.id, ...entry.fields);
      replies.push({ entry, at: commands });
      commands += 1;
      if (entry.expire) {
        pipeline.pexpire(p.streamKey, p.ttlMs);
        commands += 1;
      }
      const same = notices.get(p.channel) ?? [];
      same.push(entry);
      notices.set(p.channel, same);
    }
    const here: (() => void)[] = [];
    for (const [channel, entries] of notices) {
      const deliver = this.local(channel);
      if (deliver) {
        here.push(() => deliver(entries.map((e) => ({ jobId: e.publisher.jobId, entry: e.entry }))));
      } else {
        const records = entries.map((e) => encodeRecord(e.publisher.jobId, e.id, e.fields));
        pipeline.publish(channel, joinRecords(records));
      }
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = new Map<OutboxEntry, Error>();
    for (const { entry, at } of replies) {
      // An entry is already there when an earlier try reached Redis but its reply did not come back.
      const added = results[at]?.[0];
      const err =
        (added && !/equal or smaller/i.test(added.message) ? added : null) ??
        (entry.expire ? results[at + 1]?.[0] : null);
      if (err) {
        failed.set(entry, err);
      }
    }
    for (const deliver of here) {
      deliver();
    }
    return failed;
  }
}

/**
 * One queued request's answer on its way to the API instance holding the client: start (the job left
 * the queue), head (the chain committed to a target), canonical events, end. Nothing is written here;
 * the outbox takes the draft when it next writes.
 */
export class JobPublisher {
  private draft?: Draft;
  private seq = 0;
  private failed?: Error;
  private ended?: Promise<void>;
  private onEnded?: () => void;

  constructor(
    private readonly outbox: RelayOutbox,
    readonly streamKey: string,
    readonly channel: string,
    readonly jobId: string,
    readonly ttlMs: number,
  ) {}

  start(marker: StartMarker): void {
    this.edit().start = marker;
  }

  head(marker: HeadMarker, events: StreamEvent[]): void {
    const draft = this.edit();
    draft.head = marker;
    draft.events.push(...events);
  }

  push(event: StreamEvent): void {
    this.edit().events.push(event);
  }

  /** Writes the end marker; resolves when everything is on Redis (or failed for good). */
  end(marker: EndMarker): Promise<void> {
    this.ended ??= new Promise<void>((resolve) => (this.onEnded = resolve));
    if (this.failed) {
      this.onEnded?.();
    } else {
      this.edit().end = marker;
    }
    return this.ended;
  }

  /** The first lasting Redis failure, if any (the API side then sees the worker as lost). */
  get error(): Error | undefined {
    return this.failed;
  }

  /** The outbox takes the draft as this job's next entry. */
  take(): OutboxEntry | undefined {
    const d = this.draft;
    this.draft = undefined;
    if (!d || this.failed) {
      return undefined;
    }
    this.seq += 1;
    const id = entryId(this.seq);
    const fields: string[] = [];
    if (d.start !== undefined) {
      fields.push('start', JSON.stringify(d.start));
    }
    if (d.head !== undefined) {
      fields.push('head', JSON.stringify(d.head));
    }
    if (d.events.length > 0 || d.head !== undefined) {
      fields.push('e', JSON.stringify(d.events));
    }
    if (d.end !== undefined) {
      fields.push('end', JSON.stringify(d.end));
    }
    const last = d.end !== undefined;
    const entry: JobEntry = { id, start: d.start, head: d.head, events: d.events, end: d.end };
    return { publisher: this, id, fields, entry, expire: this.seq === 1 || last, last };
  }

  /** The outbox's verdict on an entry: written, or failed for good. */
  settle(entry: OutboxEntry, err?: Error): void {
    if (err) {
      this.failed ??= err;
      this.draft = undefined;
      this.onEnded?.();
    } else if (entry.last) {
      this.onEnded?.();
    }
  }

  private edit(): Draft {
    if (!this.draft) {
      this.draft = { events: [] };
      if (!this.failed) {
        this.outbox.mark(this);
      }
    }
    return this.draft;
  }
}
