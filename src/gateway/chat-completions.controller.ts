import { UseInterceptors, Body, Controller, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { presentedKey } from '../auth/api-key.guard';
import { CacheInterceptor, cachePolicyOf } from '../cache/cache.interceptor';
import { SseCompressor } from '../compression/sse-compressor.service';
import { AppConfigService } from '../config/config.service';
import { openAIRequestToAnthropic } from '../protocol/openai-to-anthropic';
import { answerHeaders, routedHeaders, sendAnswer } from './answer';
import { abortOnClientClose } from './client-abort';
import { GatewayService } from './gateway.service';
import { parseChatCompletionsRequest } from './request-validation';

/** OpenAI Chat Completions ingress, routed like every other request. */
@Controller('v1/chat/completions')
export class ChatCompletionsController {
  constructor(
    private readonly gateway: GatewayService,
    private readonly config: AppConfigService,
    private readonly sse: SseCompressor,
  ) {}

  @Post()
  @UseInterceptors(CacheInterceptor)
  async create(@Body() body: unknown, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const openai = parseChatCompletionsRequest(body);
    const canonical = openAIRequestToAnthropic(openai);
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
      format: 'openai',
      stream: openai.stream === true,
      includeUsage: openai.stream_options?.include_usage === true,
      clientModel: String(openai.model),
      pingIntervalMs: this.config.get('Server').pingIntervalMs,
      stalledClientMs: this.config.get('Server').stalledClientMs,
      sink: (r) => this.sse.maybeCompressSse(r, request.headers['accept-encoding']),
    });
  }
}
