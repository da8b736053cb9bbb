import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { presentedKey } from '../auth/api-key.guard';
import { cachePolicyOf } from '../cache/cache.interceptor';
import { usageEmitterFor } from '../common/request-hooks';
import { queueClassOf } from '../queue/queue.interceptor';
import { SseCompressor } from '../compression/sse-compressor.service';
import { AppConfigService } from '../config/config.service';
import type { CanonicalRequest } from '../protocol/types';
import { answerHeaders, routedHeaders, sendAnswer } from './answer';
import { abortOnClientClose } from './client-abort';
import type { IngressFormat } from './egress-writer';
import { GatewayService } from './gateway.service';

export interface IngressShape {
  format: IngressFormat;
  stream: boolean;
  /** OpenAI clients opt in with stream_options.include_usage; Anthropic clients always get usage. */
  includeUsage: boolean;
  clientModel: string;
}

/** What both ingress controllers do once the body is canonical: open the answer, then send it their way. */
@Injectable()
export class ResponderService {
  constructor(
    private readonly gateway: GatewayService,
    private readonly config: AppConfigService,
    private readonly sse: SseCompressor,
  ) {}

  async respond(request: FastifyRequest, reply: FastifyReply, canonical: CanonicalRequest, shape: IngressShape): Promise<void> {
    const abort = abortOnClientClose(reply);
    const answer = await this.gateway.open(canonical, {
      headers: request.headers,
      signal: abort.signal,
      requestId: request.id,
      cachePolicy: cachePolicyOf(request.raw),
      clientKey: presentedKey(request.headers),
      onRouted: (route) => routedHeaders(reply, request, route),
      onUsage: usageEmitterFor(request.raw),
      queueClass: queueClassOf(request.raw),
    });
    answerHeaders(reply, request, answer);
    const server = this.config.get('Server');
    await sendAnswer(reply, answer, {
      ...shape,
      pingIntervalMs: server.pingIntervalMs,
      stalledClientMs: server.stalledClientMs,
      sink: (r) => this.sse.maybeCompressSse(r, request.headers['accept-encoding']),
    });
  }
}
