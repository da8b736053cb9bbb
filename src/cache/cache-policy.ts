import type { CacheHeaderValue, CachePolicy } from './cache.types';

type Headers = Record<string, string | string[] | undefined>;

const OFF: CachePolicy = { read: false, write: false };

/**
 * The client's per-request say (RFC 9111 request directives, as far as they make sense for an LLM answer):
 * `no-store` ⇒ neither read nor write; `no-cache` ⇒ fetch fresh but store the result; `max-age=N` ⇒ only
 * an entry at most N seconds old may answer. `no-store` wins over everything, `no-cache` over `max-age`.
 */
export function parseCachePolicy(headers: Headers, enabled: boolean): CachePolicy {
  if (!enabled) {
    return OFF;
  }
  const raw = headers['cache-control'];
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (!value) {
    return { read: true, write: true };
  }
  let noCache = false;
  let maxAgeSec: number | undefined;
  for (const part of value.split(',')) {
    const [name, arg] = part.trim().toLowerCase().split('=', 2);
    if (name === 'no-store') {
      return OFF;
    }
    if (name === 'no-cache') {
      noCache = true;
    } else if (name === 'max-age' && arg !== undefined) {
      const n = Number(arg.replace(/^"|"$/g, ''));
      if (Number.isInteger(n) && n >= 0) {
        // Several max-age directives: the strictest one holds.
        maxAgeSec = maxAgeSec === undefined ? n : Math.min(maxAgeSec, n);
      }
    }
  }
  if (noCache) {
    return { read: false, write: true };
  }
  return maxAgeSec === undefined ? { read: true, write: true } : { read: true, write: true, maxAgeSec };
}

/**
 * `x-switchyard-cache`: HIT when served from the cache; BYPASS when the cache was not consulted (request not
 * cacheable, or the client said no-cache / no-store); MISS when it was consulted and had nothing.
 */
export function cacheHeaderValue(
  policy: CachePolicy,
  key: string | undefined,
  hit: boolean,
): CacheHeaderValue {
  if (hit) {
    return 'HIT';
  }
  return key === undefined || !policy.read ? 'BYPASS' : 'MISS';
}
