import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { withTimeout } from '../common/with-timeout';
import { DegradedModeService, type SubsystemMode } from '../redis/degraded-mode.service';
import { InstanceRegistryService } from '../redis/instance-registry.service';
import { RedisService } from '../redis/redis.service';
import { LocalGcra, appliedCost, type GcraBucket, type GcraMode, type GcraOutcome } from './gcra';
import { RedisScript } from './redis-script';

/**
 * The cluster-wide form of `gcraApply` (gcra.ts), one atomic round trip on Redis' clock.
 * KEYS: [gate], buckets… ARGV: mode ('check' | 'adjust'), gate flag ('1' ⇒ KEYS[1] holds an epoch-ms
 * "blocked until"), the caller's epoch ms (for the gate), then per bucket: interval ms, period ms, cost.
 * Returns {allowed, retryAfterMs, limitingIndex (-1: the gate), blocked until (gate only), remaining…}. Every key written has a TTL:
 * a bucket's key expires exactly when the bucket would be empty again.
 */
const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local first = 1
if ARGV[2] == '1' then
  local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
  local callerNow = tonumber(ARGV[3])
  if blocked > callerNow then
    return {0, math.ceil(blocked - callerNow), -1, blocked}
  end
  first = 2
end
local check = ARGV[1] == 'check'
local starts, nexts = {}, {}
local retry, limiting = 0, -1
for i = first, #KEYS do
  local a = 4 + (i - first) * 3
  local interval, tau, cost = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local nt = tat + cost * interval
  if check then
    local wait = nt - tau - now
    if wait > 0.001 and wait > retry then
      retry = wait
      limiting = i - first
    end
  else
    if nt < now then nt = now end
    if nt > now + 2 * tau then nt = now + 2 * tau end
  end
  starts[i] = tat
  nexts[i] = nt
end
local out
if limiting >= 0 then
  out = {0, math.ceil(retry), limiting, 0}
