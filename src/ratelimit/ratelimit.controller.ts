import { Controller, Get } from '@nestjs/common';
import { AppConfigService } from '../config/config.service';
import type { SubsystemMode } from '../redis/degraded-mode.service';
import { GcraLimiterService } from './gcra-limiter.service';
import { ProviderLimitsService, type ProviderLimitsView } from './provider-limits.service';
import { RateLimitService } from './rate-limit.service';

export interface RateLimitView {
  enabled: boolean;
  /** `redis`: shared by every instance; `local`: Redis down, each instance enforces limit / `localDivisor`. */
  mode: SubsystemMode;
  instances: number;
  localDivisor: number;
  learnFromHeaders: boolean;
  client: ReturnType<RateLimitService['view']>;
  providers: Record<string, ProviderLimitsView>;
}

/** `GET /api/ratelimit`: configured and learned limits per provider, client limits and the mode (API key). */
@Controller('api/ratelimit')
export class RateLimitController {
  constructor(
    private readonly config: AppConfigService,
    private readonly limiter: GcraLimiterService,
    private readonly clients: RateLimitService,
    private readonly providers: ProviderLimitsService,
  ) {}

  @Get()
  async view(): Promise<RateLimitView> {
    const settings = this.config.get('RateLimit');
    return {
      enabled: settings.enabled,
      mode: this.limiter.mode,
      instances: this.limiter.instanceCount,
      localDivisor: this.limiter.localDivisor,
      learnFromHeaders: settings.learnFromHeaders,
      client: this.clients.view(),
      providers: await this.providers.view(),
    };
  }
}
