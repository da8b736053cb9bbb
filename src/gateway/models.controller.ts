import { Controller, Get, Param, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import {
  anthropicModel,
  anthropicPage,
  findModel,
  modelId,
  openAIModel,
  type ModelEntry,
} from './model-list';

/** The OpenAI shape with `?format=openai` or for the OpenAI SDK (user agent `OpenAI/…`), else Anthropic's. */
function wantsOpenAI(request: FastifyRequest, format: unknown): boolean {
  const ua = String(request.headers['user-agent'] ?? '');
  return format === 'openai' || (format !== 'anthropic' && /^openai\//i.test(ua));
}

/**
 * The configured `provider,model` targets: Anthropic's Models API (paged list, ModelInfo) by default,
 * OpenAI's (`object: "list"`, Model) for OpenAI clients.
 */
@Controller('v1/models')
export class ModelsController {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly providers: ProviderRegistryService) {}

  private entries(): ModelEntry[] {
    return this.providers
      .list()
      .map((t) => ({ id: modelId(t.provider, t.model), provider: t.provider, model: t.model }));
  }

  @Get()
  list(@Req() request: FastifyRequest, @Query() query: Record<string, unknown>): unknown {
    if (wantsOpenAI(request, query.format)) {
      return { object: 'list', data: this.entries().map((e) => openAIModel(e, this.created)) };
    }
    return anthropicPage(this.entries(), query, this.created);
  }

  /** `GET /v1/models/{model_id}`: ids hold `,` and may hold `/` (OpenRouter-style model names). */
  @Get('*')
  retrieve(
    @Req() request: FastifyRequest,
    @Param('*') id: string,
    @Query('format') format?: string,
  ): unknown {
    const entry = findModel(this.entries(), id);
    return wantsOpenAI(request, format)
      ? openAIModel(entry, this.created)
      : anthropicModel(entry, this.created);
  }
}
