import { FAILOVER_TRIGGERS } from '../config/config.schema';
import { statusForErrorType } from '../protocol/errors';
import type { ErrorPayload } from '../protocol/types';
import { ProviderError } from '../providers/provider.types';
import { UpstreamTimeoutError } from '../timeout/deadline';

export type FailoverTrigger = (typeof FAILOVER_TRIGGERS)[number];

/** The upstream said its context window is too small for this prompt (wording of Anthropic, OpenAI, vLLM…). */
export const CONTEXT_WINDOW_MESSAGE =
  /prompt is too long|context_length_exceeded|maximum context length|context window/i;

const STATUS_TRIGGERS: Record<number, FailoverTrigger> = {
  408: 'http_408',
  429: 'http_429',
  500: 'http_500',
  502: 'http_502',
  503: 'http_503',
  504: 'http_504',
  529: 'http_529',
};

/**
 * `target: message`, once: the deadline errors (src/timeout/deadline.ts) already name their target, and a
 * timed-out answer's error event carries that message.
 */
function prefixedOnce(target: string, message: string): string {
  return message.startsWith(`${target}: `) ? message : `${target}: ${message}`;
}

/** An upstream that answered 2xx but whose first event was an error (Anthropic's in-band overloaded_error). */
export class FirstEventError extends ProviderError {
  constructor(target: string, error: ErrorPayload) {
    super(prefixedOnce(target, error.message), {
      status: statusForErrorType(error.type),
      kind: 'protocol',
      upstreamType: error.type,
    });
    this.name = 'FirstEventError';
  }
}

/**
 * An answer that broke after its first byte (error event, cut connection, idle or total deadline) while the
 * client was still waiting for it in one piece: nothing was sent yet, so the next target may answer instead.
 */
export class MidAnswerError extends ProviderError {
  constructor(target: string, error: ErrorPayload) {
    super(prefixedOnce(target, error.message), {
      status: statusForErrorType(error.type),
      kind: 'protocol',
      upstreamType: error.type,
    });
    this.name = 'MidAnswerError';
  }
}

export interface FailureClass {
  /** The named class of this failure, if it has one (enabled or not). */
  trigger?: FailoverTrigger;
  /** Move on to the next target (the class is enabled in `Failover.triggers`). */
  failover: boolean;
  /** Counts against the target's circuit breaker. */
  breakerFailure: boolean;
  /** Counts as a failure in the health score. */
  scoreFailure: boolean;
  /** 401/403: the provider's key is rejected. */
  keyBad: boolean;
  /** The client went away: nothing to learn about the target, nothing to retry. */
  clientAbort: boolean;
  /** What logs and attempt records say. */
  reason: string;
}

function triggerOf(err: ProviderError): FailoverTrigger | undefined {
  const text = `${err.message} ${err.upstreamType ?? ''}`;
  if ((err.status === 400 || err.status === 413) && CONTEXT_WINDOW_MESSAGE.test(text)) {
    return 'context_window';
  }
  if (err instanceof MidAnswerError) {
    return 'mid_answer';
  }
  if (err instanceof FirstEventError) {
    return err.status >= 500 || err.status === 429 || err.status === 408 ? 'first_event_error' : undefined;
  }
  switch (err.kind) {
    case 'connect':
      return 'connect';
    case 'timeout':
      return err.cause instanceof UpstreamTimeoutError ? 'first_byte_timeout' : 'upstream_timeout';
    case 'http':
      return STATUS_TRIGGERS[err.status];
    case 'protocol':
      // retryable:false marks our own failures (a throwing transformer, an unconvertible request).
      return err.retryable ? 'protocol' : undefined;
    case 'abort':
      return undefined;
  }
}

/** Decides what one failed attempt means for failover, the breaker, the score and the key flag. */
export function classifyFailure(err: ProviderError, enabled: ReadonlySet<string>): FailureClass {
  if (err.kind === 'abort') {
    return {
      failover: false,
      breakerFailure: false,
      scoreFailure: false,
      keyBad: false,
      clientAbort: true,
      reason: 'client_abort',
    };
  }
  const trigger = triggerOf(err);
  const keyBad = err.status === 401 || err.status === 403;
  // The upstream said exactly when to come back: a cooldown, not evidence of a broken target.
  const politeRateLimit = err.status === 429 && err.retryAfterMs !== undefined;
  const malfunction = trigger !== undefined && trigger !== 'context_window' && !politeRateLimit;
  return {
    trigger,
    failover: trigger !== undefined && enabled.has(trigger),
    breakerFailure: malfunction,
    scoreFailure: malfunction || keyBad || err.status === 429,
    keyBad,
    clientAbort: false,
    reason: trigger ?? `http_${err.status}`,
  };
}
