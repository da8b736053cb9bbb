import { Controller, Get, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ProviderRegistryService } from '../providers/provider-registry.service';

/**
 * The configured `provider,model` targets. Anthropic's list shape by default; OpenAI's with
 * `?format=openai` or when the client is the OpenAI SDK (user agent `OpenAI/…`).
 */
@Controller('v1/models')
export class ModelsController {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly providers: ProviderRegistryService) {}

  @Get()
  list(@Req() request: FastifyRequest, @Query('format') format?: string): unknown {
    const targets = this.providers.list().map((t) => ({ id: `${t.provider},${t.model}`, provider: t.provider, model: t.model }));
    const ua = String(request.headers['user-agent'] ?? '');
    if (format === 'openai' || (format !== 'anthropic' && /^openai\//i.test(ua))) {
      return {
        object: 'list',
        data: targets.map((t) => ({ id: t.id, object: 'model', created: this.created, owned_by: t.provider })),
      };
    }
    const createdAt = new Date(this.created * 1000).toISOString();
    const data = targets.map((t) => ({ type: 'model', id: t.id, display_name: `${t.model} (${t.provider})`, created_at: createdAt }));
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
  }
}
