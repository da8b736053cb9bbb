import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { ALL_FEATURES_ON } from '../features/feature-set';
import { GatewayError } from '../protocol/errors';
import { collectEvents } from '../providers/event-stream';
import { ProviderError } from '../providers/provider.types';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { ProviderLimitsService } from '../ratelimit/provider-limits.service';
import { ProviderSlotsService, type SlotLease } from '../ratelimit/provider-slots.service';
import { TimeoutPolicyService } from '../timeout/timeout-policy.service';
import { TracingService } from '../tracing/tracing.service';
import type { ErrorPayload, StreamEvent } from '../protocol/types';
import {
  HedgeLostError,
  attemptErrorType,
  closeQuietly,
  startAttempt,
  type AttemptResult,
  type RunningAttempt,
  type UpstreamCall,
} from './attempt';
import { CommittedStream } from './committed-stream';
import { FailoverCounters } from './failover-counters';
import { MidAnswerError, classifyFailure } from './failover-triggers';
import { HealthScoreService } from './health-score';
import { HedgeBudget } from './hedge-budget';
import { HedgeTimer } from './hedge-timer';
import { OutcomeRecorder } from './outcome-recorder';
import { TargetStateService } from './target-state.service';
import {
  rememberAttempts,
  type AttemptRecord,
  type FailoverInput,
  type FailoverResult,
} from './failover.types';

export { attemptsOf } from './failover.types';
export type { AttemptRecord, FailoverInput, FailoverResult } from './failover.types';

const a0 = (running: RunningAttempt[]): string | undefined => running[0]?.target;
const providerOf = (target: string): string => target.slice(0, target.indexOf(','));

/** Moves the session's preferred target to the front (admission still skips it if it is open or cooling). */
function preferFirst(queue: string[], preferred: string | undefined): void {
  const i = preferred ? queue.indexOf(preferred) : -1;
  if (i > 0) {
    queue.splice(i, 1);
    queue.unshift(preferred as string);
  }
}

/** The provider slot is held until the call's stream is finished, abandoned or failed. */
function holdingSlot(call: UpstreamCall, lease: SlotLease): UpstreamCall {
  return async (target, signal, onData) => {
    let iterable: AsyncIterable<StreamEvent>;
    try {
      iterable = await call(target, signal, onData);
    } catch (err) {
      lease.release();
      throw err;
    }
    return {
      [Symbol.asyncIterator]: () => {
        const it = iterable[Symbol.asyncIterator]();
        return {
          next: async () => {
            try {
              const r = await it.next();
              if (r.done) {
                lease.release();
              }
              return r;
            } catch (err) {
              lease.release();
              throw err;
            }
          },
          return: async (value?: unknown) => {
            lease.release();
            return (await it.return?.(value)) ?? { done: true, value: undefined };
          },
        };
      },
    };
  };
}
/** Hard bound on a chain however it is configured. */
const MAX_CHAIN = 16;

/**
 * Runs a request along its chain until one target produces a first event. Before that point every
 * enabled trigger moves on immediately (no sleeping: a retry-after becomes a shared cooldown); targets
 * cooling down or with an open circuit are skipped without a call; with hedging, a slow first event
 * starts the next target in parallel. After it, failures are terminal error events of `events`.
 */
@Injectable()
export class FailoverService {
  private readonly budget: HedgeBudget;
  private readonly recorder: OutcomeRecorder;

  constructor(
    private readonly config: AppConfigService,
    private readonly providers: ProviderRegistryService,
    private readonly scores: HealthScoreService,
    private readonly state: TargetStateService,
    private readonly timeouts: TimeoutPolicyService,
    private readonly counters: FailoverCounters,
    private readonly slots: ProviderSlotsService,
    private readonly providerLimits: ProviderLimitsService,
    private readonly logger: PinoLogger,
    private readonly tracing: TracingService,
  ) {
    this.logger.setContext('failover');
    this.budget = new HedgeBudget(this.config.get('Failover').hedge.windowMs);
    this.recorder = new OutcomeRecorder(scores, state, timeouts, counters, logger);
  }

