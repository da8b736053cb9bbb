import { Global, Module } from '@nestjs/common';
import { CompressionStatsService } from './compression-stats.service';
import { SseCompressor } from './sse-compressor.service';

/**
 * Response compression's injectables. Global because the stats are read by the admin API and the SSE
 * compressor by the gateway's egress writer, while registration happens once in createApp.
 */
@Global()
@Module({
  providers: [CompressionStatsService, SseCompressor],
  exports: [CompressionStatsService, SseCompressor],
})
export class CompressionModule {}
