import type { PinoLogger } from 'nestjs-pino';
import type { CanonicalRequest, ErrorPayload, StreamEvent } from '../protocol/types';
import { closeQuietly } from './attempt';
import type { FailoverCounters } from './failover-counters';
import { attemptsOf, type AttemptRecord, type FailoverResult } from './failover.types';
import { continuationRequest } from './continuation-request';
import { ClientView, ContinuationSplicer, decideResume, type ResumeSettings } from './stream-resume';

/** What a resumed stream needs from the service that runs the request. */
export interface ResumeHooks {
  /**
   * One continuation: a fresh failover run of `request` over the request's chain without `exclude`, under
   * `signal` (the client's, bounded by the answer's total deadline). Rejects like `FailoverService.execute`.
   */
  continueWith(
    request: CanonicalRequest,
    exclude: ReadonlySet<string>,
    signal: AbortSignal,
    prefillTokens: number,
  ): Promise<FailoverResult>;
  /** Targets of the request's chain not in `exclude`. */
  targetsLeft(exclude: ReadonlySet<string>): number;
  counters: FailoverCounters;
  logger: PinoLogger;
}

export interface ResumeOptions {
  settings: ResumeSettings;
  /** The request the upstream was called with (streaming). */
  request: CanonicalRequest;
  /** The client's signal. */
  signal: AbortSignal;
}

const DONE: IteratorResult<StreamEvent> = { done: true, value: undefined };

/**
 * The rest of a streamed answer (after its head), resumed on another target when it breaks after the commit
 * point and the client has only had plain text (docs/failover.md#stream-resume). Events pass through untouched
 * until a break; a continuation's are spliced in (`ContinuationSplicer`). A break that is not resumed ends the
 * stream with its terminal error event, as without resume.
 */
export class ResumingStream implements AsyncIterator<StreamEvent> {
  private readonly view = new ClientView();
  private readonly pending: StreamEvent[] = [];
  private readonly attempts: AttemptRecord[];
  private readonly broken = new Set<string>();
  private readonly expiresAt: number;
  private current: AsyncIterator<StreamEvent>;
  private target: string;
  private splicer?: ContinuationSplicer;
  private resumes = 0;
  /** The consumer called return(): a continuation that arrives now is closed at once. */
  private returned = false;
  private finished = false;
  /** The client got its message_stop or error: whatever follows is the upstream's tail. */
  private terminalSent = false;
  private budget?: { controller: AbortController; expired: boolean; dispose: () => void };

  constructor(
    result: FailoverResult,
    private readonly opts: ResumeOptions,
    private readonly hooks: ResumeHooks,
  ) {
    this.current = result.events;
    this.target = result.target;
    this.attempts = result.attempts;
    this.expiresAt = result.expiresAt ?? Infinity;
    for (const ev of result.head) {
      this.view.observe(ev);
    }
  }

  async next(): Promise<IteratorResult<StreamEvent>> {
    for (;;) {
      const queued = this.pending.shift();
      if (queued) {
        this.view.observe(queued);
        this.terminalSent ||= queued.type === 'message_stop' || queued.type === 'error';
        return { done: false, value: queued };
      }
      if (this.finished) {
        return DONE;
      }
      let r: IteratorResult<StreamEvent>;
      try {
        r = await this.current.next();
      } catch (err) {
        r = { done: false, value: { type: 'error', error: { type: 'api_error', message: String(err) } } };
      }
      if (r.done) {
        this.finish();
        if (this.budget?.expired && !this.opts.signal.aborted && !this.terminalSent) {
          // Our own bound on a continuation, not the client, ended it: never a silent end.
          const message = `${this.target}: the answer's total deadline was exceeded while resuming`;
          return { done: false, value: { type: 'error', error: { type: 'timeout_error', message } } };
        }
        return DONE;
      }
      const ev = r.value;
      if (ev.type === 'error' && (await this.resume(ev.error))) {
        continue;
      }
      this.pending.push(...(this.splicer && ev.type !== 'error' ? this.splicer.map(ev) : [ev]));
    }
  }

