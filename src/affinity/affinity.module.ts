import { Global, Module } from '@nestjs/common';
import { AffinityController } from './affinity.controller';
import { AffinityService } from './affinity.service';

/**
 * Session affinity (docs/affinity.md). Global so that the gateway and failover read it without an import
 * edge; it depends only on the global config, Redis and logging modules.
 */
@Global()
@Module({
  providers: [AffinityService],
  controllers: [AffinityController],
  exports: [AffinityService],
})
export class AffinityModule {}
