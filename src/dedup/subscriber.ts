import type { StreamEvent } from '../protocol/types';
import type { LeaderCall } from './dedup.types';

export const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** What a subscriber reads from: the shared event log. */
export interface SubscriberHost {
  read(sub: Subscriber): Promise<IteratorResult<StreamEvent>>;
  leave(sub: Subscriber): void;
}

/** One reader of the log. Its cursor is an absolute event index; a single consumer calls next(). */
export class Subscriber implements AsyncIterableIterator<StreamEvent> {
  cursor = 0;
  attached = true;
  /** Delivered once after the subscriber was detached (too slow, or its prefix diverged). */
  terminal?: StreamEvent;
  wake?: () => void;
  private readonly onAbort = (): void => this.log.leave(this);

  constructor(
    private readonly log: SubscriberHost,
    readonly leaderCall: LeaderCall,
    readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  next(): Promise<IteratorResult<StreamEvent>> {
    return this.log.read(this);
  }

  async return(): Promise<IteratorResult<StreamEvent>> {
    this.log.leave(this);
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  unbind(): void {
    this.signal.removeEventListener('abort', this.onAbort);
  }
}
