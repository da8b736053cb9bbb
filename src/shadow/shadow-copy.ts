import { attemptsOf } from '../failover/failover.types';
import { releaseEvents } from '../gateway/egress-writer';
import type { GatewayAnswer } from '../gateway/gateway.service';
import type { StreamEvent } from '../protocol/types';
import { AnswerDigest } from './answer-digest';
import { skippedDropReason } from './shadow-gate';
import type { ShadowDropReason, ShadowResult, ShadowSide } from './shadow.types';

/** Thrown from the copy's own route callback when its target must not get shadow traffic right now. */
export class ShadowDropError extends Error {
  constructor(readonly reason: ShadowDropReason) {
    super(`shadow copy dropped: ${reason}`);
  }
}

/** Why the copy's signal fired. */
export class ShadowAbort extends Error {
  constructor(readonly why: 'timeout' | 'shutdown') {
    super(`shadow copy ${why === 'timeout' ? 'timed out' : 'aborted on shutdown'}`);
  }
}

export type CopyEnd =
  { kind: 'dropped'; reason: ShadowDropReason } | { kind: 'ended'; result: ShadowResult; side: ShadowSide };

/** Settles with `p`, or rejects with the signal's reason as soon as it fires (`p` is left to its owner). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const describe = (err: unknown): string => {
  const e = err as { type?: string; message?: string };
  const text = e?.type ? `${e.type}: ${e.message ?? ''}` : String(e?.message ?? err);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

/**
 * Runs one shadow copy to its end under `signal` (its timeout and the shutdown): opens it, reads every
 * event into a digest, and says how it went. Never throws. An answer that opens after the signal fired is
 * released at once, so the upstream call behind it is not left running.
 */
export async function runCopy(
  open: (signal: AbortSignal) => Promise<GatewayAnswer>,
  startedAt: number,
  signal: AbortSignal,
): Promise<CopyEnd> {
  const digest = new AnswerDigest(startedAt);
  let target: string | undefined;
  let cache = false;
  let opened = false;
  const opening = open(signal);
  try {
    const answer = await abortable(opening, signal);
    opened = true;
    target = answer.target;
    cache = answer.cache === 'HIT';
    for (const ev of answer.head) {
      digest.push(ev);
    }
    let pending: Promise<IteratorResult<StreamEvent>> | undefined;
    try {
      for (;;) {
        pending = answer.events.next();
        const next = await abortable(pending, signal);
        pending = undefined;
        if (next.done) {
          break;
        }
        digest.push(next.value);
      }
    } finally {
      if (pending) {
        releaseEvents(answer.events, pending);
      }
    }
    digest.end();
    const s = digest.summary();
    const ok = s.complete && !s.error;
    const side: ShadowSide = {
      target,
      outcome: ok ? 'ok' : 'error',
      status: 200,
      ttfbMs: s.ttfbMs,
      durationMs: s.durationMs,
      inputTokens: s.inputTokens,
      outputTokens: s.outputTokens,
      stopReason: s.stopReason,
      textHash: s.textHash,
      cache,
    };
    if (!ok) {
      side.error = s.error ?? 'api_error: the answer ended before it was complete';
    }
    return { kind: 'ended', result: ok ? 'completed' : 'failed', side };
  } catch (err) {
    if (!opened) {
      // Opened after the signal fired (or never): its upstream call must not be left running.
      opening.then((a) => releaseEvents(a.events)).catch(() => undefined);
    }
    return failed(err, signal, digest, target, cache);
  }
}

function failed(
  err: unknown,
  signal: AbortSignal,
  digest: AnswerDigest,
  target: string | undefined,
  cache: boolean,
): CopyEnd {
  const reason = signal.reason as unknown;
  if (signal.aborted && reason instanceof ShadowAbort && reason.why === 'shutdown') {
    return { kind: 'dropped', reason: 'shutdown' };
  }
  if (err instanceof ShadowDropError) {
    return { kind: 'dropped', reason: err.reason };
  }
  const skipped = skippedDropReason(attemptsOf(err));
  if (skipped) {
    return { kind: 'dropped', reason: skipped };
  }
  digest.end();
  const s = digest.summary();
  const timedOut = signal.aborted && reason instanceof ShadowAbort;
  const side: ShadowSide = {
    target,
    outcome: timedOut ? 'timeout' : 'error',
    status: timedOut ? 504 : ((err as { status?: number }).status ?? 502),
    ttfbMs: s.ttfbMs,
    durationMs: s.durationMs,
    inputTokens: s.inputTokens,
    outputTokens: s.outputTokens,
    stopReason: s.stopReason,
    textHash: s.textHash,
    cache,
    error: timedOut ? (reason as Error).message : describe(err),
  };
  return { kind: 'ended', result: timedOut ? 'timed_out' : 'failed', side };
}
