import type { ErrorEvent, StreamEvent } from '../protocol/types';
import type { EventLog } from './event-log';

export const DIVERGED_EVENT: ErrorEvent = {
  type: 'error',
  error: {
    type: 'api_error',
    message: 'the shared answer was lost mid-stream and the replacement differs from what was already sent',
  },
};

/**
 * Message ids, usage (prompt-cache counters especially) and the model name (each request's own alias for
 * the same target; egress writes every client's own) legitimately differ between two calls that produce
 * the same answer, so they are left out of the comparison.
 */
function comparable(event: StreamEvent): string {
  if (event.type === 'message_start') {
    const { id: _id, usage: _usage, model: _model, ...rest } = event.message;
    return JSON.stringify({ type: event.type, message: rest });
  }
  if (event.type === 'message_delta') {
    return JSON.stringify({ type: event.type, delta: event.delta });
  }
  return JSON.stringify(event);
}

/**
 * Feeds a source into a log. A fresh log takes every event. A log that already holds events from a lost
 * source (the leader on another instance died mid-answer) is resumed: the replacement's events are
 * checked against what the log holds, and only what comes after is appended, so subscribers that already
 * sent part of the answer can finish it whenever the replacement says the same thing (deterministic
 * models, temperature 0, the fake provider). At the first difference the log is cut back there:
 * subscribers that had read past it get a terminal error (they are past the commit point), the others
 * simply receive the replacement.
 */
export class ResumeSink {
  private position = 0;
  private checking: boolean;

  constructor(private readonly log: EventLog) {
    this.checking = log.end > 0;
  }

  /** While checking, the source is pulled without waiting for demand: the events are already in the log. */
  get verifying(): boolean {
    return this.checking;
  }

  push(event: StreamEvent, size: number): void {
    if (!this.checking) {
      this.log.append(event, size);
      return;
    }
    if (event.type === 'ping') {
      return;
    }
    this.position = this.log.skipPings(this.position);
    if (this.position >= this.log.end) {
      this.checking = false;
      this.log.append(event, size);
      return;
    }
    if (this.position >= this.log.base && comparable(this.log.at(this.position)) === comparable(event)) {
      this.position++;
      return;
    }
    this.diverge();
    this.log.append(event, size);
  }

  /** The source ended: if it ended inside what the log holds, the rest of the log is not its answer. */
  end(): void {
    if (!this.checking) {
      return;
    }
    this.position = this.log.skipPings(this.position);
    if (this.position < this.log.end) {
      this.diverge();
    }
    this.checking = false;
  }

  private diverge(): void {
    this.log.fork(this.position, DIVERGED_EVENT);
    this.checking = false;
  }
}