  /**
   * Routed chain + `Failover.providers.fallback` when the head is `Failover.providers.primary`, deduplicated;
   * only its head when failover is off (`Failover.enabled`, or the request's `failover` feature).
   */
  buildChain(chain: string[], failover = true): string[] {
    const f = this.config.get('Failover');
    const canon = (t: string): string => this.providers.canonical(t) ?? t;
    const all = chain.map(canon);
    if (f.providers.primary && all[0] !== undefined && canon(f.providers.primary) === all[0]) {
      all.push(...(f.providers.fallback ?? []).map(canon));
    }
    const unique = [...new Set(all)].slice(0, MAX_CHAIN);
    return f.enabled && failover ? unique : unique.slice(0, 1);
  }

  async execute(input: FailoverInput): Promise<FailoverResult> {
    const attempts: AttemptRecord[] = [];
    try {
      return await this.run(input, attempts);
    } catch (err) {
      rememberAttempts(err, attempts);
      throw err;
    }
  }

  private async run(input: FailoverInput, attempts: AttemptRecord[]): Promise<FailoverResult> {
    const f = this.config.get('Failover');
    const features = input.features ?? ALL_FEATURES_ON;
    const failover = f.enabled && features.failover;
    const triggers = new Set<string>(f.triggers);
    const maxCalls = failover ? 1 + f.maxRetries : 1;
    const excluded = new Set((input.exclude ?? []).map((t) => this.providers.canonical(t) ?? t));
    const base = this.buildChain(input.chain, features.failover).filter((t) => !excluded.has(t));
    await this.state.refresh(base); // other instances' breakers and cooldowns count for the order too
    const queue = failover ? this.scores.orderChain(base) : base;
    preferFirst(queue, input.preferred && (this.providers.canonical(input.preferred) ?? input.preferred));
    this.budget.configure(f.hedge.windowMs);
    this.budget.noteRequest(Date.now());

    const tried = new Set<string>();
    const running: RunningAttempt[] = [];
    let calls = 0;
    let earliestRecovery = Infinity;
    let last: { target: string; reason: string; status: number; error: ProviderError } | undefined;
    let hedged = false;

    /** Starts the next admissible target; false when the chain or the call budget is exhausted. */
    const launch = async (hedge: boolean): Promise<boolean> => {
      while (queue.length > 0 && calls < maxCalls) {
        const target = queue.shift() as string;
        if (tried.has(target)) {
          continue;
        }
        tried.add(target);
        // A reload removed it while this request ran (its chain was routed before): no adapter to call.
        if (!this.providers.target(target)) {
          attempts.push({ target, outcome: 'skipped', reason: 'unconfigured', ms: 0 });
          this.counters.attempt('skipped', 'unconfigured');
          continue;
        }
        // A hang shows as attempts piling up without a first byte: trip before sending another one there.
        // Only with somewhere else to go: on the chain's last target a trip would just turn slow answers
        // into 503s (its first-byte deadline still bounds a real hang).
        if (queue.some((t) => !tried.has(t))) {
          this.recorder.transition(
            target,
            await this.state.tripIfSlow(target, () => this.timeouts.slowCallMs(target)),
            'slow_calls',
          );
        }
        const gate = await this.state.admit(target);
        if (!gate.admitted) {
          earliestRecovery = Math.min(earliestRecovery, gate.until);
          attempts.push({ target, outcome: 'skipped', reason: gate.reason, ms: 0 });
          this.counters.attempt('skipped', gate.reason);
          continue;
        }
        // A provider over its RPM/TPM (configured, or announced exhausted in its headers) is skipped at once.
        const admission = await this.providerLimits.admit(
          providerOf(target),
          input.inputTokens + input.maxTokens,
        );
        if (!admission.ok) {
          if (gate.probe) {
            this.state.releaseProbe(target);
          }
          earliestRecovery = Math.min(earliestRecovery, admission.until);
          attempts.push({ target, outcome: 'skipped', reason: 'rate_limited', ms: 0 });
          this.counters.attempt('skipped', 'rate_limited');
          continue;
        }
        // A provider at its cluster-wide concurrency waits here, by priority; too long ⇒ the next target.
        const waitStart = performance.now();
        const slot = await this.slots.acquire(
          providerOf(target),
          input.priority ?? 0,
          input.signal,
          input.maxSlotWaitMs ?? f.timeout,
        );
        if (!slot.ok) {
          if (gate.probe) {
            this.state.releaseProbe(target);
          }
          this.throwIfClientGone(input.signal);
          earliestRecovery = Math.min(earliestRecovery, slot.until);
          attempts.push({
            target,
            outcome: 'skipped',
            reason: 'saturated',
            ms: Math.round(performance.now() - waitStart),
          });
          this.counters.attempt('skipped', 'saturated');
          continue;
        }
        calls += 1;
        if (last && !hedge) {
          this.logger.warn(
            {
              from: last.target,
              to: target,
              reason: last.reason,
              status: last.status,
              scenario: input.scenario,
            },
            'failover',
          );
          this.counters.failover(last.target, target, last.reason);
        }
        const plan = this.timeouts.plan({
          target,
          model: input.model,
          inputTokens: input.inputTokens,
          maxTokens: input.maxTokens,
          stream: input.stream,
          adaptive: features.adaptiveTimeout,
        });
        const traced = { target, hedge, probe: gate.probe, errorType: attemptErrorType };
        const started = this.tracing.attempt(traced, () =>
          startAttempt({
            target,
            probe: gate.probe,
            hedge,
            plan,
            clientSignal: input.signal,
            call: holdingSlot(input.attempt, slot.lease),
          }),
        );
        // The breaker tripped on slow calls while this attempt waits: move on if there is somewhere to go.
        const token = this.state.attemptStarted(target);
        // A half-open probe is one attempt (no pile-up to trip on): past the slow-call threshold it has failed,
        // and its client moves on if the chain has somewhere else to go.
        const probeMs = gate.probe ? this.timeouts.slowCallMs(target) : undefined;
        const probeTimer =
          probeMs === undefined
            ? undefined
            : setTimeout(() => {
                if (failover && calls < maxCalls && queue.some((t) => !tried.has(t))) {
                  started.deadline.expireFirstByteNow(Math.round(performance.now() - started.startedAt));
                }
              }, probeMs);
        void started.done.then((r) => {
          clearTimeout(probeTimer);
          this.state.attemptSettled(target, token, r.ok);
        });
        running.push(started);
        return true;
      }
      return false;
    };

    const hedgeTimer = new HedgeTimer();
    try {
      this.throwIfClientGone(input.signal);
      if (!(await launch(false))) {
        throw this.allUnavailable(attempts, earliestRecovery);
      }
      const delay =
        f.hedge.enabled && features.hedge && input.stream !== false
          ? this.timeouts.hedgeDelayMs(running[0].target)
          : undefined;
      hedgeTimer.arm(delay);
      for (;;) {
        const settled = await Promise.race([
          ...running.map((a) => a.done.then((result) => ({ a, result }))),
          hedgeTimer.fired,
        ]);
        if (settled === 'hedge') {
          hedgeTimer.consume();
          if (this.budget.tryAcquire(Date.now(), f.hedge.budgetPercent)) {
            hedged = await launch(true);
            if (hedged) {
              this.logger.info(
                { primary: a0(running), hedge: running[running.length - 1].target },
                'hedge started',
              );
            }
          } else {
            this.counters.hedge('budget_exhausted');
          }
          continue;
        }
        const { a, result } = settled;
        running.splice(running.indexOf(a), 1);
        if (result.ok) {
          hedgeTimer.disarm();
          this.abortLosers(running, attempts);
          if (hedged) {
            this.counters.hedge(a.hedge ? 'won_hedge' : 'won_primary');
          }
          const answer = await this.commit(result, input, attempts);
          if (!input.wholeAnswer || !failover) {
            return answer;
          }
          // The client takes the answer in one piece: read it to the end before anything is handed on, so an
          // answer that breaks halfway is failed over like one that never started.
          const whole = await readWhole(answer);
          const broke = whole.error && new MidAnswerError(a.target, whole.error);
          if (!broke || !classifyFailure(broke, triggers).failover) {
            return { ...answer, head: whole.events, events: finished() };
          }
          const committed = attempts[attempts.length - 1];
          attempts[attempts.length - 1] = {
            ...committed,
            outcome: 'failed',
            reason: 'mid_answer',
            status: broke.status,
          };
          this.counters.attempt('failed', 'mid_answer');
          last = { target: a.target, reason: 'mid_answer', status: broke.status, error: broke };
          this.logger.warn(
            { target: a.target, error: whole.error?.message },
            'answer broke before the client saw it: failing over',
          );
          this.throwIfClientGone(input.signal);
          if (!(await launch(false))) {
            break;
          }
          continue;
        }
        hedgeTimer.disarm(); // the hedge delay belonged to the attempt that just failed
        const cls = classifyFailure(result.error, triggers);
        attempts.push({
          target: a.target,
          outcome: 'failed',
          reason: cls.reason,
          status: result.error.status,
          ms: result.ms,
        });
        this.counters.attempt('failed', cls.reason);
        await this.recorder.failed(result, cls, f.maxCooldownMs);
        last = { target: a.target, reason: cls.reason, status: result.error.status, error: result.error };
        if (!cls.failover) {
          this.abortLosers(running, attempts);
          throw result.error;
        }
        if (cls.trigger === 'context_window') {
          const lc =
            input.longContextTarget &&
            (this.providers.canonical(input.longContextTarget) ?? input.longContextTarget);
          if (!lc || tried.has(lc)) {
            this.abortLosers(running, attempts);
            throw result.error;
          }
          queue.unshift(lc);
        }
        if (running.length > 0) {
          continue; // the hedge already in flight is this failover's next attempt
        }
        this.throwIfClientGone(input.signal);
        if (!(await launch(false))) {
          break;
        }
      }
      if (hedged) {
        this.counters.hedge('both_failed');
      }
      if (!last) {
        throw this.allUnavailable(attempts, earliestRecovery);
      }
      this.logger.warn(
        { target: last.target, reason: last.reason, attempts: attempts.length, scenario: input.scenario },
        'every attempt failed',
      );
      throw last.error;
    } finally {
      hedgeTimer.disarm();
    }
  }

