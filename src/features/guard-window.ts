import type { RequestOutcome } from '../common/request-outcome';
import type { SwitchyardConfig } from '../config/config.schema';
import { FEATURE_NAMES, type FeatureName, type FeatureSet } from './feature-set';

export type GuardSettings = SwitchyardConfig['Features']['guard'];

export const GUARD_TRIGGERS = ['error_rate', 'p95', 'memory', 'cache_hit_rate'] as const;
export type GuardTrigger = (typeof GUARD_TRIGGERS)[number];

/**
 * The features each trigger may blame. The cache hit rate can only be the cache's; memory grows with what
 * holds answers or requests in memory; errors and latency can come from anything on the request path (the
 * client rate limit is left out of the error rate: its refusals are 429s, which the error rate excludes).
 */
export const TRIGGER_CANDIDATES: Readonly<Record<GuardTrigger, readonly FeatureName[]>> = {
  cache_hit_rate: ['cache'],
  memory: ['cache', 'dedup', 'queue'],
  error_rate: FEATURE_NAMES.filter((name) => name !== 'rateLimit'),
  p95: FEATURE_NAMES,
};

/** A cohort must be this much worse than the other one (and breach the threshold itself) to be blamed. */
export const COHORT_WORSE_FACTOR = 1.5;

/** One finished request as the guard keeps it. */
export interface GuardSample {
  at: number;
  /** Bit i set: FEATURE_NAMES[i] was on for the request. */
  on: number;
  /** Counts for the error rate (not the client's fault, not a client abort). */
  counted: boolean;
  /** A server-side failure (the upstream's or the gateway's). */
  failed: boolean;
  /** Time to first byte of a successful answer. */
  latencyMs?: number;
  /** Result of the cache lookup when the cache was consulted. */
  cache?: 'hit' | 'miss';
}

const ALL_ON = (1 << FEATURE_NAMES.length) - 1;

export function featureBits(set: FeatureSet | undefined): number {
  if (!set) {
    return ALL_ON;
  }
  let bits = 0;
  FEATURE_NAMES.forEach((name, i) => {
    if (set[name]) {
      bits |= 1 << i;
    }
  });
  return bits;
}

export const hasFeature = (bits: number, feature: FeatureName): boolean =>
  (bits & (1 << FEATURE_NAMES.indexOf(feature))) !== 0;

/** What the guard keeps of a request outcome. */
export function sampleOf(o: RequestOutcome, at: number): GuardSample {
  const failed = o.errorSource === 'upstream' || o.errorSource === 'gateway';
  const ok = o.errorType === undefined && o.status < 400;
  return {
    at,
    on: featureBits(o.features),
    counted: o.errorSource !== 'client',
    failed,
    latencyMs: ok ? (o.ttfbMs ?? o.durationMs) : undefined,
    cache: o.cache === 'HIT' ? 'hit' : o.cache === 'MISS' ? 'miss' : undefined,
  };
}

/** A bounded, time-ordered window of samples (oldest dropped first). */
export class GuardWindow {
  private items: GuardSample[] = [];
  private head = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  add(sample: GuardSample): void {
    if (this.size >= this.capacity) {
      this.head += 1;
    }
    this.items.push(sample);
    this.compact();
  }

