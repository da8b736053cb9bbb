import type Redis from 'ioredis';
import type { PinDecision, PinState } from './affinity.types';
import { decodePin } from './hysteresis';
import type { UsageTotals } from './usage-counters';
import { USAGE_COUNTERS } from './usage-counters';

/**
 * decidePin (hysteresis.ts) run inside Redis, so that concurrent answers of one session on several
 * instances count every strike exactly once. KEYS[1]: the session's hash. ARGV: routed target, served
 * target, moveAfter, ttlSec, maxRoutes. Field = routed target, value = "<strikes> <pin>".
 * Returns {change, pin, strikes}, or {'full'} when the session already holds maxRoutes other routes.
 */
const RECORD = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
local served = ARGV[2]
local s, pin
if v then s, pin = string.match(v, '^(%d+) (.+)$') end
local change, strikes
if not s then
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then return {'full'} end
  change, pin, strikes = 'pinned', served, 0
elseif pin == served then
  change, strikes = 'kept', 0
else
  strikes = tonumber(s) + 1
  if strikes >= tonumber(ARGV[3]) then
    change, pin, strikes = 'moved', served, 0
  else
    change = 'strike'
  end
end
redis.call('HSET', KEYS[1], ARGV[1], strikes .. ' ' .. pin)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {change, pin, strikes}
`;

/** The Redis form of the pin map; every call is one command on one key (Cluster-safe). */
export class RedisAffinityStore {
  constructor(
    private ttlSec: number,
    private readonly maxRoutes: number,
  ) {}

  /** A reload changed `Affinity.ttlSec`: applies from the next write of each session. */
  setTtl(sec: number): void {
    this.ttlSec = sec;
  }

  async read(client: Redis, key: string, routed: string): Promise<PinState | undefined> {
    return decodePin(await client.hget(key, routed));
  }

  async record(
    client: Redis,
    key: string,
    routed: string,
    served: string,
    moveAfter: number,
  ): Promise<PinDecision | undefined> {
    const reply = (await client.eval(
      RECORD,
      1,
      key,
      routed,
      served,
      Math.max(1, moveAfter),
      this.ttlSec,
      this.maxRoutes,
    )) as [string, string?, number?];
    const [change, pin, strikes] = reply;
    if (change === 'full' || pin === undefined) {
      return undefined;
    }
    return { change: change as PinDecision['change'], state: { pin, strikes: Number(strikes ?? 0) } };
  }

  /**
   * Adds a batch of answers to the cluster totals (fields `<counter>:<provider>`): one pipeline, one round trip,
   * however many answers and providers the batch holds.
   */
  async addUsage(client: Redis, key: string, batch: ReadonlyMap<string, UsageTotals>): Promise<void> {
    const pipeline = client.pipeline();
    for (const [provider, delta] of batch) {
      for (const counter of USAGE_COUNTERS) {
        if (delta[counter] > 0) {
          pipeline.hincrby(key, `${counter}:${provider}`, delta[counter]);
        }
      }
    }
    pipeline.expire(key, this.ttlSec);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) {
      throw failed[0] as Error;
    }
  }

  async readUsage(client: Redis, key: string): Promise<Map<string, UsageTotals>> {
    const fields = await client.hgetall(key);
    const out = new Map<string, UsageTotals>();
    for (const [field, value] of Object.entries(fields)) {
      const colon = field.indexOf(':');
      const counter = field.slice(0, colon) as (typeof USAGE_COUNTERS)[number];
      if (colon < 0 || !USAGE_COUNTERS.includes(counter)) {
        continue;
      }
      const provider = field.slice(colon + 1);
      const totals = out.get(provider) ?? {
        requests: 0,
        inputTokens: 0,
        cacheReadTokens: 0,
        cacheCreationTokens: 0,
      };
      totals[counter] = Number(value) || 0;
      out.set(provider, totals);
    }
    return out;
  }
}
