import { Global, Module } from '@nestjs/common';
import { FeaturesSyncService } from './features-sync.service';
import { FeaturesController } from './features.controller';
import { FeaturesService } from './features.service';
import { RollbackGuardService } from './rollback-guard.service';

/**
 * Runtime feature flags, their rollout and the rollback guard (docs/features.md). Global: the rate-limit
 * guard, the responder and the batch runner decide a request's features here; it depends only on config,
 * Redis and the request outcomes, so it stays a leaf.
 */
@Global()
@Module({
  controllers: [FeaturesController],
  providers: [FeaturesService, RollbackGuardService, FeaturesSyncService],
  exports: [FeaturesService, RollbackGuardService],
})
export class FeaturesModule {}
