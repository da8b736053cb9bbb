import { BUCKETS, LocalBuckets } from '../metrics/fast-histogram';
import type { ErrorPayload, StreamEvent } from '../protocol/types';
import { ABORTED } from '../timeout/deadline';
import { closeQuietly, type OpenedAttempt } from './attempt';

export type StreamEndReason = 'complete' | 'error_event' | 'timeout' | 'upstream_error' | 'client_closed';

export interface StreamEnd {
  /** The upstream delivered everything it was asked for (or was still delivering when the client left). */
  ok: boolean;
  reason: StreamEndReason;
  error?: string;
  /** From the first event to the end. */
  durationMs: number;
  /** Longest wait for an upstream event (reads only: client backpressure is not counted). */
  maxGapMs: number;
  events: number;
  /** Every read gap that ended with an event, in seconds (the inter-chunk gap metric). */
  gaps: LocalBuckets;
}

/**
 * The rest of an answer after the commit point. The idle deadline runs only while a read is pending and
 * the total deadline throughout; when one fires the upstream is aborted and the stream ends with a terminal
 * `timeout_error` event — never a fake clean end. `onEnd` runs exactly once, after which timers are gone.
 */
export class CommittedStream implements AsyncIterator<StreamEvent> {
  private finished = false;
  private maxGapMs = 0;
  private events = 1;
  private readonly gaps = new LocalBuckets(BUCKETS.gap);
  private readonly committedAt = performance.now();

  constructor(
    private readonly opened: OpenedAttempt,
    private readonly onEnd: (end: StreamEnd) => void,
  ) {}

  async next(): Promise<IteratorResult<StreamEvent>> {
    if (this.finished) {
      return { done: true, value: undefined };
    }
    const { deadline, iterator } = this.opened;
    deadline.armIdle();
    const readStarted = performance.now();
    let r: IteratorResult<StreamEvent> | typeof ABORTED;
    try {
      r = await deadline.race(iterator.next());
    } catch (err) {
      // Adapters turn failures into error events; a throw still must not end the answer silently.
      return this.fail(
        { type: 'api_error', message: (err as Error)?.message ?? String(err) },
        'upstream_error',
      );
    } finally {
      deadline.disarmIdle();
    }
    if (r === ABORTED) {
      if (deadline.expired) {
        return this.fail({ type: 'timeout_error', message: deadline.expired.message }, 'timeout');
      }
      this.finish({ ok: true, reason: 'client_closed' });
      closeQuietly(iterator);
      return { done: true, value: undefined };
    }
    const gapMs = performance.now() - readStarted;
    this.maxGapMs = Math.max(this.maxGapMs, gapMs);
    if (r.done) {
      this.finish({ ok: true, reason: 'complete' });
      return r;
    }
    this.gaps.observe(gapMs / 1000);
    this.events += 1;
    if (r.value.type === 'error') {
      this.finish({ ok: false, reason: 'error_event', error: r.value.error.message });
    }
    return r;
  }

  /** The consumer walked away (client disconnect): release the upstream. */
  async return(): Promise<IteratorResult<StreamEvent>> {
    if (!this.finished) {
      this.finish({ ok: true, reason: 'client_closed' });
    }
    closeQuietly(this.opened.iterator);
    return { done: true, value: undefined };
  }

  private fail(error: ErrorPayload, reason: StreamEndReason): IteratorResult<StreamEvent> {
    this.opened.deadline.abort(new Error(error.message));
    this.finish({ ok: false, reason, error: error.message });
    closeQuietly(this.opened.iterator);
    return { done: false, value: { type: 'error', error } };
  }

  private finish(end: Omit<StreamEnd, 'durationMs' | 'maxGapMs' | 'events' | 'gaps'>): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    this.opened.deadline.dispose();
    this.onEnd({
      ...end,
      durationMs: Math.round(performance.now() - this.committedAt),
      maxGapMs: Math.round(this.maxGapMs),
      events: this.events,
      gaps: this.gaps,
    });
  }
}
