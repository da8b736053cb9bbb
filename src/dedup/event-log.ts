import type { ErrorEvent, StreamEvent } from '../protocol/types';
import { errorEventFor } from './dedup-errors';
import type { LeaderCall } from './dedup.types';
import { eventSize } from './event-size';
import { DONE, Subscriber, type SubscriberHost } from './subscriber';

/**
 * How far the source may run ahead of the fastest subscriber. A few events of read-ahead let the source
 * and the readers run without a promise hand-off per event, while a stalled reader still stalls the
 * source (backpressure) after at most this many events.
 */
const READ_AHEAD = 16;

/**
 * Once a log can no longer be joined, nobody will ever replay its head, so events every subscriber has
 * read are dropped. Doing it in chunks keeps the cost amortised (one splice per chunk, not per event).
 */
const TRIM_CHUNK_BYTES = 64 * 1024;

export const SLOW_SUBSCRIBER_EVENT: ErrorEvent = {
  type: 'error',
  error: { type: 'api_error', message: 'subscriber too slow; detached' },
};

export interface EventLogHooks {
  /** The last subscriber left before the answer was complete: the source must stop. */
  onEmpty(reason: unknown): void;
  /** A subscriber was detached for falling behind. */
  onSlow(): void;
  /** The log stopped accepting joiners (complete, failed, abandoned or over the cap). Called once. */
  onRetire(): void;
}

/**
 * The append-only event log of one shared answer: one cursor per subscriber, promise-based wake-ups (no
 * polling), demand tracking so the source is pulled only when some subscriber is waiting (with one
 * subscriber that is plain backpressure, give or take a few events of read-ahead), and a hard byte cap:
 * past it the log takes no joiners, forgets what everyone has read, and detaches the slowest subscribers
 * instead of growing.
 */
export class EventLog implements SubscriberHost {
  private events: StreamEvent[] = [];
  private sizes: number[] = [];
  /** Absolute index of events[0] (greater than 0 once the head was trimmed). */
  base = 0;
  bytes = 0;
  done = false;
  joinable: boolean;
  readonly started: Promise<void>;
  private hasStarted = false;
  private resolveStarted!: () => void;
  private rejectStarted!: (err: unknown) => void;
  private readonly subscribers = new Set<Subscriber>();
  private readonly waiting = new Set<Subscriber>();
  private demandWake?: () => void;
  private demandSignal?: AbortSignal;
  /** The furthest any subscriber has read (stale-high after the fastest left: it only allows read-ahead). */
  private lead = 0;

  constructor(
    private readonly cap: number,
    joinable: boolean,
    private readonly hooks: EventLogHooks,
  ) {
    this.joinable = joinable;
    this.started = new Promise<void>((resolve, reject) => {
      this.resolveStarted = resolve;
      this.rejectStarted = reject;
    });
    // Rejections are observed by join(); an unobserved one (every joiner already gone) is not a crash.
    this.started.catch(() => undefined);
  }

  get end(): number {
    return this.base + this.events.length;
  }

  get size(): number {
    return this.subscribers.size;
  }

  at(index: number): StreamEvent {
    return this.events[index - this.base];
  }

  /** First index at or after `pos` that is not a ping (pings carry no content; replacements may differ). */
  skipPings(pos: number): number {
    let p = pos;
    while (p >= this.base && p < this.end && this.at(p).type === 'ping') {
      p++;
    }
    return p;
  }

  subscribe(leaderCall: LeaderCall, signal: AbortSignal): Subscriber {
    const sub = new Subscriber(this, leaderCall, signal);
    this.subscribers.add(sub);
    return sub;
  }

  /** The longest-attached subscriber: its leaderCall is used when this process has to call upstream. */
  oldest(): Subscriber | undefined {
    return this.subscribers.values().next().value;
  }

  async read(sub: Subscriber): Promise<IteratorResult<StreamEvent>> {
    for (;;) {
      if (sub.terminal) {
        const value = sub.terminal;
        sub.terminal = undefined;
        return { done: false, value };
      }
      if (!sub.attached) {
        return DONE;
      }
      if (sub.cursor < this.end) {
        const value = this.at(sub.cursor);
        sub.cursor++;
        if (sub.cursor > this.lead) {
          this.lead = sub.cursor;
          if (this.demandWake && this.wanted()) {
            this.demandWake();
          }
        }
        return { done: false, value };
      }
      if (this.done) {
        this.leave(sub);
        return DONE;
      }
      await new Promise<void>((resolve) => {
        sub.wake = resolve;
        this.waiting.add(sub);
        this.demandWake?.();
      });
    }
  }

