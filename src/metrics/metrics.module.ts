import { Global, Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module';
import { DedupModule } from '../dedup/dedup.module';
import { FailoverModule } from '../failover/failover.module';
import { HealthModule } from '../health/health.module';
import { ProvidersModule } from '../providers/providers.module';
import { FeatureFlagMetrics } from './feature-flag-metrics';
import { FeatureMetrics } from './feature-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics.registry';
import { RequestMetrics } from './request-metrics';
import { SlaController } from './sla.controller';
import { SlaService } from './sla.service';
import { StateMetrics } from './state-metrics';
import { UpstreamMetrics } from './upstream-metrics';

/**
 * Prometheus `/metrics` and the SLA windows (`/api/sla`). It reads the other modules (finished requests,
 * upstream calls, the features' running totals, state at scrape time) and nothing depends on it but for
 * `MetricsRegistry`, which is global so a module can add metrics of its own.
 */
@Global()
@Module({
  imports: [CacheModule, DedupModule, FailoverModule, HealthModule, ProvidersModule],
  controllers: [MetricsController, SlaController],
  providers: [
    MetricsRegistry,
    RequestMetrics,
    UpstreamMetrics,
    FeatureMetrics,
    FeatureFlagMetrics,
    StateMetrics,
    SlaService,
  ],
  exports: [MetricsRegistry, SlaService],
})
export class MetricsModule {}
