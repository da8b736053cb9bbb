import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { DestinationStream } from 'pino';
import { AdminModule } from './admin/admin.module';
import { AffinityModule } from './affinity/affinity.module';
import { BatchesModule } from './batches/batches.module';
import { ApiKeyGuard } from './auth/api-key.guard';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { OutcomesModule } from './common/outcomes.module';
import { AppConfigModule } from './config/config.module';
import { ConfigReloadModule } from './config/config-reload.module';
import type { LoadedConfig } from './config/load-config';
import { CompressionModule } from './compression/compression.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { FeaturesModule } from './features/features.module';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { HistoryModule } from './history/history.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { QueueModule } from './queue/queue.module';
import { RateLimitGuard } from './ratelimit/rate-limit.guard';
import { RateLimitModule } from './ratelimit/ratelimit.module';
import { RedisModule } from './redis/redis.module';
import { ShadowModule } from './shadow/shadow.module';
import { TracingModule } from './tracing/tracing.module';

export interface AppModuleOptions {
  loaded: LoadedConfig;
  /** Where pino writes (tests capture it); default stdout. */
  logDestination?: DestinationStream;
  /** Extra modules (tests). */
  imports?: ModuleMetadata['imports'];
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(options.loaded),
        LoggingModule.forRoot(options.logDestination),
        RedisModule,
        TracingModule,
        OutcomesModule,
        FeaturesModule,
        HistoryModule,
        AffinityModule,
        RateLimitModule,
        QueueModule.forRoot(options.loaded.config),
        CompressionModule,
        HealthModule,
        GatewayModule,
        BatchesModule,
        AdminModule,
        DashboardModule,
        MetricsModule,
        ShadowModule,
        ConfigReloadModule,
        ...(options.imports ?? []),
      ],
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