  /** Drops samples older than `windowMs` before `now`. */
  prune(now: number, windowMs: number): void {
    const from = now - windowMs;
    while (this.head < this.items.length && this.items[this.head].at < from) {
      this.head += 1;
    }
    this.compact();
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  samples(): readonly GuardSample[] {
    return this.items.slice(this.head);
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

export interface WindowStats {
  requests: number;
  /** Requests the error rate counts (client errors and aborts left out). */
  counted: number;
  failures: number;
  errorRate: number | null;
  latencySamples: number;
  p95Ms: number | null;
  cacheLookups: number;
  cacheHits: number;
  cacheHitRate: number | null;
}

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) {
    return null;
  }
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function statsOf(
  samples: readonly GuardSample[],
  keep: (s: GuardSample) => boolean = () => true,
): WindowStats {
  let requests = 0;
  let counted = 0;
  let failures = 0;
  let cacheLookups = 0;
  let cacheHits = 0;
  const latencies: number[] = [];
  for (const s of samples) {
    if (!keep(s)) {
      continue;
    }
    requests += 1;
    if (s.counted) {
      counted += 1;
      if (s.failed) {
        failures += 1;
      }
    }
    if (s.latencyMs !== undefined) {
      latencies.push(s.latencyMs);
    }
    if (s.cache) {
      cacheLookups += 1;
      if (s.cache === 'hit') {
        cacheHits += 1;
      }
    }
  }
  return {
    requests,
    counted,
    failures,
    errorRate: counted > 0 ? failures / counted : null,
    latencySamples: latencies.length,
    p95Ms: percentile(latencies, 95),
    cacheLookups,
    cacheHits,
    cacheHitRate: cacheLookups > 0 ? cacheHits / cacheLookups : null,
  };
}

/** What the guard knows about one flag when it judges. */
export interface FlagFacts {
  /** Enabled, not tripped, rollout above 0: some traffic has it. */
  active: boolean;
  /** Last runtime change that gave the feature more traffic (turned on, rollout raised), ms. */
  raisedAt?: number;
}

export type Blame = 'cohort' | 'recent_change';

export interface Firing {
  trigger: GuardTrigger;
  value: number;
  threshold: number;
  implicated: { feature: FeatureName; why: Blame }[];
}

export interface GuardInput {
  samples: readonly GuardSample[];
  settings: GuardSettings;
  baselineP95Ms?: number;
  memory: { rssBytes: number; limitBytes: number };
  flags: Readonly<Record<FeatureName, FlagFacts>>;
  now: number;
}

export interface GuardEvaluation {
  stats: WindowStats;
  memoryRatio: number;
  firing: Firing[];
  /** The window's p95 when it is a healthy one to learn the baseline from (enough samples, no error or p95 trigger). */
  healthyP95Ms?: number;
}

/** Samples each side of a cohort comparison needs. */
export const minCohort = (settings: GuardSettings): number =>
  Math.max(5, Math.ceil(settings.minRequests / 5));

/**
 * Judges one window: which triggers fire, and for each the features to blame. A feature is blamed when the
 * requests that had it on breach the trigger while those that had it off do not come close (cohort, both
 * sides with enough samples), or when it was given more traffic at runtime within `recentChangeMs`. A
 * trigger with nobody to blame (a provider outage with everything at 100 %) blames nobody.
 */
export function evaluateGuard(input: GuardInput): GuardEvaluation {
  const { samples, settings: g, flags, now } = input;
  const stats = statsOf(samples);
  const memoryRatio = input.memory.limitBytes > 0 ? input.memory.rssBytes / input.memory.limitBytes : 0;
  const cohortMin = minCohort(g);
  const recent = (f: FeatureName): boolean =>
    flags[f].raisedAt !== undefined && now - flags[f].raisedAt <= g.recentChangeMs;
  // Features some request in the window ran without: only those have two cohorts to compare.
  const seenOff = samples.reduce((bits, s) => bits | (~s.on & ALL_ON), 0);
  const cohorts = (f: FeatureName) => ({
    on: statsOf(samples, (s) => hasFeature(s.on, f)),
    off: statsOf(samples, (s) => !hasFeature(s.on, f)),
  });
  const blame = (
    trigger: GuardTrigger,
    cohortWorse?: (on: WindowStats, off: WindowStats) => boolean,
  ): Firing['implicated'] => {
    const out: Firing['implicated'] = [];
    for (const feature of TRIGGER_CANDIDATES[trigger]) {
      if (!flags[feature].active) {
        continue;
      }
      if (cohortWorse && hasFeature(seenOff, feature)) {
        const { on, off } = cohorts(feature);
        if (cohortWorse(on, off)) {
          out.push({ feature, why: 'cohort' });
          continue;
        }
      }
      if (recent(feature)) {
        out.push({ feature, why: 'recent_change' });
      }
    }
    return out;
  };

  const firing: Firing[] = [];
  if (stats.counted >= g.minRequests && stats.errorRate !== null && stats.errorRate > g.errorRate) {
    firing.push({
      trigger: 'error_rate',
      value: stats.errorRate,
      threshold: g.errorRate,
      implicated: blame(
        'error_rate',
        (on, off) =>
          on.counted >= cohortMin &&
          off.counted >= cohortMin &&
          (on.errorRate ?? 0) > g.errorRate &&
          (on.errorRate ?? 0) > (off.errorRate ?? 0) * COHORT_WORSE_FACTOR,
      ),
    });
  }
  const p95Limit = input.baselineP95Ms === undefined ? undefined : input.baselineP95Ms * g.p95Multiplier;
  if (p95Limit !== undefined && stats.latencySamples >= g.minRequests && (stats.p95Ms ?? 0) > p95Limit) {
    firing.push({
      trigger: 'p95',
      value: stats.p95Ms as number,
      threshold: p95Limit,
      implicated: blame(
        'p95',
        (on, off) =>
          on.latencySamples >= cohortMin &&
          off.latencySamples >= cohortMin &&
          (on.p95Ms ?? 0) > p95Limit &&
          (on.p95Ms ?? 0) > (off.p95Ms ?? 0) * COHORT_WORSE_FACTOR,
      ),
    });
  }
  if (memoryRatio > g.memoryRatio) {
    // Memory is the process's, not a request's: only a recent change can be blamed.
    firing.push({
      trigger: 'memory',
      value: memoryRatio,
      threshold: g.memoryRatio,
      implicated: blame('memory'),
    });
  }
  if (
    stats.cacheLookups >= g.minRequests &&
    stats.cacheHitRate !== null &&
    stats.cacheHitRate < g.cacheHitRateMin
  ) {
    // Requests without the cache make no lookups: there is no cohort to compare with.
    firing.push({
      trigger: 'cache_hit_rate',
      value: stats.cacheHitRate,
      threshold: g.cacheHitRateMin,
      implicated: blame('cache_hit_rate'),
    });
  }
  const latencyBad = firing.some((f) => f.trigger === 'error_rate' || f.trigger === 'p95');
  return {
    stats,
    memoryRatio,
    firing,
    healthyP95Ms:
      !latencyBad && stats.latencySamples >= g.minRequests && stats.p95Ms !== null ? stats.p95Ms : undefined,
  };
}
