import { Global, Module } from '@nestjs/common';
import { DegradedModeService } from './degraded-mode.service';
import { InstanceRegistryService } from './instance-registry.service';
import { RedisService } from './redis.service';

/** Global: every subsystem reads the shared connection and the degraded-mode switch from here. */
@Global()
@Module({
  providers: [RedisService, DegradedModeService, InstanceRegistryService],
  exports: [RedisService, DegradedModeService, InstanceRegistryService],
})
export class RedisModule {}
