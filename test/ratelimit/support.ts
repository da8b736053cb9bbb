import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { eventually, startGateway, type GatewayOptions, type GatewayUnderTest } from '../support/gateway';

export { eventually };

/** A Redis key prefix no other test uses. */
export const uniquePrefix = (what: string): string => `sy-rl-${what}-${randomUUID().slice(0, 8)}:`;

/** Quiet gateways: no cache (every request must reach the limits and the provider), no health probes. */
const QUIET = {
  Cache: { enabled: false },
  Failover: { health: { enabled: false } },
};

const merge = (a: Record<string, any>, b: Record<string, any>): Record<string, any> => {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof a[k] === 'object' ? merge(a[k], v) : v;
  }
  return out;
};

/**
 * A gateway (and its fake provider) with `RateLimit` switched on; on `redisUrl` under `prefix` when given.
 * Waits until the rate limits run in the expected mode.
 */
export async function startLimited(opts: {
  rateLimit: Record<string, unknown>;
  redisUrl?: string;
  prefix?: string;
  config?: Record<string, unknown>;
  router?: Record<string, unknown>;
  apiKey?: string;
}): Promise<GatewayUnderTest> {
  const config = merge(QUIET, {
    RateLimit: { enabled: true, ...opts.rateLimit },
    ...(opts.redisUrl ? { Redis: { keyPrefix: opts.prefix ?? uniquePrefix('gw') } } : {}),
    ...(opts.apiKey ? { APIKEY: opts.apiKey } : {}),
  });
  const options: GatewayOptions = {
    config: merge(config, opts.config ?? {}),
    router: opts.router,
    env: opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {},
  };
  const gw = await startGateway(options);
  if (opts.redisUrl) {
    await eventually(async () => (await status(gw, opts.apiKey)).mode === 'redis');
  }
  return gw;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** One raw POST (fetch: no SDK retries, headers as sent). */
export async function post(
  gw: { url: string },
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** An Anthropic Messages body; `text` must differ between requests that should not look alike. */
export const messages = (text: string, maxTokens = 64): Record<string, unknown> => ({
  model: 'claude-sonnet-4',
  max_tokens: maxTokens,
  messages: [{ role: 'user', content: text }],
});

export const chat = (text: string, maxTokens = 64): Record<string, unknown> => ({
  model: 'gpt-4o',
  max_tokens: maxTokens,
  messages: [{ role: 'user', content: text }],
});

/** A fake-provider directive placed in the prompt (applies to whichever provider receives it). */
export const directive = (behaviour: Record<string, unknown>): string =>
  `[[fake:${JSON.stringify(behaviour)}]]`;

/** GET /api/ratelimit. */
export async function status(gw: { url: string }, apiKey?: string): Promise<any> {
  const res = await fetch(`${gw.url}/api/ratelimit`, { headers: apiKey ? { 'x-api-key': apiKey } : {} });
  return res.json();
}

/** The retry-after header as seconds (NaN when absent). */
export const retryAfter = (r: { headers: Headers }): number => Number(r.headers.get('retry-after'));

/** Deletes every key under `prefix` (they all have TTLs; this keeps the shared test Redis tidy). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const raw = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await raw.connect();
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) {
      await raw.del(...keys);
    }
  } finally {
    raw.disconnect();
  }
}
