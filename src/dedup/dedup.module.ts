import { Module } from '@nestjs/common';
import { DedupService } from './dedup.service';

/** In-flight coalescing. Needs AppConfigModule, RedisModule (both global) and nestjs-pino's LoggerModule. */
@Module({ providers: [DedupService], exports: [DedupService] })
export class DedupModule {}
