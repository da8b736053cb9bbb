import type { FastifyReply, FastifyRequest } from 'fastify';
import { anthropicMessageToOpenAICompletion } from '../protocol/anthropic-to-openai';
import { MessageAccumulator } from '../protocol/accumulate';
import { GatewayError, statusForErrorType } from '../protocol/errors';
import type { MessageResponse } from '../protocol/types';
import type { IngressFormat } from './egress-writer';
import { writeSse } from './egress-writer';
import type { GatewayAnswer } from './gateway.service';

export interface AnswerOptions {
  format: IngressFormat;
  stream: boolean;
  includeUsage: boolean;
  clientModel: string;
  pingIntervalMs: number;
}

/** Headers that say how the answer was produced, on every answer. */
export function routeHeaders(reply: FastifyReply, request: FastifyRequest, answer: Pick<GatewayAnswer, 'route' | 'target'>): void {
  void reply.header('x-switchyard-route', answer.route.scenario);
  void reply.header('x-switchyard-target', answer.target);
  (request.raw as { switchyard?: Record<string, unknown> }).switchyard = {
    route: answer.route.scenario,
    target: answer.target,
  };
}

/** Collects the whole answer for a non-stream client; a terminal error becomes an HTTP error. */
async function collect(answer: GatewayAnswer): Promise<MessageResponse> {
  const acc = new MessageAccumulator();
  for (const ev of answer.head) {
    acc.push(ev);
  }
  for (;;) {
    const next = await answer.events.next();
    if (next.done) {
      break;
    }
    acc.push(next.value);
    if (next.value.type === 'error' || next.value.type === 'message_stop') {
      break;
    }
  }
  if (acc.error) {
    throw new GatewayError(statusForErrorType(acc.error.type), acc.error.message, { type: acc.error.type });
  }
  if (!acc.complete) {
    throw new GatewayError(502, 'upstream answer ended before it was complete', { type: 'api_error' });
  }
  return acc.message;
}

/** Sends the answer in the client's format and stream mode. */
export async function sendAnswer(reply: FastifyReply, answer: GatewayAnswer, opts: AnswerOptions): Promise<void> {
  if (opts.stream) {
    await writeSse(reply, answer.events, {
      format: opts.format,
      includeUsage: opts.includeUsage,
      model: opts.clientModel,
      pingIntervalMs: opts.pingIntervalMs,
      head: answer.head,
    });
    return;
  }
  const message = await collect(answer);
  const body = opts.format === 'anthropic' ? message : anthropicMessageToOpenAICompletion(message, { model: opts.clientModel });
  await reply.code(200).send(body);
}
