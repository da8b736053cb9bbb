import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { existingObservation } from '../common/request-observation';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import { decideFeatures, requestSeed, type FlagGate } from './feature-bucket';
import { FEATURE_NAMES, type FeatureName, type FeatureSet } from './feature-set';
import type { FlagFacts } from './guard-window';
import type { ChangeSource, FeatureNotice, FeatureView, FlagChanges, Trip } from './features.types';
import { featuresOnce } from './request-features';

type FeaturesConfig = SwitchyardConfig['Features'];

interface FlagRuntime {
  enabled: boolean;
  rollout: number;
  changedAt?: number;
  changedBy?: ChangeSource;
  /** Last change that gave the feature more traffic: what the guard's recent-change rule looks at. */
  raisedAt?: number;
  trip?: Trip;
}

/** Share of traffic a flag reaches. */
const exposure = (f: FlagRuntime): number => (f.enabled && !f.trip ? f.rollout : 0);

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** The feature's own config switch; the flag only gates on top of it. */
function sectionSwitch(config: SwitchyardConfig, feature: FeatureName): boolean {
  switch (feature) {
    case 'cache':
      return config.Cache.enabled;
    case 'dedup':
      return config.Dedup.enabled;
    case 'failover':
      return config.Failover.enabled;
    case 'adaptiveTimeout':
      return config.AdaptiveTimeout.enabled;
    case 'hedge':
      return config.Failover.hedge.enabled;
    case 'queue':
      return config.JobQueue.enabled;
    case 'compression':
      return config.Compression.enabled;
    case 'rateLimit':
      return config.RateLimit.enabled;
    case 'affinity':
      return config.Affinity.enabled;
  }
}

/**
 * Runtime feature flags (docs/features.md): each feature's `enabled` and `rollout` start from the `Features`
 * section and change at runtime (`PUT /api/features`, a config reload, another instance, the rollback
 * guard). A request's decision is made once, by whoever needs it first, and kept with the request.
 */
@Injectable()
export class FeaturesService implements OnModuleDestroy {
  private readonly flags = {} as Record<FeatureName, FlagRuntime>;
  private gates?: Record<FeatureName, FlagGate>;
  private readonly noticeListeners = new Set<(notice: FeatureNotice) => void>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('features');
    const f = config.get('Features');
    for (const name of FEATURE_NAMES) {
      this.flags[name] = { enabled: f[name].enabled, rollout: f[name].rollout };
    }
    this.unsubscribe = config.onChange((next, previous) => this.reload(next.Features, previous.Features));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** The features for a request whose buckets come from `seed` (asked for only when some rollout is partial). */
  decide(seed: string | (() => string)): FeatureSet {
    return decideFeatures(this.currentGates(), typeof seed === 'string' ? () => seed : seed);
  }

  /** The features for a request body (seeded by its session, else by the body's hash). */
  decideFor(body: unknown, headers: Record<string, unknown>): FeatureSet {
    return this.decide(() => requestSeed(body, headers, this.config.get('Features').bucketBy));
  }

  /**
   * The request's one decision: made the first time anyone asks (the rate-limit guard, else the
   * responder), then the same for everyone; noted on the request's observation for its outcome.
   */
  featuresOf(request: { raw: object; body?: unknown; headers: Record<string, unknown> }): FeatureSet {
    return featuresOnce(request.raw, () => {
      const set = this.decideFor(request.body, request.headers);
      const obs = existingObservation(request.raw);
      if (obs) {
        obs.features = set;
      }
      return set;
    });
  }

  /**
   * Applies runtime changes. From the operator (or relayed from another instance's operator) `enabled:
   * true` also clears a guard trip: that is the operator turning the feature back on.
   */
  update(changes: FlagChanges, source: 'operator' | 'cluster', at = Date.now()): void {
    for (const name of FEATURE_NAMES) {
      const change = changes[name];
      if (change) {
        this.set(name, change.enabled, change.rollout, source, at, change.enabled === true);
      }
    }
    if (source === 'operator') {
      this.notify({ kind: 'set', changes, at });
    }
  }

  /** Turns a feature off until an operator turns it back on; false when it was already tripped. */
  trip(feature: FeatureName, trip: Trip, source: 'guard' | 'cluster'): boolean {
    const flag = this.flags[feature];
    if (flag.trip) {
      return false;
    }
    flag.trip = trip;
    flag.changedAt = trip.at;
    flag.changedBy = 'guard';
    this.gates = undefined;
    if (source === 'guard') {
      this.notify({ kind: 'trip', feature, trip });
    } else {
      this.logger.info({ feature, trigger: trip.trigger }, "feature turned off by another instance's guard");
    }
    return true;
  }

