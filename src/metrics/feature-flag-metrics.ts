import { Injectable } from '@nestjs/common';
import { FEATURE_NAMES } from '../features/feature-set';
import { FeaturesService } from '../features/features.service';
import { RollbackGuardService } from '../features/rollback-guard.service';
import { MetricsRegistry } from './metrics.registry';

/** The runtime feature flags and their rollback guard (docs/features.md), read at scrape time. */
@Injectable()
export class FeatureFlagMetrics {
  constructor(m: MetricsRegistry, features: FeaturesService, guard: RollbackGuardService) {
    m.computedGauge(
      'switchyard_feature_enabled',
      'Feature flag state: 1 while the flag reaches some traffic (enabled, rollout above 0, not rolled back).',
      ['feature'],
      () => FEATURE_NAMES.map((feature) => [{ feature }, features.isActive(feature) ? 1 : 0]),
    );
    m.computedGauge(
      'switchyard_feature_rollout_percent',
      'Share of traffic a feature flag is rolled out to (0-100), whatever its state.',
      ['feature'],
      () => {
        const view = features.view();
        return FEATURE_NAMES.map((feature) => [{ feature }, view[feature].rollout]);
      },
    );
    m.bridgedCounter(
      'switchyard_feature_rollbacks_total',
      'Features turned off by the rollback guard, by feature and trigger (error_rate, p95, memory, cache_hit_rate).',
      ['feature', 'trigger'],
      () => guard.rollbacks().map((r) => [{ feature: r.feature, trigger: r.trigger }, r.n]),
    );
    m.bridgedCounter(
      'switchyard_feature_guard_unattributed_total',
      'Rollback-guard trigger episodes with no feature to blame (nothing was turned off), by trigger.',
      ['trigger'],
      () => guard.unattributedEpisodes().map(([trigger, n]) => [{ trigger }, n]),
    );
  }
}
