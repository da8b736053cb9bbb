import { createHash } from 'node:crypto';
import { sessionIdOf } from '../routing/session';
import { ALL_FEATURES_ON, FEATURE_NAMES, type FeatureName, type FeatureSet } from './feature-set';

/** What decides one feature for one request: its flag and whether the rollback guard tripped it. */
export interface FlagGate {
  enabled: boolean;
  /** Share of traffic, 0–100. */
  rollout: number;
  tripped: boolean;
}

const TWO_32 = 2 ** 32;

/**
 * The request's rollout bucket for one feature, in [0, 100): a stable hash of the feature's name and the
 * seed. Hashing the name too makes the rollouts independent: the 10 % that get `cache` are not the 10 % that
 * get `hedge`. A request is in a rollout of r % when its bucket is below r, so raising r only adds requests.
 */
export function bucketOf(feature: FeatureName, seed: string): number {
  const digest = createHash('sha256').update(feature).update('\0').update(seed).digest();
  return (digest.readUInt32BE(0) / TWO_32) * 100;
}

/** On for everybody (100 %) or for nobody: no bucket needed. */
const uniformOn = (g: FlagGate): boolean => g.enabled && !g.tripped && g.rollout >= 100;
const uniformOff = (g: FlagGate): boolean => !g.enabled || g.tripped || g.rollout <= 0;

/**
 * One request's features: on iff the flag is enabled, not tripped, and the request's bucket is below the
 * rollout. `seed` is only asked for (once) when some flag is partly rolled out.
 */
export function decideFeatures(
  gates: Readonly<Record<FeatureName, FlagGate>>,
  seed: () => string,
): FeatureSet {
  if (FEATURE_NAMES.every((name) => uniformOn(gates[name]))) {
    return ALL_FEATURES_ON;
  }
  let s: string | undefined;
  const out = {} as Record<FeatureName, boolean>;
  for (const name of FEATURE_NAMES) {
    const g = gates[name];
    if (uniformOn(g)) {
      out[name] = true;
    } else if (uniformOff(g)) {
      out[name] = false;
    } else {
      s ??= seed();
      out[name] = bucketOf(name, s) < g.rollout;
    }
  }
  return Object.freeze(out);
}

/**
 * The seed of a request's buckets: its Claude Code session (so a session keeps one feature set for all its
 * turns) when `bucketBy` is `session` and the request has one, else a hash of its body (the same request
 * retried lands in the same buckets).
 */
export function requestSeed(
  body: unknown,
  headers: Record<string, unknown>,
  bucketBy: 'session' | 'request',
): string {
  if (bucketBy === 'session') {
    const meta =
      typeof body === 'object' && body !== null ? (body as { metadata?: unknown }).metadata : undefined;
    const metadata = typeof meta === 'object' && meta !== null ? (meta as { user_id?: string }) : undefined;
    const session = sessionIdOf({ metadata }, headers);
    if (session) {
      return `session:${session}`;
    }
  }
  return `body:${createHash('sha256')
    .update(JSON.stringify(body ?? null) ?? '')
    .digest('base64url')}`;
}

/** The features a set has off, in FEATURE_NAMES order. */
export const offFeatures = (set: FeatureSet): FeatureName[] => FEATURE_NAMES.filter((name) => !set[name]);
