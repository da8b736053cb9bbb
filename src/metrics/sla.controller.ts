import { Controller, Get } from '@nestjs/common';
import { AppConfigService } from '../config/config.service';
import { GatewayError } from '../protocol/errors';
import { SlaService } from './sla.service';
import type { SlaReport } from './sla.types';

/** `GET /api/sla`: availability, latency and error-budget burn per window (behind the API key like every /api route). */
@Controller('api/sla')
export class SlaController {
  constructor(
    private readonly sla: SlaService,
    private readonly config: AppConfigService,
  ) {}

  @Get()
  report(): Promise<SlaReport> {
    if (!this.config.get('Metrics').enabled) {
      throw new GatewayError(404, 'SLA tracking is disabled (Metrics.enabled: false)', {
        type: 'not_found_error',
      });
    }
    return this.sla.report();
  }
}
