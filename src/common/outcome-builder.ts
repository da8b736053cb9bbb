import { boundedModel, MAX_CLIENT_MODEL_CHARS } from './client-model';
import { SLOW_SUBSCRIBER_EVENT } from '../dedup/event-log';
import { attemptsOf, type AttemptRecord } from '../failover/failover.types';
import { GatewayError, errorTypeForStatus } from '../protocol/errors';
import type { ErrorPayload, Usage } from '../protocol/types';
import { ProviderError } from '../providers/provider.types';
import { isOwnFailure } from '../providers/upstream-errors';
import type { RequestObservation } from './request-observation';
import type { RequestOutcome } from './request-outcome';

/** The routes whose requests produce an outcome (POST only; `?beta=true` and the like allowed). */
export function outcomeRoute(method: string, url: string): 'messages' | 'chat_completions' | undefined {
  if (method !== 'POST') {
    return undefined;
  }
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path === '/v1/messages'
    ? 'messages'
    : path === '/v1/chat/completions'
      ? 'chat_completions'
      : undefined;
}

/** Upstream calls made: skipped targets cost nothing, a hedge's loser was a real call. */
export const callsMade = (attempts: AttemptRecord[]): number =>
  attempts.filter((a) => a.outcome !== 'skipped').length;

/** Moves along the chain before the answer: failed or skipped targets (a lost hedge is not a move). */
export const failoversOf = (attempts: AttemptRecord[]): number =>
  attempts.filter((a) => a.outcome === 'skipped' || (a.outcome === 'failed' && a.reason !== 'hedge_lost'))
    .length;

/** Upstream statuses that say the request itself was wrong (the client's fault, not the provider's). */
const CLIENT_FAULT = new Set([400, 404, 413, 422]);

/** Who is to blame for a failed request (the SLA counts only 'upstream' and 'gateway' against availability). */
export function errorSourceOf(
  err: unknown,
  status: number,
  answered: boolean,
): 'client' | 'upstream' | 'gateway' {
  if (err instanceof ProviderError) {
    if (err.kind === 'abort') {
      return 'client';
    }
    if (isOwnFailure(err)) {
      return 'gateway'; // our conversion or a transformer failed: the provider was never at fault
    }
    return CLIENT_FAULT.has(err.status) ? 'client' : 'upstream';
  }
  if (answered) {
    return 'upstream'; // the answer was open: what broke it came from the provider's side
  }
  if (status < 500) {
    return 'client';
  }
  if (
    (attemptsOf(err)?.length ?? 0) > 0 ||
    (err instanceof GatewayError && err.message.startsWith('upstream'))
  ) {
    return 'upstream';
  }
  return 'gateway';
}

/** Mid-stream error events: a dedup subscriber detached for reading too slowly is the client's doing. */
export function streamErrorSource(error: ErrorPayload): 'client' | 'upstream' {
  return error.message === SLOW_SUBSCRIBER_EVENT.error.message ? 'client' : 'upstream';
}

const usageOf = (u: Usage | undefined): Partial<Usage> | undefined =>
  u && {
    input_tokens: u.input_tokens,
    output_tokens: u.output_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens,
    cache_creation_input_tokens: u.cache_creation_input_tokens,
  };

interface Common {
  requestId: string;
  route: 'messages' | 'chat_completions';
  obs: RequestObservation;
  stream: boolean;
  clientModel?: string;
}

function timings(obs: RequestObservation, now: number) {
  const durationMs = Math.max(0, now - obs.receivedAt);
  const upstreamMs =
    obs.upstreamStartedAt === undefined
      ? undefined
      : Math.max(0, (obs.lastEventAt ?? now) - obs.upstreamStartedAt - (obs.queueWaitMs ?? 0));
  return { durationMs, upstreamMs };
}

/** Every outcome becomes a history row: it keeps at most MAX_CLIENT_MODEL_CHARS of the client's model. */
export { MAX_CLIENT_MODEL_CHARS };

function base(c: Common, now: number): Omit<RequestOutcome, 'status' | 'attempts' | 'failovers'> {
  const { durationMs, upstreamMs } = timings(c.obs, now);
  return {
    startedAt: c.obs.receivedWallMs,
    requestId: c.requestId,
    route: c.route,
    clientModel: boundedModel(c.clientModel),
    stream: c.stream,
    queueClass: c.obs.queueClass,
    queueWaitMs: c.obs.queueWaitMs,
    durationMs,
    upstreamMs,
    usage: usageOf(c.obs.usage),
    features: c.obs.features,
  };
}

/** An answer that was sent (streamed or not), including streams that ended with an error or a client abort. */
export function answeredOutcome(
  c: Common & {
    scenario: string;
    target: string;
    cache: RequestOutcome['cache'];
    dedup: RequestOutcome['dedup'];
    attempts: AttemptRecord[];
    /** How a stream ended; undefined for a JSON answer. */
    streamed?: { clientClosed: boolean; error?: { error: ErrorPayload } };
  },
  now = performance.now(),
): RequestOutcome {
  const out: RequestOutcome = {
    ...base(c, now),
    scenario: c.scenario,
    target: c.target,
    status: 200,
    cache: c.cache,
    dedup: c.dedup,
    attempts: callsMade(c.attempts),
    failovers: failoversOf(c.attempts),
  };
  out.ttfbMs =
    c.stream && c.obs.answeredAt !== undefined ? c.obs.answeredAt - c.obs.receivedAt : out.durationMs;
  if (c.streamed?.clientClosed && !c.streamed.error) {
    out.errorType = 'client_abort';
    out.errorSource = 'client';
  } else if (c.streamed?.error) {
    out.errorType = c.streamed.error.error.type;
    out.errorSource = streamErrorSource(c.streamed.error.error);
  }
  return out;
}

/** A request that ended in the error filter (before an answer, or a JSON answer that failed while collected). */
export function failedOutcome(
  c: Common & {
    err: unknown;
    status: number;
    clientGone: boolean;
    scenario?: string;
    target?: string;
    /** Bytes of a stream were already out (its status stays 200). */
    headersSent: boolean;
  },
  now = performance.now(),
): RequestOutcome {
  const answered = c.obs.answeredAt !== undefined;
  const attempts = attemptsOf(c.err) ?? [];
  const out: RequestOutcome = {
    ...base(c, now),
    scenario: c.scenario,
    target: c.target,
    status: c.headersSent ? 200 : c.clientGone ? 499 : c.status,
    attempts: callsMade(attempts),
    failovers: failoversOf(attempts),
  };
  out.ttfbMs =
    c.headersSent && c.obs.answeredAt !== undefined ? c.obs.answeredAt - c.obs.receivedAt : out.durationMs;
  if (c.clientGone || c.status === 499) {
    out.errorType = 'client_abort';
    out.errorSource = 'client';
  } else {
    out.errorType = c.err instanceof GatewayError ? c.err.type : errorTypeForStatus(c.status);
    out.errorSource = errorSourceOf(c.err, c.status, answered);
  }
  return out;
}
