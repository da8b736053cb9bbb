import type Redis from 'ioredis';
import { reviveError } from '../dedup/dedup-errors';
import { rememberAttempts } from '../failover/failover.types';
import { GatewayError } from '../protocol/errors';
import type { StreamEvent } from '../protocol/types';
import type { RedisClient } from '../redis/redis.service';
import {
  decodeNotice,
  nextEntryId,
  parseEntries,
  parseEntry,
  type HeadMarker,
  type JobEntry,
} from './job-stream';

/** Entries per XREAD; reading pauses while this many events wait for a slow client. */
const READ_COUNT = 64;
const HIGH_WATER_EVENTS = 512;

export interface RelayKeys {
  stream: (jobId: string) => string;
  waiting: (jobId: string) => string;
  worker: (jobId: string) => string;
}

export interface RelaySettings {
  /** How long a requester's liveness key lives (refreshed each sweep). */
  aliveMs: number;
  /** No event and no worker liveness key for this long ⇒ the worker is lost. */
  workerLostMs: number;
}

type Waiter = () => void;

/** The API side of one queued request: what its worker has written, in order, at the client's pace. */
export class RelayHandle {
  headMarker?: HeadMarker;
  started = false;
  startedAt?: number;
  readonly createdAt = Date.now();
  lastActivity = Date.now();
  after = '0';
  private readonly events: StreamEvent[] = [];
  private finished = false;
  private failure?: Error;
  private wake?: Waiter;
  private headWaiters: { resolve: (h: HeadMarker) => void; reject: (e: Error) => void }[] = [];
  reading = false;
  readAgain = false;
  /** Entries were left on the stream while the client was slow: its next pull reads them. */
  behind = false;

  constructor(
    readonly jobId: string,
    readonly onPull: () => void,
    readonly onClose: () => void,
  ) {}

  get buffered(): number {
    return this.events.length;
  }

  get done(): boolean {
    return this.finished;
  }

  /** The chain's target and attempts once the worker committed; rejects with the worker's error. */
  head(): Promise<HeadMarker> {
    if (this.headMarker) {
      return Promise.resolve(this.headMarker);
    }
    if (this.failure) {
      return Promise.reject(this.failure);
    }
    return new Promise((resolve, reject) => this.headWaiters.push({ resolve, reject }));
  }

  apply(entry: JobEntry): void {
    this.after = entry.id;
    this.lastActivity = Date.now();
    if (entry.start && !this.started) {
      this.started = true;
      this.startedAt = Date.now();
    }
    if (entry.head) {
      this.headMarker = entry.head;
      for (const w of this.headWaiters.splice(0)) {
        w.resolve(entry.head);
      }
    }
    this.events.push(...entry.events);
    if (entry.end) {
      if (entry.end.kind === 'failed') {
        const err = reviveError(entry.end.error);
        rememberAttempts(err, entry.end.attempts ?? []);
        this.fail(err);
      } else {
        this.finished = true;
        this.signal();
      }
    } else {
      this.signal();
    }
  }

