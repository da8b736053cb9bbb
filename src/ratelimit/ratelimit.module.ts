import { Global, Module } from '@nestjs/common';
import { ProviderSlotsService } from './provider-slots.service';

/** Cluster-wide limits: provider concurrency slots (and the RateLimit section's RPM/TPM limits). */
@Global()
@Module({
  providers: [ProviderSlotsService],
  exports: [ProviderSlotsService],
})
export class RateLimitModule {}