  private async commit(
    result: Extract<AttemptResult, { ok: true }>,
    input: FailoverInput,
    attempts: AttemptRecord[],
  ): Promise<FailoverResult> {
    const opened = result.opened;
    attempts.push({ target: opened.target, outcome: 'ok', ms: opened.ttfbMs });
    this.counters.attempt('ok');
    await this.recorder.committed(opened, input.stream !== false);
    const events = new CommittedStream(opened, (end) =>
      this.recorder.ended(opened, end, input.stream !== false),
    );
    return { target: opened.target, head: opened.head, events, attempts, expiresAt: opened.expiresAt };
  }

  /** The slower half of a hedge: aborted (the fake sees its socket close), released, recorded as lost. */
  private abortLosers(running: RunningAttempt[], attempts: AttemptRecord[]): void {
    for (const loser of running.splice(0)) {
      loser.deadline.abort(new HedgeLostError(loser.target));
      const ms = Math.round(performance.now() - loser.startedAt);
      attempts.push({ target: loser.target, outcome: 'failed', reason: 'hedge_lost', ms });
      this.counters.attempt('failed', 'hedge_lost');
      this.counters.attemptEnded({ target: loser.target, outcome: 'hedge_lost', durationMs: ms });
      if (loser.probe) {
        this.state.releaseProbe(loser.target);
      }
      void loser.done.then((r) => {
        if (r.ok) {
          closeQuietly(r.opened.iterator);
          r.opened.deadline.dispose();
        }
      });
    }
  }

