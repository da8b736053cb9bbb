import { BullModule } from '@nestjs/bullmq';
import type { RedisOptions as BullRedisOptions } from 'bullmq';
import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { SwitchyardConfig } from '../config/config.schema';
import { dedicatedOptions } from '../redis/redis-options';
import { FailoverModule } from '../failover/failover.module';
import { HealthModule } from '../health/health.module';
import { ProvidersModule } from '../providers/providers.module';
import { BackgroundProcessor, BatchProcessor, InteractiveProcessor } from './queue.processors';
import { QueueController } from './queue.controller';
import { QueueService } from './queue.service';
import { ScheduledJobsService } from './scheduled-jobs.service';
import { QUEUE_CLASSES } from './queue.types';

/**
 * The queue layer (docs/scaling.md). BullMQ is wired only when JobQueue.enabled and Redis is configured
 * (else nothing connects anywhere and the in-process scheduler runs everything); class processors exist
 * only where the role runs workers. BullMQ gets connections of its own (`maxRetriesPerRequest: null`),
 * never the hot-path one.
 */
@Global()
@Module({})
export class QueueModule {
  static forRoot(config: SwitchyardConfig): DynamicModule {
    const jq = config.JobQueue;
    const bull = jq.enabled && (config.Redis.enabled || Boolean(config.Redis.url));
    const imports: DynamicModule['imports'] = [FailoverModule, HealthModule, ProvidersModule];
    const providers: Provider[] = [QueueService, ScheduledJobsService];
    if (bull) {
      const connection: BullRedisOptions = {
        ...(dedicatedOptions(config.Redis, 'bullmq') as BullRedisOptions),
        ...(jq.redis ? { host: jq.redis.host, port: jq.redis.port } : {}),
      };
      imports.push(
        BullModule.forRoot({ connection, prefix: `${config.Redis.keyPrefix}${jq.prefix}` }),
        BullModule.registerQueue(...QUEUE_CLASSES.map((name) => ({ name }))),
      );
      if (jq.role !== 'api') {
        providers.push(InteractiveProcessor, BatchProcessor, BackgroundProcessor);
      }
    }
    return {
      module: QueueModule,
      imports,
      controllers: [QueueController],
      providers,
      exports: [QueueService],
    };
  }
}
