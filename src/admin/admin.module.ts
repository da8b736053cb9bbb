import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module';
import { DedupModule } from '../dedup/dedup.module';
import { ProvidersModule } from '../providers/providers.module';
import { StatsController } from './stats.controller';

/** Read-only /api/* status endpoints that span modules. */
@Module({ imports: [CacheModule, DedupModule, ProvidersModule], controllers: [StatsController] })
export class AdminModule {}
