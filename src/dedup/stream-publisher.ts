import type Redis from 'ioredis';
import type { PinoLogger } from 'nestjs-pino';
import type { DedupSettings } from './dedup.types';
import { HEARTBEAT_SCRIPT, RELEASE_SCRIPT, type EndMarker } from './redis-keys';

export interface PublisherOptions {
  /** The hot-path client when it is usable right now. */
  client: () => Redis | undefined;
  lockKey: string;
  logKey: string;
  token: string;
  settings: DedupSettings;
  logger: PinoLogger;
}

/**
 * Writes a leader's events to its Redis stream for followers on other instances. Events are batched (one
 * XADD per batchEvents or per batchMs; the first event goes out at once, for a short time to first token),
 * so an answer costs a handful of commands, not one per token. A heartbeat keeps the lock, and the stream's
 * TTL, alive while the leader runs. Redis trouble never reaches the leader's own subscribers: the publisher just
 * stops, and followers see the lock expire and take over.
 */
export class StreamPublisher {
  private buffer: string[] = [];
  private bytes = 0;
  private timer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private writes: Promise<void> = Promise.resolve();
  private created = false;
  /** Ended, capped, lost the lock, or Redis failed: nothing more is written. */
  private stopped = false;
  private broken = false;
  private readonly streamTtlMs: number;

  constructor(private readonly o: PublisherOptions) {
    // Long enough for followers reading at their clients' pace; refreshed by every heartbeat.
    this.streamTtlMs = 2 * o.settings.maxWaitMs;
  }

  start(): void {
    this.heartbeat = setInterval(() => this.beat(), this.o.settings.heartbeatMs);
  }

  push(json: string): void {
    if (this.stopped) {
      return;
    }
    this.bytes += json.length;
    if (this.bytes > this.o.settings.maxLogBytes) {
      // Redis memory is bounded like the local log: followers are told to make their own calls.
      void this.end({ kind: 'capped' });
      return;
    }
    this.buffer.push(json);
    if (!this.created || this.buffer.length >= this.o.settings.batchEvents) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.o.settings.batchMs);
    }
  }

  /** Writes what is buffered plus the end marker, and releases the lock. Safe to call more than once. */
  end(marker: EndMarker): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      clearInterval(this.heartbeat);
      this.flush(marker);
    }
    return this.writes;
  }

  private flush(marker?: EndMarker): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0 && !marker) {
      return;
    }
    const first = !this.created;
    this.created = true;
    this.writes = this.writes.then(() => this.write(batch, first, marker));
  }

  private async write(batch: string[], first: boolean, marker?: EndMarker): Promise<void> {
    const client = this.o.client();
    if (this.broken || !client) {
      this.fail('Redis unavailable');
      return;
    }
    const fields: string[] = [];
    if (batch.length > 0) {
      fields.push('e', `[${batch.join(',')}]`);
    }
    if (marker) {
      fields.push('end', JSON.stringify(marker));
    }
    const pipeline = client.pipeline().xadd(this.o.logKey, '*', ...fields);
    if (first || marker) {
      pipeline.pexpire(this.o.logKey, this.streamTtlMs);
    }
    if (marker) {
      pipeline.eval(RELEASE_SCRIPT, 1, this.o.lockKey, this.o.token);
    }
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) {
        this.fail((failed[0] as Error).message);
      }
    } catch (err) {
      this.fail((err as Error).message);
    }
  }

  private beat(): void {
    const client = this.o.client();
    if (!client || this.broken) {
      return; // the lock expires on its own; followers take over if Redis stays away
    }
    const { lockKey, logKey, token, settings } = this.o;
    client.eval(HEARTBEAT_SCRIPT, 2, lockKey, logKey, token, settings.lockTtlMs, this.streamTtlMs).then(
      (owned) => {
        if (owned !== 1) {
          this.fail('lost the dedup lock to another instance');
        }
      },
      () => undefined, // a missed beat is fine; the next one (or the lock's expiry) decides
    );
  }

  private fail(reason: string): void {
    if (this.broken) {
      return;
    }
    this.broken = true;
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.timer);
    this.buffer = [];
    this.o.logger.warn({ reason, stream: this.o.logKey }, 'dedup: stopped sharing this answer through Redis');
  }
}
