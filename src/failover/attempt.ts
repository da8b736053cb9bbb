import type { StreamEvent } from '../protocol/types';
import { ProviderError } from '../providers/provider.types';
import { classifyTransportError } from '../providers/upstream-errors';
import { ABORTED, AttemptDeadline } from '../timeout/deadline';
import type { AttemptPlan } from '../timeout/timeout-policy.service';
import { FirstEventError, classifyFailure } from './failover-triggers';

/** `onData`: the upstream sent data before the first event (answers the first-byte deadline). */
export type UpstreamCall = (
  target: string,
  signal: AbortSignal,
  onData?: () => void,
) => Promise<AsyncIterable<StreamEvent>>;

/** An attempt that produced its first event: the commit point is reached. */
export interface OpenedAttempt {
  target: string;
  probe: boolean;
  deadline: AttemptDeadline;
  ttfbMs: number;
  /** performance.now() at which the attempt's total deadline fires. */
  expiresAt: number;
  head: StreamEvent[];
  iterator: AsyncIterator<StreamEvent>;
}

export type AttemptResult =
  | { ok: true; opened: OpenedAttempt }
  | { ok: false; target: string; probe: boolean; error: ProviderError; ms: number };

export interface RunningAttempt {
  target: string;
  probe: boolean;
  hedge: boolean;
  deadline: AttemptDeadline;
  /** performance.now() at start. */
  startedAt: number;
  /** Never rejects. */
  done: Promise<AttemptResult>;
}

/** Abort reason of the slower half of a hedged pair: not a timeout, not the client. */
export class HedgeLostError extends Error {
  constructor(target: string) {
    super(`${target}: another target answered first`);
    this.name = 'HedgeLostError';
  }
}

const NO_TRIGGERS: ReadonlySet<string> = new Set();

/** `error.type` of a failed attempt's span: the failover reason (http_503, connect, …) or hedge_lost. */
export function attemptErrorType(err: Error): string {
  if (!(err instanceof ProviderError)) {
    return err.name;
  }
  return err.cause instanceof HedgeLostError ? 'hedge_lost' : classifyFailure(err, NO_TRIGGERS).reason;
}

/** Gives the upstream socket back; an iterator that is already finished or failing is fine. */
export function closeQuietly(iterator: AsyncIterator<StreamEvent> | undefined): void {
  try {
    iterator?.return?.().catch(() => undefined);
  } catch {
    // a broken iterator has nothing left to release
  }
}

/** The deadline's own reason wins over what the adapter made of the aborted socket. */
function asProviderError(err: unknown, deadline: AttemptDeadline, target: string): ProviderError {
  if (deadline.expired) {
    return new ProviderError(deadline.expired.message, {
      status: 504,
      kind: 'timeout',
      retryable: true,
      cause: deadline.expired,
    });
  }
  if (deadline.aborted) {
    const reason: unknown = deadline.signal.reason;
    const message =
      reason instanceof HedgeLostError ? reason.message : `${target}: request aborted by the client`;
    return new ProviderError(message, { status: 499, kind: 'abort', retryable: false, cause: reason });
  }
  return err instanceof ProviderError ? err : classifyTransportError(err, deadline.signal, target);
}

/**
 * Starts one upstream call under its deadlines and waits for its first event. Resolves (never rejects)
 * with the opened attempt or the failure; on failure every resource of the attempt is already released.
 */
export function startAttempt(opts: {
  target: string;
  probe: boolean;
  hedge?: boolean;
  plan: AttemptPlan;
  clientSignal: AbortSignal;
  call: UpstreamCall;
}): RunningAttempt {
  const { target, probe, plan } = opts;
  const deadline = new AttemptDeadline({
    clientSignal: opts.clientSignal,
    totalMs: plan.totalMs,
    firstByteMs: plan.firstByteMs,
    idleMs: plan.idleMs,
    target,
  });
  const started = performance.now();
  const done = (async (): Promise<AttemptResult> => {
    let iterator: AsyncIterator<StreamEvent> | undefined;
    try {
      const call = Promise.resolve().then(() =>
        opts.call(target, deadline.signal, () => deadline.firstEvent()),
      );
      const iterable = await deadline.race(call);
      if (iterable === ABORTED) {
        // If the call still resolves, its stream must not be left holding a socket.
        call.then(
          (it) => closeQuietly(it[Symbol.asyncIterator]()),
          () => undefined,
        );
        throw deadline.signal.reason;
      }
      iterator = iterable[Symbol.asyncIterator]();
      const first = await deadline.race(iterator.next());
      if (first === ABORTED) {
        throw deadline.signal.reason;
      }
      if (first.done) {
        throw new ProviderError(`${target}: upstream ended without answering`, {
          status: 502,
          kind: 'protocol',
        });
      }
      if (first.value.type === 'error') {
        throw new FirstEventError(target, first.value.error);
      }
      deadline.firstEvent();
      const ttfbMs = Math.round(performance.now() - started);
      const expiresAt = started + plan.totalMs;
      return {
        ok: true,
        opened: { target, probe, deadline, ttfbMs, expiresAt, head: [first.value], iterator },
      };
    } catch (err) {
      closeQuietly(iterator);
      const error = asProviderError(err, deadline, target);
      deadline.abort(error); // an attempt that failed before its first event has nothing left to wait for
      deadline.dispose();
      return { ok: false, target, probe, error, ms: Math.round(performance.now() - started) };
    }
  })();
  return { target, probe, hedge: opts.hedge ?? false, deadline, startedAt: started, done };
}