  /** Resolves when the source should produce the next event: someone is waiting, or `signal` fired. */
  demand(signal: AbortSignal): Promise<void> {
    if (this.wanted() || this.done || signal.aborted) {
      return Promise.resolve();
    }
    if (this.demandSignal !== signal) {
      // One listener per source signal, not one per event: add/removeEventListener is costly per token.
      this.demandSignal = signal;
      signal.addEventListener('abort', () => this.demandWake?.(), { once: true });
    }
    return new Promise<void>((resolve) => {
      this.demandWake = () => {
        this.demandWake = undefined;
        resolve();
      };
    });
  }

  private wanted(): boolean {
    return this.end === 0 || this.waiting.size > 0 || this.lead > this.end - READ_AHEAD;
  }

  append(event: StreamEvent, size: number): void {
    if (this.done) {
      return;
    }
    this.events.push(event);
    this.sizes.push(size);
    this.bytes += size;
    if (!this.hasStarted) {
      this.hasStarted = true;
      this.resolveStarted();
    }
    if (event.type === 'message_stop' || event.type === 'error') {
      this.retire(); // the answer is complete: later identical requests go to the cache or a new call
    }
    this.enforceCap();
    this.notify();
  }

  finish(): void {
    if (this.done) {
      return;
    }
    this.done = true;
    this.notify();
    this.retire();
  }

  /**
   * The source failed. Before the first event every pending join rejects with `err`; after it (the
   * commit point) subscribers get a terminal error event, never a fake clean end.
   */
  fail(err: unknown): void {
    if (this.done) {
      return;
    }
    if (this.hasStarted) {
      const event = errorEventFor(err);
      this.append(event, eventSize(event));
      this.finish();
      return;
    }
    this.done = true;
    this.rejectStarted(err);
    for (const sub of [...this.subscribers]) {
      this.detach(sub);
    }
    this.retire();
  }

  /**
   * Cuts the log back to `position` because a replacement source disagrees with what follows: subscribers
   * that already read past it are detached with `terminal`, the rest continue with the replacement.
   */
  fork(position: number, terminal: StreamEvent): void {
    this.lead = Math.min(this.lead, position);
    for (const sub of [...this.subscribers]) {
      if (sub.cursor > position) {
        this.detach(sub, terminal);
      }
    }
    if (position <= this.base) {
      this.events = [];
      this.sizes = [];
      this.bytes = 0;
      this.base = position;
      return;
    }
    const keep = position - this.base;
    for (const size of this.sizes.splice(keep)) {
      this.bytes -= size;
    }
    this.events.length = keep;
  }

  leave(sub: Subscriber): void {
    sub.unbind();
    if (!sub.attached) {
      return;
    }
    this.detach(sub);
    if (this.subscribers.size === 0 && !this.done) {
      this.retire();
      this.hooks.onEmpty(sub.signal.reason ?? new Error('every dedup subscriber left'));
    }
  }

  private detach(sub: Subscriber, terminal?: StreamEvent): void {
    sub.attached = false;
    sub.terminal = terminal;
    sub.unbind();
    this.subscribers.delete(sub);
    this.waiting.delete(sub);
    const wake = sub.wake;
    sub.wake = undefined;
    wake?.();
  }

  private notify(): void {
    for (const sub of this.waiting) {
      const wake = sub.wake;
      sub.wake = undefined;
      wake?.();
    }
    this.waiting.clear();
  }

  private retire(): void {
    if (this.joinable) {
      this.joinable = false;
      this.hooks.onRetire();
    }
  }

  private enforceCap(): void {
    if (this.bytes <= (this.joinable ? this.cap : Math.min(this.cap, TRIM_CHUNK_BYTES))) {
      return;
    }
    if (this.bytes > this.cap) {
      this.retire();
    }
    this.trim();
    while (this.bytes > this.cap) {
      let slowest: Subscriber | undefined;
      let fastest = -1;
      for (const sub of this.subscribers) {
        if (!slowest || sub.cursor < slowest.cursor) {
          slowest = sub;
        }
        fastest = Math.max(fastest, sub.cursor);
      }
      // The fastest readers are never detached: the source only runs when one of them asks for more.
      if (!slowest || slowest.cursor >= fastest) {
        return;
      }
      this.detach(slowest, SLOW_SUBSCRIBER_EVENT);
      this.hooks.onSlow();
      this.trim();
    }
  }

  /** Drops the events every attached subscriber has read (only ever called once the log is not joinable). */
  private trim(): void {
    let min = this.end;
    for (const sub of this.subscribers) {
      min = Math.min(min, sub.cursor);
    }
    const drop = min - this.base;
    if (drop <= 0) {
      return;
    }
    this.events.splice(0, drop);
    for (const size of this.sizes.splice(0, drop)) {
      this.bytes -= size;
    }
    this.base = min;
  }
}
