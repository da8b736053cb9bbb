import { ALL_FEATURES_ON, FEATURE_NAMES, type FeatureSet } from '../features/feature-set';
import { shadowFeatures, unknownFeatures } from './shadow-features';

describe('shadowFeatures', () => {
  it('lays the overrides over the primary decision and ignores unknown names', () => {
    const primary: FeatureSet = { ...ALL_FEATURES_ON, hedge: false };
    const copy = shadowFeatures(primary, { cache: false, hedge: true, warpDrive: true });
    expect(copy).toEqual({ ...ALL_FEATURES_ON, cache: false });
    expect(Object.keys(copy).sort()).toEqual([...FEATURE_NAMES].sort());
    expect(Object.isFrozen(copy)).toBe(true);
    expect(primary.hedge).toBe(false); // untouched
  });

  it('no overrides: the primary decision as it is', () => {
    expect(shadowFeatures(ALL_FEATURES_ON, {})).toEqual(ALL_FEATURES_ON);
  });

  it('lists names that are not features', () => {
    expect(unknownFeatures({ cache: false, warpDrive: true })).toEqual(['warpDrive']);
  });
});