  /** Ends the relay with an error: before the head it is the request's error, after it a terminal event. */
  fail(err: Error): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    this.failure = err;
    for (const w of this.headWaiters.splice(0)) {
      w.reject(err);
    }
    this.signal();
  }

  async *stream(): AsyncGenerator<StreamEvent> {
    try {
      for (;;) {
        if (this.events.length > 0) {
          const batch = this.events.splice(0, this.events.length);
          if (this.behind && !this.finished) {
            this.onPull(); // room again: read on while the client takes these
          }
          yield* batch;
          continue;
        }
        if (this.finished) {
          if (this.failure) {
            const status = this.failure instanceof GatewayError ? this.failure.status : 502;
            yield {
              type: 'error',
              error: {
                type: status === 503 ? 'overloaded_error' : 'api_error',
                message: this.failure.message,
              },
            };
          }
          return;
        }
        if (this.behind) {
          this.onPull();
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.onClose();
    }
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * Reads queued requests' answers back for this instance. Workers append each entry to the job's stream and
 * PUBLISH it on this instance's relay channel (a process's own jobs are handed over in-process); one
 * subscriber connection hears them all and takes each entry straight from the notice when it is the next
 * one expected. A gap (a notice lost in a reconnect, a slow client's paused reading) is filled with a
 * non-blocking XREAD from the stream — no blocking connection per request, so thousands of queued streams
 * cost one socket. A sweep keeps the requesters' liveness keys alive, notices dead workers and re-reads
 * the streams that heard nothing for a sweep period (a lost last notice costs at most one sweep; a lost
 * one mid-answer shows as a gap at the next).
 */
export class JobRelay {
  private readonly handles = new Map<string, RelayHandle>();
  private sweeper?: NodeJS.Timeout;
  private readonly sweepMs: number;
  /** When the sweeps started failing to reach Redis (cleared by the next one that does). */
  private unreachableSince?: number;

  constructor(
    private readonly hot: () => Redis | undefined,
    private readonly subscriber: RedisClient,
    readonly channel: string,
    private readonly keys: RelayKeys,
    private readonly settings: RelaySettings,
  ) {
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) {
        this.deliver(message);
      }
    });
    subscriber.on('ready', () => void subscriber.subscribe(channel).catch(() => undefined));
    this.sweepMs = Math.max(100, Math.floor(settings.aliveMs / 3));
    this.sweeper = setInterval(() => void this.sweep(), this.sweepMs);
    this.sweeper.unref();
  }

  get size(): number {
    return this.handles.size;
  }

  /** A notice PUBLISHed by a worker. */
  deliver(message: string): void {
    for (const notice of decodeNotice(message)) {
      const { id, fields } = notice;
      this.offer(notice.jobId, id, id !== undefined && fields ? () => parseEntry(id, fields) : undefined);
    }
  }

  /** Entries of jobs this process ran itself, handed over by its outbox as they are (no JSON round trip). */
  deliverEntries(entries: { jobId: string; entry: JobEntry }[]): void {
    for (const { jobId, entry } of entries) {
      this.offer(jobId, entry.id, () => entry);
    }
  }

  private offer(jobId: string, id: string | undefined, entry?: () => JobEntry): void {
    const handle = this.handles.get(jobId);
    if (!handle) {
      return;
    }
    // In order and with room for it: take the entry as it came; anything else, read the stream.
    if (
      id !== undefined &&
      entry &&
      !handle.reading &&
      !handle.done &&
      handle.buffered < HIGH_WATER_EVENTS &&
      id === nextEntryId(handle.after)
    ) {
      handle.apply(entry());
    } else {
      this.read(handle);
    }
  }

  /** Registers a relay before its job is added, so no notification can be missed. */
  open(jobId: string): RelayHandle {
    const handle = new RelayHandle(
      jobId,
      () => this.read(handle),
      () => this.close(handle),
    );
    this.handles.set(jobId, handle);
    return handle;
  }

  close(handle: RelayHandle): void {
    this.handles.delete(handle.jobId);
    const client = this.hot();
    void client?.del(this.keys.waiting(handle.jobId)).catch(() => undefined);
  }

  stop(): void {
    clearInterval(this.sweeper);
    for (const h of this.handles.values()) {
      h.fail(new GatewayError(503, 'the gateway is shutting down', { type: 'overloaded_error' }));
    }
    this.handles.clear();
  }

  private read(handle: RelayHandle): void {
    if (handle.reading) {
      handle.readAgain = true;
      return;
    }
    if (handle.done) {
      return;
    }
    if (handle.buffered >= HIGH_WATER_EVENTS) {
      handle.behind = true; // the client's next pull reads on
      return;
    }
    const client = this.hot();
    if (!client) {
      return; // the sweep (or worker-lost check) decides
    }
    handle.behind = false;
    handle.reading = true;
    handle.readAgain = false;
    client.xread('COUNT', READ_COUNT, 'STREAMS', this.keys.stream(handle.jobId), handle.after).then(
      (reply) => {
        const entries = parseEntries(reply);
        for (const entry of entries) {
          handle.apply(entry);
        }
        handle.reading = false;
        if (handle.readAgain || entries.length === READ_COUNT) {
          this.read(handle);
        }
      },
      () => {
        handle.reading = false;
      },
    );
  }

  private async sweep(): Promise<void> {
    if (this.handles.size === 0) {
      return;
    }
    const client = this.hot();
    if (!client) {
      this.failSilent(Date.now());
      return;
    }
    const now = Date.now();
    const pipeline = client.pipeline();
    const suspects: RelayHandle[] = [];
    for (const h of this.handles.values()) {
      pipeline.set(this.keys.waiting(h.jobId), '1', 'PX', this.settings.aliveMs);
      if (now - h.lastActivity >= this.sweepMs) {
        this.read(h);
      }
      if (h.started && !h.done && now - h.lastActivity > this.settings.workerLostMs) {
        suspects.push(h);
        pipeline.exists(this.keys.worker(h.jobId));
      }
    }
    try {
      const replies = (await pipeline.exec()) ?? [];
      if (replies.length > 0 && replies.every(([err]) => err)) {
        throw replies[0][0] as Error; // ioredis may answer a pipeline it could not send with one error per command
      }
      this.unreachableSince = undefined;
      const existence = replies.slice(replies.length - suspects.length);
      suspects.forEach((h, i) => {
        if (existence[i]?.[1] === 0) {
          h.fail(
            new GatewayError(502, 'the worker running this request stopped before finishing it', {
              type: 'api_error',
            }),
          );
        }
      });
    } catch {
      // Redis trouble: the next sweep tries again, but a worker cannot relay anything without Redis either.
      this.failSilent(now);
    }
  }

  /**
   * Redis has been unreachable for `workerLostMs`: the worker's liveness key cannot be read, and the worker
   * cannot write its answer either. A started answer silent for as long ends with a terminal error instead of waiting (with
   * pings) for as long as the outage lasts. Requests not yet started keep their queue-wait deadline.
   */
  private failSilent(now: number): void {
    this.unreachableSince ??= now;
    if (now - this.unreachableSince < this.settings.workerLostMs) {
      return; // one failed sweep (a slow reply on a busy loop) is not an outage
    }
    for (const h of this.handles.values()) {
      if (h.started && !h.done && now - h.lastActivity > this.settings.workerLostMs) {
        h.fail(
          new GatewayError(503, 'Redis is unavailable: the answer of this queued request cannot be relayed', {
            type: 'overloaded_error',
          }),
        );
      }
    }
  }
}
