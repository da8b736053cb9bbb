import { Body, Controller, HttpCode, Post, Req, Res, UseInterceptors } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CacheInterceptor } from '../cache/cache.interceptor';
import { QueueInterceptor } from '../queue/queue.interceptor';
import { abortOnClientClose } from './client-abort';
import { GatewayService } from './gateway.service';
import { parseCountTokensRequest, parseMessagesRequest } from './request-validation';
import { ResponderService } from './responder.service';

/** Anthropic Messages ingress (also with `?beta=true`, as Claude Code calls it). */
@Controller('v1/messages')
export class MessagesController {
  constructor(
    private readonly responder: ResponderService,
    private readonly gateway: GatewayService,
  ) {}

  @Post()
  @UseInterceptors(QueueInterceptor, CacheInterceptor)
  async create(
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const canonical = parseMessagesRequest(body);
    await this.responder.respond(request, reply, canonical, {
      format: 'anthropic',
      stream: canonical.stream === true,
      includeUsage: true,
      clientModel: canonical.model,
    });
  }

  @Post('count_tokens')
  @HttpCode(200)
  async countTokens(
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ input_tokens: number }> {
    const canonical = parseCountTokensRequest(body);
    const input_tokens = await this.gateway.countTokens(canonical, {
      headers: request.headers,
      signal: abortOnClientClose(reply).signal,
      requestId: request.id,
    });
    return { input_tokens };
  }
}
