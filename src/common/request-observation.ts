import type { FeatureSet } from '../features/feature-set';
import type { Usage } from '../protocol/types';

/**
 * What the request path notes about one client request while it runs, for its RequestOutcome: times are
 * `performance.now()` marks. Kept beside the raw request (weakly), so the error filter sees what the
 * responder and the gateway noted before the failure.
 */
export interface RequestObservation {
  /** Arrival (the onRequest hook), else the first time the request path looked. */
  receivedAt: number;
  /** Date.now() at arrival. */
  receivedWallMs: number;
  queueClass?: 'interactive' | 'batch' | 'background';
  /** Time in the priority queue before a worker (or the in-process scheduler) took the upstream work. */
  queueWaitMs?: number;
  /** This request's own upstream work (queue, then the failover chain) began. */
  upstreamStartedAt?: number;
  /** The answer's final event (message_stop or error) reached the gateway. */
  lastEventAt?: number;
  /** The answer is open (its first event in hand): a failure after it is the upstream's or the client's. */
  answeredAt?: number;
  /** Aborted when the client's connection closed before the answer was complete. */
  clientSignal?: AbortSignal;
  /** Final usage of a complete answer. */
  usage?: Usage;
  /** The outcome went out (exactly once). */
  emitted?: boolean;
  /** The request's feature flags, once decided (FeaturesService.featuresOf). */
  features?: FeatureSet;
}

const observations = new WeakMap<object, RequestObservation>();

/** The request's observation, started now if nothing noted its arrival. */
export function observationOf(raw: object): RequestObservation {
  let o = observations.get(raw);
  if (!o) {
    o = { receivedAt: performance.now(), receivedWallMs: Date.now() };
    observations.set(raw, o);
  }
  return o;
}

/** The observation if the request path started one (the error filter must not start one for any URL). */
export function existingObservation(raw: object): RequestObservation | undefined {
  return observations.get(raw);
}
