import { Controller, Get } from '@nestjs/common';
import { CacheService } from '../cache/cache.service';
import { CompressionStatsService } from '../compression/compression-stats.service';
import { DedupService } from '../dedup/dedup.service';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { DegradedModeService } from '../redis/degraded-mode.service';

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** One read-only view of what the speed features are doing (behind the API key like every /api route). */
@Controller('api/stats')
export class StatsController {
  constructor(
    private readonly cache: CacheService,
    private readonly dedup: DedupService,
    private readonly compression: CompressionStatsService,
    private readonly providers: ProviderRegistryService,
    private readonly degraded: DegradedModeService,
  ) {}

  @Get()
  stats(): Record<string, unknown> {
    const memory = process.memoryUsage();
    return {
      process: {
        uptimeSeconds: Math.round(process.uptime()),
        rssMb: mb(memory.rss),
        heapUsedMb: mb(memory.heapUsed),
        heapTotalMb: mb(memory.heapTotal),
        externalMb: mb(memory.external),
      },
      cache: this.cache.stats(),
      dedup: this.dedup.stats(),
      compression: this.compression.snapshot(),
      pools: this.providers.client.stats(),
      modes: this.degraded.modes(),
    };
  }
}
