/** The features a request can have switched on or off at runtime (`Features` section, docs/features.md). */
export const FEATURE_NAMES = [
  'cache',
  'dedup',
  'failover',
  'adaptiveTimeout',
  'hedge',
  'queue',
  'compression',
  'rateLimit',
  'affinity',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];

/** One request's decision: which features it runs with. Decided once per request, then read everywhere. */
export type FeatureSet = Readonly<Record<FeatureName, boolean>>;

export const ALL_FEATURES_ON: FeatureSet = Object.freeze(
  Object.fromEntries(FEATURE_NAMES.map((name) => [name, true])) as Record<FeatureName, boolean>,
);

export const isFeatureName = (name: string): name is FeatureName =>
  (FEATURE_NAMES as readonly string[]).includes(name);
