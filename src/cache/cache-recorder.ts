import { passThrough, type EventIterator } from '../common/event-iterators';
import type { StreamEvent } from '../protocol/types';

/** Above this many (approximate) bytes an answer is not recorded: memory per request stays bounded. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

function approxBytes(ev: StreamEvent): number {
  switch (ev.type) {
    case 'content_block_delta': {
      const d = ev.delta as Record<string, unknown>;
      const text = d.text ?? d.partial_json ?? d.thinking ?? d.signature;
      return 64 + (typeof text === 'string' ? text.length : 256);
    }
    case 'content_block_start':
      // Server tool results (web search) arrive whole in their start event and can be large.
      return 64 + JSON.stringify(ev.content_block).length;
    case 'message_start':
    case 'message_delta':
    case 'content_block_stop':
    case 'message_stop':
    case 'ping':
    case 'error':
      return 256;
  }
}

/**
 * Collects an answer's events while they stream to the client and hands the log to the cache only when the
 * stream ended normally. A client that goes away, an upstream error or a cut stream never reaches
 * `finish()` through `tap()`; `CacheService.store` re-checks completeness anyway.
 */
export class CacheRecorder {
  private events: StreamEvent[] = [];
  private bytes = 0;
  private overflow = false;
  private finished = false;

  constructor(
    private readonly onComplete: (events: StreamEvent[]) => Promise<boolean>,
    private readonly maxBytes = MAX_RECORD_BYTES,
  ) {}

  push(...events: StreamEvent[]): void {
    if (this.overflow) {
      return;
    }
    for (const ev of events) {
      this.bytes += approxBytes(ev);
      if (this.bytes > this.maxBytes) {
        this.overflow = true;
        this.events = [];
        return;
      }
      this.events.push(ev);
    }
  }

  /** Stores the recorded log (if it is complete and not oversized), once; never throws. */
  finish(): Promise<boolean> {
    if (this.finished || this.overflow) {
      return Promise.resolve(false);
    }
    this.finished = true;
    const events = this.events;
    this.events = [];
    return this.onComplete(events).catch(() => false);
  }

  /**
   * Every event of `source`, recorded on the way; stores in the background as soon as message_stop arrives (a
   * writer may stop pulling right after it) or when the source ends normally. A plain pass-through stage
   * (event-iterators.ts): one promise hop per event.
   */
  tap(source: AsyncIterator<StreamEvent>): EventIterator<StreamEvent> {
    return passThrough(source, {
      observe: (ev) => {
        this.push(ev);
        if (ev.type === 'message_stop') {
          void this.finish();
        }
      },
      onDone: () => void this.finish(),
    });
  }
}

/** A cached log as a stream, optionally paced between content deltas (`Cache.paceReplayMs`). */
export async function* replayEvents(
  events: readonly StreamEvent[],
  paceMs: number,
  signal?: AbortSignal,
): AsyncGenerator<StreamEvent> {
  for (const ev of events) {
    if (signal?.aborted) {
      return;
    }
    if (paceMs > 0 && ev.type === 'content_block_delta') {
      await new Promise((resolve) => setTimeout(resolve, paceMs));
    }
    yield ev;
  }
}
