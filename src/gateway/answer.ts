import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomAlnum } from '../common/random-id';
import { anthropicMessageToOpenAICompletion } from '../protocol/anthropic-to-openai';
import { legacyFunctionCompletion } from '../protocol/legacy-function-answer';
import { MessageAccumulator, type AnswerNotes } from '../protocol/accumulate';
import { GatewayError, statusForErrorType } from '../protocol/errors';
import type { MessageResponse } from '../protocol/types';
import type { IngressFormat } from './egress-writer';
import { releaseEvents, writeSse, type SseOptions, type StreamOutcome } from './egress-writer';
import type { GatewayAnswer } from './gateway.service';
import type { RoutedRequest } from '../routing/routing.service';

export interface AnswerOptions {
  format: IngressFormat;
  stream: boolean;
  includeUsage: boolean;
  clientModel: string;
  /** OpenAI ingress: answer with the deprecated `function_call` shape (the request used `functions`). */
  legacyFunctions?: boolean;
  pingIntervalMs: number;
  /** SSE body sink (compression), see SseCompressor. */
  sink?: SseOptions['sink'];
  stalledClientMs?: number;
}

type RawWithInfo = { switchyard?: Record<string, unknown> };

/** Route headers as soon as the route is known, so that errors carry them too. */
export function routedHeaders(reply: FastifyReply, request: FastifyRequest, route: RoutedRequest): void {
  void reply.header('x-switchyard-route', route.scenario);
  void reply.header('x-switchyard-target', route.target);
  (request.raw as RawWithInfo).switchyard = { route: route.scenario, target: route.target };
}

/** Headers that say how the answer was produced, on every answer. */
export function answerHeaders(reply: FastifyReply, request: FastifyRequest, answer: GatewayAnswer): void {
  void reply.header('x-switchyard-route', answer.route.scenario);
  void reply.header('x-switchyard-target', answer.target);
  void reply.header('x-switchyard-cache', answer.cache);
  if (answer.dedup) {
    void reply.header('x-switchyard-dedup', answer.dedup);
  }
  // Upstream calls this request made (docs/api.md): none for a cache hit or a coalesced follower.
  void reply.header(
    'x-switchyard-attempts',
    String(answer.attempts.filter((a) => a.outcome !== 'skipped').length),
  );
  (request.raw as RawWithInfo).switchyard = {
    route: answer.route.scenario,
    target: answer.target,
    cache: answer.cache,
    dedup: answer.dedup,
    attempts: answer.attempts.length,
  };
}

/** Collects the whole answer for a non-stream client; a terminal error becomes an HTTP error. */
async function collect(answer: GatewayAnswer): Promise<{ message: MessageResponse; notes: AnswerNotes }> {
  const acc = new MessageAccumulator();
  for (const ev of answer.head) {
    acc.push(ev);
  }
  let ended = false;
  try {
    for (;;) {
      const next = await answer.events.next();
      if (next.done) {
        ended = true;
        break;
      }
      acc.push(next.value);
      if (next.value.type === 'error' || next.value.type === 'message_stop') {
        break;
      }
    }
  } finally {
    if (!ended) {
      releaseEvents(answer.events);
    }
  }
  if (acc.error) {
    throw new GatewayError(statusForErrorType(acc.error.type), acc.error.message, { type: acc.error.type });
  }
  if (!acc.complete) {
    throw new GatewayError(502, 'upstream answer ended before it was complete', { type: 'api_error' });
  }
  return { message: acc.message, notes: acc.notes };
}

/**
 * A cache hit or a coalesced follower replays an answer another request already got: it gets an id of its
 * own (two responses never share one); the answer of the request that made the upstream call keeps the
 * upstream's (PROTOCOL §6.4).
 */
function replayId(answer: GatewayAnswer): string | undefined {
  return answer.cache === 'HIT' || answer.dedup === 'follower' ? `msg_${randomAlnum(18)}` : undefined;
}

/** Sends the answer in the client's format and stream mode; a stream says how it ended. */
export async function sendAnswer(
  reply: FastifyReply,
  answer: GatewayAnswer,
  opts: AnswerOptions,
): Promise<StreamOutcome | undefined> {
  const messageId = replayId(answer);
  if (opts.stream) {
    return writeSse(reply, answer.events, {
      format: opts.format,
      includeUsage: opts.includeUsage,
      legacyFunctions: opts.legacyFunctions,
      model: opts.clientModel,
      messageId,
      pingIntervalMs: opts.pingIntervalMs,
      head: answer.head,
      sink: opts.sink,
      stalledClientMs: opts.stalledClientMs,
    });
  }
  const collected = await collect(answer);
  // The client's model and, for a replay, an id of its own (the accumulated log may be another request's).
  const message = { ...collected.message, model: opts.clientModel, id: messageId ?? collected.message.id };
  let body: unknown = message;
  if (opts.format === 'openai') {
    const completion = anthropicMessageToOpenAICompletion(message, {
      model: opts.clientModel,
      notes: collected.notes,
    });
    body = opts.legacyFunctions === true ? legacyFunctionCompletion(completion) : completion;
  }
  await reply.code(200).send(body);
  return undefined;
}
