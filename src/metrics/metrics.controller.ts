import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator';
import { AppConfigService } from '../config/config.service';
import { GatewayError } from '../protocol/errors';
import { MetricsRegistry } from './metrics.registry';

/** `GET /metrics`: the Prometheus text exposition, open like the health probes (it carries no secrets). */
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly config: AppConfigService,
  ) {}

  @Get()
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    if (!this.config.get('Metrics').enabled) {
      throw new GatewayError(404, 'Metrics are disabled (Metrics.enabled: false)', {
        type: 'not_found_error',
      });
    }
    void reply.header('content-type', this.metrics.contentType).header('cache-control', 'no-store');
    return this.metrics.render();
  }
}
