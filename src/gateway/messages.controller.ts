import { UseInterceptors, Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { presentedKey } from '../auth/api-key.guard';
import { CacheInterceptor, cachePolicyOf } from '../cache/cache.interceptor';
import { SseCompressor } from '../compression/sse-compressor.service';
import { AppConfigService } from '../config/config.service';
import { answerHeaders, routedHeaders, sendAnswer } from './answer';
import { abortOnClientClose } from './client-abort';
import { GatewayService } from './gateway.service';
import { parseCountTokensRequest, parseMessagesRequest } from './request-validation';

/** Anthropic Messages ingress (also with `?beta=true`, as Claude Code calls it). */
@Controller('v1/messages')
export class MessagesController {
  constructor(
    private readonly gateway: GatewayService,
    private readonly config: AppConfigService,
    private readonly sse: SseCompressor,
  ) {}

  @Post()
  @UseInterceptors(CacheInterceptor)
  async create(@Body() body: unknown, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const canonical = parseMessagesRequest(body);
    const abort = abortOnClientClose(reply);
    const answer = await this.gateway.open(canonical, {
      headers: request.headers,
      signal: abort.signal,
      requestId: request.id,
      cachePolicy: cachePolicyOf(request.raw),
      clientKey: presentedKey(request.headers),
      onRouted: (route) => routedHeaders(reply, request, route),
    });
    answerHeaders(reply, request, answer);
    await sendAnswer(reply, answer, {
      format: 'anthropic',
      stream: canonical.stream === true,
      includeUsage: true,
      clientModel: canonical.model,
      pingIntervalMs: this.config.get('Server').pingIntervalMs,
      stalledClientMs: this.config.get('Server').stalledClientMs,
      sink: (r) => this.sse.maybeCompressSse(r, request.headers['accept-encoding']),
    });
  }

  @Post('count_tokens')
  @HttpCode(200)
  async countTokens(@Body() body: unknown, @Req() request: FastifyRequest): Promise<{ input_tokens: number }> {
    const canonical = parseCountTokensRequest(body);
    const controller = new AbortController();
    const input_tokens = await this.gateway.countTokens(canonical, {
      headers: request.headers,
      signal: controller.signal,
      requestId: request.id,
    });
    return { input_tokens };
  }
}
