import { Module } from '@nestjs/common';
import { CacheController } from './cache.controller';
import { CacheInterceptor } from './cache.interceptor';
import { CacheService } from './cache.service';

/**
 * The exact-match response cache. Depends on the global RedisModule (hot connection, degraded mode) and
 * AppConfigService; the gateway imports this module and calls CacheService after routing.
 */
@Module({
  controllers: [CacheController],
  providers: [CacheService, CacheInterceptor],
  exports: [CacheService, CacheInterceptor],
})
export class CacheModule {}