  /** A change another instance made (FeaturesSyncService). */
  applyNotice(notice: FeatureNotice): void {
    if (notice.kind === 'set') {
      this.update(notice.changes, 'cluster', notice.at);
    } else {
      this.trip(notice.feature, notice.trip, 'cluster');
    }
  }

  /** Changes made here that the other instances must hear about. */
  onNotice(listener: (notice: FeatureNotice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  /** What the rollback guard needs to know of each flag. */
  facts(): Record<FeatureName, FlagFacts> {
    const out = {} as Record<FeatureName, FlagFacts>;
    for (const name of FEATURE_NAMES) {
      const f = this.flags[name];
      out[name] = { active: exposure(f) > 0, raisedAt: f.raisedAt };
    }
    return out;
  }

  isTripped(feature: FeatureName): boolean {
    return this.flags[feature].trip !== undefined;
  }

  /** On (1) when the flag reaches some traffic: enabled, not tripped, rollout above 0. */
  isActive(feature: FeatureName): boolean {
    return exposure(this.flags[feature]) > 0;
  }

  view(): Record<FeatureName, FeatureView> {
    const config = this.config.all;
    const out = {} as Record<FeatureName, FeatureView>;
    for (const name of FEATURE_NAMES) {
      const f = this.flags[name];
      out[name] = {
        enabled: f.enabled,
        rollout: f.rollout,
        state: f.trip
          ? 'tripped'
          : !f.enabled || f.rollout <= 0
            ? 'off'
            : f.rollout >= 100
              ? 'on'
              : 'partial',
        section: sectionSwitch(config, name),
        trippedBy: f.trip ? { ...f.trip, at: iso(f.trip.at) as string } : null,
        changedAt: iso(f.changedAt),
        changedBy: f.changedBy ?? null,
      };
    }
    return out;
  }

  /**
   * A reload that changed the `Features` section applies the file's values; a feature the guard turned off
   * stays off until an operator turns it back on (a file edit is not that operator's word on the trip).
   */
  private reload(next: FeaturesConfig, previous: FeaturesConfig): void {
    const same = FEATURE_NAMES.every(
      (name) =>
        next[name].enabled === previous[name].enabled && next[name].rollout === previous[name].rollout,
    );
    if (same) {
      return;
    }
    const at = Date.now();
    for (const name of FEATURE_NAMES) {
      this.set(name, next[name].enabled, next[name].rollout, 'config', at, false);
    }
  }

  private set(
    name: FeatureName,
    enabled: boolean | undefined,
    rollout: number | undefined,
    source: ChangeSource,
    at: number,
    clearTrip: boolean,
  ): void {
    const flag = this.flags[name];
    const before = { ...flag };
    flag.enabled = enabled ?? flag.enabled;
    flag.rollout = rollout ?? flag.rollout;
    if (clearTrip && flag.trip) {
      flag.trip = undefined;
    }
    const changed =
      flag.enabled !== before.enabled || flag.rollout !== before.rollout || flag.trip !== before.trip;
    if (!changed) {
      return;
    }
    this.gates = undefined;
    flag.changedAt = at;
    flag.changedBy = source;
    if (exposure(flag) > exposure(before)) {
      flag.raisedAt = at;
    }
    this.logger.info(
      {
        feature: name,
        enabled: flag.enabled,
        rollout: flag.rollout,
        by: source,
        ...(before.trip && !flag.trip ? { cleared: before.trip.trigger } : {}),
      },
      'feature flag changed',
    );
  }

  private currentGates(): Record<FeatureName, FlagGate> {
    if (!this.gates) {
      const gates = {} as Record<FeatureName, FlagGate>;
      for (const name of FEATURE_NAMES) {
        const f = this.flags[name];
        gates[name] = { enabled: f.enabled, rollout: f.rollout, tripped: f.trip !== undefined };
      }
      this.gates = gates;
    }
    return this.gates;
  }

  private notify(notice: FeatureNotice): void {
    for (const listener of this.noticeListeners) {
      try {
        listener(notice);
      } catch {
        // a failed broadcast must not undo the local change
      }
    }
  }
}
