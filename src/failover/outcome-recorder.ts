import type { PinoLogger } from 'nestjs-pino';
import { UpstreamTimeoutError } from '../timeout/deadline';
import type { TimeoutPolicyService } from '../timeout/timeout-policy.service';
import type { AttemptResult, OpenedAttempt } from './attempt';
import type { Transition } from './circuit-breaker';
import type { StreamEnd, StreamEndReason } from './committed-stream';
import type { AttemptOutcome, FailoverCounters } from './failover-counters';
import type { FailureClass } from './failover-triggers';
import type { HealthScoreService } from './health-score';
import type { TargetStateService } from './target-state.service';

const providerOf = (target: string): string => target.slice(0, Math.max(0, target.indexOf(',')));

const END_OUTCOME: Record<StreamEndReason, AttemptOutcome> = {
  complete: 'ok',
  client_closed: 'client_closed',
  timeout: 'timeout',
  error_event: 'failed',
  upstream_error: 'failed',
};

/**
 * Feeds every attempt's outcome to the breaker, the health scores and the latency history. Breaker
 * verdicts for committed answers come at the end of the stream (a stall or cut after the first event is
 * a failure of the target); a half-open probe closes the circuit as soon as it commits.
 */
export class OutcomeRecorder {
  constructor(
    private readonly scores: HealthScoreService,
    private readonly state: TargetStateService,
    private readonly timeouts: TimeoutPolicyService,
    private readonly counters: FailoverCounters,
    private readonly logger: PinoLogger,
  ) {}

  async failed(
    result: Extract<AttemptResult, { ok: false }>,
    cls: FailureClass,
    maxCooldownMs: number,
  ): Promise<void> {
    const { target, probe, error } = result;
    if (error.cause instanceof UpstreamTimeoutError && error.cause.kind === 'first_byte') {
      this.timeouts.recordFirstByteTimeout(target);
    }
    this.counters.attemptEnded({
      target,
      outcome: cls.clientAbort ? 'client_closed' : error.kind === 'timeout' ? 'timeout' : 'failed',
      durationMs: result.ms,
    });
    if (cls.clientAbort) {
      if (probe) {
        this.state.releaseProbe(target);
      }
      return;
    }
    if (cls.keyBad) {
      this.scores.markKeyBad(providerOf(target), error.status, error.message);
    }
    if (error.retryAfterMs !== undefined && error.retryAfterMs > 0) {
      const until = await this.state.coolDown(target, Math.min(error.retryAfterMs, maxCooldownMs));
      this.logger.info(
        { target, until: new Date(until).toISOString(), status: error.status },
        'target cooling down (retry-after)',
      );
    }
    if (cls.breakerFailure) {
      this.transition(target, await this.state.recordFailure(target, probe));
    } else if (probe) {
      this.state.releaseProbe(target);
    }
    if (cls.scoreFailure) {
      this.scores.recordAttempt(target, {
        ok: false,
        source: 'traffic',
        status: error.status,
        error: error.message,
      });
    }
  }

  async committed(opened: OpenedAttempt, stream: boolean): Promise<void> {
    if (stream) {
      this.timeouts.recordFirstByte(opened.target, opened.ttfbMs);
    }
    if (this.scores.keyStatus(providerOf(opened.target))) {
      this.scores.clearKeyBad(providerOf(opened.target));
    }
    if (opened.probe) {
      this.transition(opened.target, await this.state.recordSuccess(opened.target, true));
    }
  }

  ended(opened: OpenedAttempt, end: StreamEnd, stream: boolean): void {
    const { target } = opened;
    const ttfbMs = stream ? opened.ttfbMs : undefined;
    this.counters.attemptEnded({
      target,
      outcome: END_OUTCOME[end.reason],
      ttfbMs: opened.ttfbMs,
      durationMs: opened.ttfbMs + end.durationMs,
      gaps: end.gaps,
    });
    if (end.ok) {
      if (end.reason === 'complete') {
        if (!opened.probe) {
          void this.state.recordSuccess(target, false).then((t) => this.transition(target, t));
        }
        if (stream && end.events > 2) {
          this.timeouts.recordIdleGap(target, end.maxGapMs);
        }
      }
      this.scores.recordAttempt(target, {
        ok: true,
        source: 'traffic',
        ttfbMs,
        durationMs: end.reason === 'complete' ? end.durationMs : undefined,
      });
      return;
    }
    this.logger.warn(
      { target, reason: end.reason, error: end.error, afterMs: end.durationMs },
      'answer failed after the first event',
    );
    void this.state.recordFailure(target, false).then((t) => this.transition(target, t));
    this.scores.recordAttempt(target, { ok: false, source: 'traffic', ttfbMs, error: end.error });
  }

  /** Counts and logs a breaker transition (`cause`: what tripped it, when not an attempt's failure). */
  transition(target: string, t: Transition, cause?: string): void {
    if (!t) {
      return;
    }
    this.counters.breaker(t);
    const view = this.state.view(target);
    if (t === 'opened') {
      this.logger.warn(
        { target, openUntil: new Date(view.openUntil ?? 0).toISOString(), level: view.level, cause },
        'circuit opened',
      );
    } else {
      this.logger.info({ target }, 'circuit closed');
    }
  }
}
