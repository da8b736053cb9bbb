import { Module } from '@nestjs/common';
import { AppConfigService } from '../config/config.service';
import { GatewayModule } from '../gateway/gateway.module';
import { RedisService } from '../redis/redis.service';
import { BatchRunnerService } from './batch-runner.service';
import { BATCH_STORE, type BatchStore } from './batch.store';
import { BatchesEnabledGuard } from './batches-enabled.guard';
import { BatchesController } from './batches.controller';
import { BatchesService } from './batches.service';
import { MemoryBatchStore } from './memory-batch.store';
import { RedisBatchStore } from './redis-batch.store';

/** Redis when configured (batches survive restarts and are shared by instances), else memory. */
function batchStore(redis: RedisService, config: AppConfigService): BatchStore {
  const { expiresAfterSec, retainSec } = config.get('Batches');
  return redis.configured
    ? new RedisBatchStore(redis, (expiresAfterSec + retainSec) * 1000, retainSec * 1000)
    : new MemoryBatchStore(retainSec * 1000);
}

/**
 * The Message Batches API (docs/batches.md). Requests run as durable jobs of the global QueueModule's
 * `batch` class, each through GatewayService like a /v1/messages call.
 */
@Module({
  imports: [GatewayModule],
  controllers: [BatchesController],
  providers: [
    BatchesService,
    BatchRunnerService,
    BatchesEnabledGuard,
    { provide: BATCH_STORE, useFactory: batchStore, inject: [RedisService, AppConfigService] },
  ],
})
export class BatchesModule {}
