import { createHash } from 'node:crypto';
import type { SerializedError } from './dedup-errors';

/**
 * `<keyPrefix>dedup:v1:<sha256(key)>:lock` holds the leader's token `<instanceId>:<flightId>`;
 * `<keyPrefix>dedup:v1:<sha256(key)>:log:<flightId>` is that leader's event stream. One stream per leader
 * (not per key) so a leader that was presumed dead and comes back can never interleave its events with
 * its successor's.
 */
export interface DedupKeys {
  lock: string;
  log(flightId: string): string;
}

/** The caller's key may be long or contain separators; the Redis key carries its hash. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** `base` is `RedisService.key('dedup', 1, hashKey(key))`. */
export function dedupKeys(base: string): DedupKeys {
  return { lock: `${base}:lock`, log: (flightId) => `${base}:log:${flightId}` };
}

/** The flight id part of a lock token. */
export function flightIdOf(token: string): string {
  return token.slice(token.lastIndexOf(':') + 1);
}

/** The last entry of a leader's stream. */
export type EndMarker =
  { kind: 'done' } | { kind: 'failed'; error: SerializedError } | { kind: 'abandoned' } | { kind: 'capped' };

/** Extends the lock (and the stream's TTL) only while we still own it: a successor's lock is never touched. */
export const HEARTBEAT_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 1
end
return 0`;

/** Deletes the lock only if we still own it. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;
