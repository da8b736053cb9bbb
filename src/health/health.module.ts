import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { FailoverModule } from '../failover/failover.module';
import { ProvidersModule } from '../providers/providers.module';
import { HealthController } from './health.controller';
import { ProviderHealthIndicator } from './provider.health';
import { RedisHealthIndicator } from './redis.health';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), ProvidersModule, FailoverModule],
  controllers: [HealthController],
  providers: [RedisHealthIndicator, ProviderHealthIndicator],
  exports: [ProviderHealthIndicator],
})
export class HealthModule {}