else
  out = {1, 0, -1, 0}
  for i = first, #KEYS do
    local ttl = math.ceil(nexts[i] - now)
    if ttl > 0 then
      redis.call('SET', KEYS[i], string.format('%.3f', nexts[i]), 'PX', ttl)
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
for i = first, #KEYS do
  local a = 4 + (i - first) * 3
  local interval, tau = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local basis = nexts[i]
  if limiting >= 0 then basis = starts[i] end
  local rem = math.floor((tau - (basis - now) + 0.001) / interval)
  if rem < 0 then rem = 0 end
  out[#out + 1] = rem
end
return out
`;

/** KEYS: a "blocked until" key. ARGV: epoch ms, ttl ms. Only ever moves the time later. */
const BLOCK_SCRIPT = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/** Local buckets kept at most (clients × 2 + providers × 2); beyond it the least recent start over. */
const MAX_LOCAL_BUCKETS = 20_000;

export interface LimiterResult extends GcraOutcome {
  /** Denied by the gate ("blocked until") rather than by a bucket. */
  gated: boolean;
  /** When gated: the epoch ms the gate holds. */
  blockedUntil?: number;
  via: 'redis' | 'local';
}

const FREE: LimiterResult = {
  allowed: true,
  retryAfterMs: 0,
  limitingIndex: -1,
  remaining: [],
  applied: [],
  gated: false,
  via: 'local',
};

/**
 * Runs GCRA buckets where the `ratelimit` subsystem lives right now: in Redis (one Lua call, shared by every
 * instance), else in process at limit / N, N = the instances last seen alive (1 without Redis configured).
 * A Redis error or timeout drops that one call to the local form; no request ever waits on Redis longer
 * than `Redis.commandTimeoutMs`.
 */
@Injectable()
export class GcraLimiterService {
  private readonly local = new LocalGcra(MAX_LOCAL_BUCKETS);
  private readonly gcra = new RedisScript(GCRA_SCRIPT, 'rate limit');
  private readonly block = new RedisScript(BLOCK_SCRIPT, 'rate limit block');
  private lastError?: string;

  constructor(
    private readonly redis: RedisService,
    private readonly modes: DegradedModeService,
    private readonly instances: InstanceRegistryService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('ratelimit');
  }

  get mode(): SubsystemMode {
    return this.modes.mode('ratelimit');
  }

  /** Instances seen alive on the shared Redis (the last count while it is down). */
  get instanceCount(): number {
    return this.instances.count;
  }

  /** What each local limit is divided by while Redis is down (1 when it is not configured at all). */
  get localDivisor(): number {
    return this.redis.configured ? Math.max(1, this.instances.count) : 1;
  }

  /**
   * One call against `buckets` (each with limit > 0). With `gateKey` (Redis only), a stored "blocked until"
   * denies the call first; the local form of the gate is the caller's own.
   */
  async apply(buckets: GcraBucket[], mode: GcraMode, gateKey?: string): Promise<LimiterResult> {
    if (buckets.length === 0 && gateKey === undefined) {
      return FREE;
    }
    const client = this.modes.isDistributed('ratelimit') ? this.redis.available : undefined;
    if (client) {
      try {
        return await this.remote(client, buckets, mode, gateKey);
      } catch (err) {
        this.noteFailure(err);
      }
    }
    return this.applyLocal(buckets, mode);
  }

  /** Shares "blocked until `until`" (epoch ms) under `key`, if Redis is up; never shortens a longer block. */
  async blockUntil(key: string, until: number): Promise<void> {
    const client = this.modes.isDistributed('ratelimit') ? this.redis.available : undefined;
    const ttl = Math.ceil(until - Date.now());
    if (!client || ttl <= 0) {
      return;
    }
    try {
      await this.block.run(
        client,
        [this.redisKey(key)],
        [Math.ceil(until), ttl],
        this.redis.commandTimeoutMs,
      );
    } catch (err) {
      this.noteFailure(err);
    }
  }

  /** The shared "blocked until" under `key`, or 0 (also when Redis is not usable). */
  async blockedUntil(key: string): Promise<number> {
    const client = this.modes.isDistributed('ratelimit') ? this.redis.available : undefined;
    if (!client) {
      return 0;
    }
    try {
      const raw = await withTimeout(
        client.get(this.redisKey(key)),
        this.redis.commandTimeoutMs,
        'rate limit read',
      );
      return Number(raw ?? 0) || 0;
    } catch {
      return 0;
    }
  }

  private applyLocal(buckets: GcraBucket[], mode: GcraMode): LimiterResult {
    const n = this.localDivisor;
    const share = n === 1 ? buckets : buckets.map((b) => ({ ...b, limit: Math.max(1, b.limit / n) }));
    return { ...this.local.apply(share, Date.now(), mode), gated: false, via: 'local' };
  }

  private async remote(
    client: NonNullable<RedisService['available']>,
    buckets: GcraBucket[],
    mode: GcraMode,
    gateKey: string | undefined,
  ): Promise<LimiterResult> {
    const keys = buckets.map((b) => this.redisKey(b.key));
    const args: (string | number)[] = [mode, gateKey === undefined ? '0' : '1', Date.now()];
    for (const b of buckets) {
      args.push(b.periodMs / b.limit, b.periodMs, appliedCost(b, mode));
    }
    if (gateKey !== undefined) {
      keys.unshift(this.redisKey(gateKey));
    }
    const reply = (await this.gcra.run(client, keys, args, this.redis.commandTimeoutMs)) as number[];
    if (this.lastError) {
      this.lastError = undefined;
      this.logger.info('rate limits back on Redis');
    }
    const allowed = reply[0] === 1;
    const gated = !allowed && Number(reply[2]) < 0;
    return {
      allowed,
      retryAfterMs: Number(reply[1]),
      limitingIndex: Number(reply[2]),
      remaining: gated ? buckets.map(() => 0) : reply.slice(4).map(Number),
      applied: allowed ? buckets.map((b) => appliedCost(b, mode)) : buckets.map(() => 0),
      gated,
      blockedUntil: gated ? Number(reply[3]) : undefined,
      via: 'redis',
    };
  }

  private redisKey(key: string): string {
    return this.redis.key('ratelimit', 1, key);
  }

  private noteFailure(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (this.lastError !== message) {
      this.lastError = message;
      this.logger.warn({ err: message }, 'rate limit on Redis failed: this call used the local limit');
    }
  }
}