  async return(): Promise<IteratorResult<StreamEvent>> {
    this.returned = true;
    this.finish();
    // A continuation still looking for its first event has no one left to answer.
    this.budget?.controller.abort(new Error('the consumer of the answer went away'));
    await this.current.return?.(undefined);
    return DONE;
  }

  /** Starts the continuation of a broken answer; false when the break stays a terminal error. */
  private async resume(error: ErrorPayload): Promise<boolean> {
    const from = this.target;
    const exclude = new Set([...this.broken, from]);
    const decision = decideResume({
      settings: this.opts.settings,
      failover: true,
      view: this.view,
      error,
      clientGone: this.opts.signal.aborted || this.returned,
      resumes: this.resumes,
      remainingMs: this.expiresAt - performance.now(),
      targetsLeft: this.hooks.targetsLeft(exclude),
    });
    const { counters, logger } = this.hooks;
    if (!decision.resume) {
      if (decision.counted) {
        counters.streamResume('refused');
        logger.info({ target: from, reason: decision.reason, error: error.message }, 'stream not resumed');
      }
      return false;
    }
    // Its error event ended it, but only return() gives its provider slot and socket back.
    closeQuietly(this.current);
    this.markBroken(from);
    this.broken.add(from);
    this.resumes += 1;
    const chars = this.view.text.length;
    const tokensSoFar = this.view.nextSegment();
    const { request, skip } = continuationRequest(this.opts.request, this.view.text, tokensSoFar);
    let result: FailoverResult;
    try {
      result = await this.hooks.continueWith(request, exclude, this.budgetSignal(), tokensSoFar);
    } catch (err) {
      this.attempts.push(...(attemptsOf(err) ?? []));
      counters.streamResume('failed');
      logger.warn(
        { from, reason: error.type, error: error.message, cause: (err as Error)?.message },
        'stream resume failed',
      );
      return false;
    }
    if (this.returned) {
      closeQuietly(result.events);
      return false;
    }
    this.attempts.push(...result.attempts);
    counters.streamResume('resumed');
    counters.failover(from, result.target, 'mid_stream');
    logger.warn(
      { from, to: result.target, reason: error.type, error: error.message, chars, resumes: this.resumes },
      'stream resumed',
    );
    this.splicer = new ContinuationSplicer({
      openIndex: this.view.openIndex,
      nextIndex: this.view.nextIndex,
      inputUsage: this.view.inputUsage,
      outputTokens: tokensSoFar,
      skip,
      resumes: this.resumes,
    });
    this.current = result.events;
    this.target = result.target;
    for (const ev of result.head) {
      this.pending.push(...this.splicer.map(ev));
    }
    return true;
  }

  /** The attempt that committed and then broke is a failed one in the request's record. */
  private markBroken(target: string): void {
    for (let i = this.attempts.length - 1; i >= 0; i--) {
      const a = this.attempts[i];
      if (a.target === target && a.outcome === 'ok') {
        this.attempts[i] = { ...a, outcome: 'failed', reason: 'mid_stream' };
        break;
      }
    }
    this.hooks.counters.attempt('failed', 'mid_stream');
  }

  /** The client's signal, also aborted when the answer's total deadline passes (continuations only). */
  private budgetSignal(): AbortSignal {
    if (!Number.isFinite(this.expiresAt)) {
      return this.opts.signal;
    }
    if (!this.budget) {
      const client = this.opts.signal;
      const controller = new AbortController();
      const onClient = (): void => controller.abort(client.reason);
      client.addEventListener('abort', onClient, { once: true });
      const budget = {
        controller,
        expired: false,
        dispose: () => {
          clearTimeout(timer);
          client.removeEventListener('abort', onClient);
        },
      };
      const timer = setTimeout(
        () => {
          budget.expired = true;
          controller.abort(new Error('the answer total deadline was exceeded'));
        },
        Math.max(0, this.expiresAt - performance.now()),
      );
      timer.unref();
      this.budget = budget;
    }
    return this.budget.controller.signal;
  }

  private finish(): void {
    this.finished = true;
    this.budget?.dispose();
  }
}
