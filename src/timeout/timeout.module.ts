import { Module } from '@nestjs/common';
import { TimeoutPolicyService } from './timeout-policy.service';
import { TimeoutsController } from './timeouts.controller';

/** Adaptive deadlines (a leaf: config and the global Redis service only). */
@Module({
  controllers: [TimeoutsController],
  providers: [TimeoutPolicyService],
  exports: [TimeoutPolicyService],
})
export class TimeoutModule {}
