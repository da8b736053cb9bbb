import type { FeatureName } from './feature-set';
import type { Blame, GuardTrigger, WindowStats } from './guard-window';

/** Why a feature was turned off by the rollback guard. */
export interface Trip {
  trigger: GuardTrigger;
  value: number;
  threshold: number;
  /** ms since the epoch. */
  at: number;
}

/** Who made a flag's last change. */
export type ChangeSource = 'operator' | 'config' | 'guard' | 'cluster';

/** A runtime change of one flag (`PUT /api/features`, a config reload, another instance). */
export interface FlagChange {
  enabled?: boolean;
  rollout?: number;
}

export type FlagChanges = Partial<Record<FeatureName, FlagChange>>;

export type FeatureState = 'on' | 'off' | 'partial' | 'tripped';

/** One feature in `GET /api/features`. */
export interface FeatureView {
  enabled: boolean;
  rollout: number;
  state: FeatureState;
  /** The feature's own config switch (`Cache.enabled`, `Failover.hedge.enabled`, …): the flag gates on top of it. */
  section: boolean;
  trippedBy: (Omit<Trip, 'at'> & { at: string }) | null;
  changedAt: string | null;
  changedBy: ChangeSource | null;
}

/** A change made here that other instances must apply too. */
export type FeatureNotice =
  { kind: 'set'; changes: FlagChanges; at: number } | { kind: 'trip'; feature: FeatureName; trip: Trip };

/** One thing the guard did (or decided not to do) when a trigger fired. */
export interface GuardAction {
  at: string;
  trigger: GuardTrigger;
  value: number;
  threshold: number;
  /** `rolled_back`: the features listed were turned off; `none_implicated`: nothing was turned off. */
  action: 'rolled_back' | 'none_implicated';
  features: { feature: FeatureName; why: Blame }[];
}

export interface GuardView {
  enabled: boolean;
  windowMs: number;
  checkIntervalMs: number;
  window: WindowStats & {
    baselineP95Ms: number | null;
    memory: {
      rssBytes: number;
      limitBytes: number;
      limitSource: 'config' | 'cgroup' | 'host';
      ratio: number;
    };
  };
  /** Triggers over their threshold at the last check. */
  firing: GuardTrigger[];
  /** Newest first. */
  actions: GuardAction[];
}
