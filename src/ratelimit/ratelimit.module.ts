import { Global, Module } from '@nestjs/common';
import { ProvidersModule } from '../providers/providers.module';
import { GcraLimiterService } from './gcra-limiter.service';
import { ProviderLimitsService } from './provider-limits.service';
import { ProviderSlotsService } from './provider-slots.service';
import { RateLimitController } from './ratelimit.controller';
import { RateLimitService } from './rate-limit.service';

/**
 * Cluster-wide limits: provider concurrency slots, client and provider RPM/TPM (`RateLimit`, docs/ratelimit.md)
 * and the limits providers announce in their headers. The guard is registered as an APP_GUARD by AppModule.
 */
@Global()
@Module({
  imports: [ProvidersModule],
  controllers: [RateLimitController],
  providers: [ProviderSlotsService, GcraLimiterService, RateLimitService, ProviderLimitsService],
  exports: [ProviderSlotsService, RateLimitService, ProviderLimitsService],
})
export class RateLimitModule {}
