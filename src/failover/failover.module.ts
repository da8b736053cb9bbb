import { Module } from '@nestjs/common';
import { ProvidersModule } from '../providers/providers.module';
import { TimeoutModule } from '../timeout/timeout.module';
import { TracingModule } from '../tracing/tracing.module';
import { FailoverCounters } from './failover-counters';
import { FailoverService } from './failover.service';
import { HealthScoreService } from './health-score';
import { ProvidersController } from './providers.controller';
import { TargetStateService } from './target-state.service';
import { UpstreamCallService } from './upstream-call.service';

/** Failover chains, breakers, cooldowns, health scores and hedging (docs/failover.md). */
@Module({
  imports: [ProvidersModule, TimeoutModule, TracingModule],
  controllers: [ProvidersController],
  providers: [FailoverService, HealthScoreService, TargetStateService, FailoverCounters, UpstreamCallService],
  exports: [
    FailoverService,
    HealthScoreService,
    TargetStateService,
    FailoverCounters,
    UpstreamCallService,
    TimeoutModule,
  ],
})
export class FailoverModule {}
