import type Redis from 'ioredis';
import type { StreamEvent } from '../protocol/types';
import { encodeNotice, entryId, type EndMarker, type HeadMarker, type StartMarker } from './job-stream';

/** Events per XADD at most; a batch also goes out after FLUSH_MS (one write per ~10 ms per stream at most). */
const MAX_BATCH = 64;
const FLUSH_MS = 10;
/** Back-off before each retry of a failed write. */
const RETRIES = [50, 200, 500];

/**
 * The worker side of a queued request: appends the answer to the job's stream (batched: the first event
 * at once, then every few milliseconds) and tells the waiting API instance, by a PUBLISH on its relay
 * channel, that there is something to read. Writes are chained, so entries keep their order.
 */
export class JobPublisher {
  private buffer: StreamEvent[] = [];
  private timer?: NodeJS.Timeout;
  private writes: Promise<void> = Promise.resolve();
  private failed?: Error;
  private seq = 0;

  constructor(
    private readonly client: () => Redis | undefined,
    private readonly streamKey: string,
    private readonly relayChannel: string,
    private readonly jobId: string,
    private readonly ttlMs: number,
  ) {}

  start(marker: StartMarker): void {
    this.write(['start', JSON.stringify(marker)]);
  }

  head(marker: HeadMarker, events: StreamEvent[]): void {
    this.write(['head', JSON.stringify(marker), 'e', JSON.stringify(events)]);
  }

  push(event: StreamEvent): void {
    this.buffer.push(event);
    if (this.buffer.length >= MAX_BATCH) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
    }
  }

  /** Flushes, writes the end marker and resolves when everything is on Redis (or failed). */
  end(marker: EndMarker): Promise<void> {
    this.flush();
    this.write(['end', JSON.stringify(marker)]);
    return this.writes;
  }

  /** The first Redis failure, if any (the API side then sees the worker as lost). */
  get error(): Error | undefined {
    return this.failed;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) {
      return;
    }
    const batch = this.buffer;
    this.buffer = [];
    this.write(['e', JSON.stringify(batch)]);
  }

  private write(fields: string[]): void {
    this.writes = this.writes.then(async () => {
      if (this.failed) {
        return;
      }
      this.seq += 1;
      const id = entryId(this.seq);
      const notice = encodeNotice(this.jobId, id, fields);
      const expire = this.seq === 1 || fields[0] === 'end';
      // A blip (a reconnect, a command timeout on a busy loop) is retried; only a lasting failure ends the
      // relay of this answer, and the requester then sees the worker as lost.
      for (let attempt = 0; ; attempt += 1) {
        try {
          await this.send(id, fields, notice, expire);
          return;
        } catch (err) {
          if (attempt >= RETRIES.length) {
            this.failed = err as Error;
            return;
          }
          await new Promise((r) => setTimeout(r, RETRIES[attempt]));
        }
      }
    });
  }

  private async send(id: string, fields: string[], notice: string, expire: boolean): Promise<void> {
    const client = this.client();
    if (!client) {
      throw new Error('Redis unavailable');
    }
    const pipeline = client.pipeline().xadd(this.streamKey, id, ...fields);
    if (expire) {
      pipeline.pexpire(this.streamKey, this.ttlMs);
    }
    // The notice carries the entry itself: the reader usually needs no XREAD at all.
    pipeline.publish(this.relayChannel, notice);
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) {
      // The entry is already there when an earlier try reached Redis but its reply did not come back.
      if (err && !/equal or smaller/i.test(err.message)) {
        throw err;
      }
    }
  }
}
