import { offFeatures } from './feature-bucket';
import type { FeatureSet } from './feature-set';

/** Response header naming the features a request ran without (only when there is one). */
export const FEATURES_OFF_HEADER = 'x-switchyard-features-off';

const decisions = new WeakMap<object, FeatureSet>();

/** The decision already made for this raw request, if any (kept weakly: it goes with the request). */
export function decidedFeatures(raw: object): FeatureSet | undefined {
  return decisions.get(raw);
}

/** The decision for this raw request: made once by `decide` the first time anyone asks. */
export function featuresOnce(raw: object, decide: () => FeatureSet): FeatureSet {
  let set = decisions.get(raw);
  if (!set) {
    set = decide();
    decisions.set(raw, set);
  }
  return set;
}

/**
 * What a request's decision changes on its response: the `x-switchyard-features-off` header when something
 * is off, and no response compression when `compression` is off (@fastify/compress skips requests carrying
 * `x-no-compression`; the SSE compressor is told by the responder).
 */
export function announceFeatures(
  request: { headers: Record<string, string | string[] | undefined> },
  reply: { header(name: string, value: string): unknown },
  set: FeatureSet,
): void {
  const off = offFeatures(set);
  if (off.length > 0) {
    reply.header(FEATURES_OFF_HEADER, off.join(','));
  }
  if (!set.compression) {
    request.headers['x-no-compression'] = '1';
  }
}
