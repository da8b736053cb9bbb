import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { presentedKey } from '../auth/api-key.guard';
import { cachePolicyOf } from '../cache/cache.interceptor';
import { answeredOutcome, outcomeRoute } from '../common/outcome-builder';
import { onAnswerUsage, usageEmitterFor } from '../common/request-hooks';
import { observationOf } from '../common/request-observation';
import { RequestOutcomeService } from '../common/request-outcome';
import { RequestArrivalHook } from '../common/request-arrival.hook';
import { queueClassOf } from '../queue/queue.interceptor';
import { SseCompressor } from '../compression/sse-compressor.service';
import { AppConfigService } from '../config/config.service';
import { FeaturesService } from '../features/features.service';
import { announceFeatures } from '../features/request-features';
import type { CanonicalRequest } from '../protocol/types';
import { ProviderError } from '../providers/provider.types';
import { SPAN } from '../tracing/span-names';
import { TracingService } from '../tracing/tracing.service';
import { answerHeaders, routedHeaders, sendAnswer } from './answer';
import { abortOnClientClose } from './client-abort';
import type { IngressFormat } from './egress-writer';
import { GatewayService } from './gateway.service';
import { RequestMirror } from './request-mirror';

export interface IngressShape {
  format: IngressFormat;
  stream: boolean;
  /** OpenAI clients opt in with stream_options.include_usage; Anthropic clients always get usage. */
  includeUsage: boolean;
  clientModel: string;
  /** OpenAI ingress: the request used the deprecated `functions`, so the answer uses `function_call`. */
  legacyFunctions?: boolean;
}

/** What both ingress controllers do once the body is canonical: open the answer, then send it their way. */
@Injectable()
export class ResponderService {
  constructor(
    private readonly gateway: GatewayService,
    private readonly config: AppConfigService,
    private readonly sse: SseCompressor,
    private readonly tracing: TracingService,
    private readonly outcomes: RequestOutcomeService,
    private readonly features: FeaturesService,
    private readonly mirror: RequestMirror,
    private readonly arrivals: RequestArrivalHook,
  ) {}

  async respond(
    request: FastifyRequest,
    reply: FastifyReply,
    canonical: CanonicalRequest,
    shape: IngressShape,
  ): Promise<void> {
    const abort = abortOnClientClose(reply);
    try {
      await this.answer(request, reply, canonical, shape, abort);
    } catch (err) {
      throw clientClosed(err, abort.signal);
    }
  }

  private async answer(
    request: FastifyRequest,
    reply: FastifyReply,
    canonical: CanonicalRequest,
    shape: IngressShape,
    abort: AbortController,
  ): Promise<void> {
    const obs = observationOf(request.raw);
    obs.clientSignal = abort.signal;
    onAnswerUsage(request.raw, (usage) => {
      obs.usage = usage;
    });
    // Decided here unless the rate-limit guard needed it first (docs/features.md).
    const features = this.features.featuresOf(request);
    announceFeatures(request, reply, features);
    // A shadow copy (docs/shadow.md) starts beside the primary, never in its way.
    const tap = this.mirror.start({
      requestId: request.id,
      request: canonical,
      headers: request.headers,
      cachePolicy: cachePolicyOf(request.raw),
      clientKey: presentedKey(request.headers),
      features,
    });
    const opened = await this.gateway.open(canonical, {
      headers: request.headers,
      signal: abort.signal,
      requestId: request.id,
      cachePolicy: cachePolicyOf(request.raw),
      clientKey: presentedKey(request.headers),
      onRouted: (route) => routedHeaders(reply, request, route),
      onUsage: usageEmitterFor(request.raw),
      queueClass: queueClassOf(request.raw),
      observation: obs,
      features,
    });
    const answer = tap ? this.mirror.watch(opened, tap) : opened;
    // A burst of first bytes (a thousand answers starting together) is written over several loop turns.
    const turn = this.arrivals.answerTurn();
    if (turn) {
      await turn;
    }
    obs.answeredAt = performance.now();
    answerHeaders(reply, request, answer);
    const server = this.config.get('Server');
    const egress = { 'switchyard.egress.format': shape.format, 'switchyard.egress.stream': shape.stream };
    const streamed = await this.tracing.span(
      SPAN.egress,
      () =>
        sendAnswer(reply, answer, {
          ...shape,
          pingIntervalMs: server.pingIntervalMs,
          stalledClientMs: server.stalledClientMs,
          sink: (r) =>
            this.sse.maybeCompressSse(
              r,
              features.compression ? request.headers['accept-encoding'] : undefined,
            ),
        }),
      egress,
    );
    // Failures (thrown above) are reported by the error filter: one outcome per request either way.
    const route = outcomeRoute(request.method, request.url);
    if (route && !obs.emitted) {
      obs.emitted = true;
      this.outcomes.emit(
        answeredOutcome({
          requestId: request.id,
          route,
          obs,
          stream: shape.stream,
          clientModel: shape.clientModel,
          scenario: answer.route.scenario,
          target: answer.target,
          cache: answer.cache,
          dedup: answer.dedup,
          attempts: answer.attempts,
          streamed,
        }),
      );
    }
  }
}

/**
 * The client's own abort, surfacing from whatever was waiting on it (a coalesced answer, the queue, a
 * non-stream answer being collected), is the typed client abort (status 499, kind abort): the error filter
 * logs it as one debug line — as a stream whose client left — not as an unhandled error with a stack.
 */
function clientClosed(err: unknown, signal: AbortSignal): unknown {
  if (!signal.aborted || err !== signal.reason) {
    return err;
  }
  return new ProviderError('client closed the connection', {
    status: 499,
    kind: 'abort',
    retryable: false,
    cause: err,
  });
}
