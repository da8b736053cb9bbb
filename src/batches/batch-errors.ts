import { attemptsOf } from '../failover/failover.types';
import { GatewayError, errorTypeForStatus } from '../protocol/errors';
import type { ErrorPayload } from '../protocol/types';
import { ProviderError } from '../providers/provider.types';

export interface JobFailure {
  /** Worth another attempt (upstream overloaded, rate limited, unreachable, timed out). */
  retryable: boolean;
  error: ErrorPayload;
  /** Neither a gateway nor an upstream error: a bug worth a log line with its stack. */
  unexpected: boolean;
}

/** The statuses the Anthropic SDK itself retries; everything else is the request's own fault and final. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** How a failed batch request is recorded: as an Anthropic error, retried first when it may pass later. */
export function classifyFailure(err: unknown): JobFailure {
  if (err instanceof GatewayError) {
    return { retryable: retryableStatus(err.status), error: err.toPayload(), unexpected: false };
  }
  if (err instanceof ProviderError) {
    return {
      retryable: err.retryable || err.kind === 'connect' || err.kind === 'timeout',
      error: { type: errorTypeForStatus(err.status), message: err.message },
      unexpected: false,
    };
  }
  return {
    retryable: true,
    // Our own fault: the details go to the log, not into the client's results.
    error: { type: 'api_error', message: 'Internal server error' },
    unexpected: true,
  };
}

/** Skipped targets that only mean "not now": over a rate limit, cooling down after a retry-after, no free slot. */
const CAPACITY_SKIPS = new Set(['rate_limited', 'cooldown', 'saturated']);
/** Longest wait between two tries when the failure gave no retry-after. */
const MAX_UNHINTED_WAIT_MS = 60_000;

/**
 * How long a request that failed only for lack of capacity waits before it runs again, or undefined for any
 * other failure. Lack of capacity: an upstream 429, or every target of the chain skipped as rate limited,
 * cooling down after a retry-after, or saturated. It passes by itself, so it is waited out (the retry-after,
 * else 1 s doubling per wait up to a minute) rather than spending the job's attempts: a batch bigger than a
 * provider's rate limit then runs at that limit instead of ending errored.
 */
export function capacityWaitMs(err: unknown, waits: number): number | undefined {
  let hintMs: number | undefined;
  if (err instanceof ProviderError) {
    if (err.status !== 429) {
      return undefined;
    }
    hintMs = err.retryAfterMs;
  } else if (err instanceof GatewayError) {
    const attempts = attemptsOf(err) ?? [];
    const onlySkipped =
      attempts.length > 0 &&
      attempts.every((a) => a.outcome === 'skipped' && CAPACITY_SKIPS.has(a.reason ?? ''));
    if (err.status !== 429 && !(err.status === 503 && onlySkipped)) {
      return undefined;
    }
    const seconds = Number(err.headers['retry-after']);
    hintMs = Number.isFinite(seconds) ? seconds * 1000 : undefined;
  } else {
    return undefined;
  }
  return hintMs !== undefined && hintMs > 0 ? hintMs : Math.min(MAX_UNHINTED_WAIT_MS, 1000 * 2 ** waits);
}
