import { isFeatureName, type FeatureName, type FeatureSet } from '../features/feature-set';

/**
 * The copy's features: the primary's decision with `Shadow.features` laid over it. Names that are not
 * features are ignored (and listed by `unknownFeatures` for `/api/shadow`).
 */
export function shadowFeatures(primary: FeatureSet, overrides: Record<string, boolean>): FeatureSet {
  const out: Record<FeatureName, boolean> = { ...primary };
  for (const [name, on] of Object.entries(overrides)) {
    if (isFeatureName(name)) {
      out[name] = on;
    }
  }
  return Object.freeze(out);
}

export function unknownFeatures(overrides: Record<string, boolean>): string[] {
  return Object.keys(overrides).filter((name) => !isFeatureName(name));
}
