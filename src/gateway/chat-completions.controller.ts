import { Body, Controller, Post, Req, Res, UseInterceptors } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CacheInterceptor } from '../cache/cache.interceptor';
import { QueueInterceptor } from '../queue/queue.interceptor';
import { openAIRequestToAnthropic } from '../protocol/openai-to-anthropic';
import { parseChatCompletionsRequest } from './chat-request-validation';
import { usesLegacyFunctions } from './legacy-functions';
import { ResponderService } from './responder.service';

/** OpenAI Chat Completions ingress, routed like every other request. */
@Controller('v1/chat/completions')
export class ChatCompletionsController {
  constructor(private readonly responder: ResponderService) {}

  @Post()
  @UseInterceptors(QueueInterceptor, CacheInterceptor)
  async create(
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const openai = parseChatCompletionsRequest(body);
    await this.responder.respond(request, reply, openAIRequestToAnthropic(openai), {
      format: 'openai',
      stream: openai.stream === true,
      includeUsage: openai.stream_options?.include_usage === true,
      clientModel: String(openai.model),
      legacyFunctions: usesLegacyFunctions(body),
    });
  }
}