  private allUnavailable(attempts: AttemptRecord[], earliest: number): GatewayError {
    this.counters.allUnavailable();
    const seconds = Number.isFinite(earliest) ? Math.max(1, Math.ceil((earliest - Date.now()) / 1000)) : 1;
    const skipped = attempts.map((a) => `${a.target} (${a.reason})`).join(', ');
    this.logger.warn({ skipped, retryAfterSeconds: seconds }, 'no target available');
    return new GatewayError(
      503,
      `All upstream targets are unavailable right now: ${skipped || 'none configured'}`,
      {
        type: 'overloaded_error',
        headers: { 'retry-after': String(seconds) },
      },
    );
  }

  private throwIfClientGone(signal: AbortSignal): void {
    if (signal.aborted) {
      throw new ProviderError('request aborted by the client', {
        status: 499,
        kind: 'abort',
        retryable: false,
      });
    }
  }
}

/** Every event of an answer and its terminal error, if it ended with one (an error event is always the last). */
async function readWhole(answer: FailoverResult): Promise<{ events: StreamEvent[]; error?: ErrorPayload }> {
  const events = [...answer.head, ...(await collectEvents({ [Symbol.asyncIterator]: () => answer.events }))];
  const last = events[events.length - 1];
  return { events, error: last?.type === 'error' ? last.error : undefined };
}

/** The rest of an answer that is all in its head already. */
function finished(): AsyncIterator<StreamEvent> {
  const done = async (): Promise<IteratorResult<StreamEvent>> => ({ done: true, value: undefined });
  return { next: done, return: done };
}
