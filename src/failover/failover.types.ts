import type { FeatureSet } from '../features/feature-set';
import type { StreamEvent } from '../protocol/types';
import type { UpstreamCall } from './attempt';

/* The public contract of FailoverService.execute (what the gateway calls). */

/** One step of a request's chain (also the `x-switchyard-attempts` header's source). */
export interface AttemptRecord {
  target: string;
  outcome: 'ok' | 'failed' | 'skipped';
  reason?: string;
  status?: number;
  ms: number;
}

export interface FailoverResult {
  target: string;
  /** The first event(s), already pulled. */
  head: StreamEvent[];
  /** The rest, with idle/total deadlines enforced. */
  events: AsyncIterator<StreamEvent>;
  attempts: AttemptRecord[];
  /** performance.now() at which the serving attempt's total deadline fires (a stream resume stays within it). */
  expiresAt?: number;
}

export interface FailoverInput {
  /** Routed target first, then its fallbacks. */
  chain: string[];
  scenario: string;
  /** Where a context-window 400 moves to. */
  longContextTarget?: string;
  inputTokens: number;
  maxTokens: number;
  model: string;
  /** false for non-stream answers (their first event comes at the end): no separate first-byte deadline. */
  stream?: boolean;
  /** The client's signal. */
  signal: AbortSignal;
  /** One upstream call (adapter.send with the given signal). */
  attempt: UpstreamCall;
  /** The request class' priority (JobQueue.queues.<class>.priority; higher is served first). */
  priority?: number;
  /** Longest wait for a provider slot (JobQueue.providerConcurrency) before the target is skipped. */
  maxSlotWaitMs?: number;
  /** Session affinity: the target that served this session well, tried first while it is admissible. */
  preferred?: string;
  /**
   * The request's feature flags (docs/features.md; default all on): `failover` off ⇒ its routed target only,
   * no retries; `hedge` off ⇒ no hedged attempt; `adaptiveTimeout` off ⇒ the configured deadlines.
   */
  features?: FeatureSet;
  /**
   * The client gets the answer in one piece (a non-stream client): nothing reaches it before the upstream
   * finished, so an answer that breaks halfway is failed over like one that never started.
   */
  wholeAnswer?: boolean;
  /** Targets left out of the chain (a stream resume continues without the targets that broke). */
  exclude?: readonly string[];
}

const attemptLog = new WeakMap<object, AttemptRecord[]>();

/** The attempts behind an error thrown by `execute` (for an `x-switchyard-attempts` header). */
export function attemptsOf(err: unknown): AttemptRecord[] | undefined {
  return typeof err === 'object' && err !== null ? attemptLog.get(err) : undefined;
}

/** Keeps the attempt log of a failed execute() with its error (weakly: it goes when the error goes). */
export function rememberAttempts(err: unknown, attempts: AttemptRecord[]): void {
  if (typeof err === 'object' && err !== null) {
    attemptLog.set(err, attempts);
  }
}
