import type { CircuitState } from '../failover/circuit-breaker';
import type { ShadowDropReason } from './shadow.types';

/** What says the process is busy, read when a request is sampled. */
export interface LoadSignals {
  /** Copies running now. */
  inFlight: number;
  /** Recent event-loop delay (ms). */
  lagMs: number;
  /** Interactive requests waiting for their turn in the queue. */
  interactiveWaiting: number;
}

/**
 * Shadow traffic is the first to go under load: a copy is not started while the copies already running
 * reach `maxConcurrent`, the event loop lags past `maxLagMs`, or a client's interactive request is queuing.
 */
export function loadDropReason(
  load: LoadSignals,
  limits: { maxConcurrent: number; maxLagMs: number },
): ShadowDropReason | undefined {
  if (load.inFlight >= limits.maxConcurrent) {
    return 'concurrency';
  }
  if (load.lagMs > limits.maxLagMs) {
    return 'event_loop_lag';
  }
  if (load.interactiveWaiting > 0) {
    return 'queue_waiting';
  }
  return undefined;
}

/** A target that is failing, probing or cooling down gets no shadow traffic (nor does it need any). */
export function targetDropReason(target: {
  state: CircuitState;
  cooldownUntil: number | null;
}): ShadowDropReason | undefined {
  return target.state !== 'closed' || target.cooldownUntil !== null ? 'circuit_open' : undefined;
}

/** Skip reasons of failover attempts that mean the copy never reached its provider. */
const SKIPPED_AS: Record<string, ShadowDropReason> = {
  saturated: 'saturated',
  rate_limited: 'saturated',
  cooldown: 'circuit_open',
  circuit_open: 'circuit_open',
  half_open_busy: 'circuit_open',
};

/** The drop reason of a copy refused before any upstream call (every attempt skipped), else undefined. */
export function skippedDropReason(
  attempts: readonly { outcome: string; reason?: string }[] | undefined,
): ShadowDropReason | undefined {
  if (!attempts || attempts.length === 0 || attempts.some((a) => a.outcome !== 'skipped')) {
    return undefined;
  }
  return SKIPPED_AS[attempts[0].reason ?? ''] ?? 'saturated';
}
