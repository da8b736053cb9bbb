import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { withTimeout } from '../common/with-timeout';
import { AppConfigService } from '../config/config.service';
import { DegradedModeService } from '../redis/degraded-mode.service';
import { InstanceRegistryService } from '../redis/instance-registry.service';
import { RedisService, type RedisClient } from '../redis/redis.service';
import { PrioritySemaphore, WaitError, type WaitFailure } from './priority-semaphore';

export interface SlotLease {
  /** Idempotent. */
  release(): void;
}

export type SlotResult =
  | { ok: true; lease: SlotLease }
  /** No slot within the wait (or the client left): `until` is when trying again makes sense. */
  | { ok: false; reason: 'saturated' | 'aborted'; until: number };

const NO_LEASE: SlotLease = { release: () => undefined };
const FREE: SlotResult = { ok: true, lease: NO_LEASE };
/** Waiters re-check this often even without a release notification (lost message, other instance died). */
const POLL_MS = 200;
/** A waiter not seen for this long (its process died) no longer blocks the ones behind it. */
const STALE_WAITER_MS = 10 * POLL_MS;

/**
 * KEYS: holders, waiters, seen. ARGV: limit, leaseMs, id, rank (0 = most urgent), staleMs, keyTtlMs.
 * Waiters are ordered by (rank, arrival on Redis' clock); a slot goes to a waiter only while it is among
 * the first `free` of them, so the cluster serves waiters in priority order whatever instance they are on.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local staleBefore = now - tonumber(ARGV[5])
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', staleBefore)
for _, w in ipairs(stale) do redis.call('ZREM', KEYS[2], w) end
if #stale > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', staleBefore) end
if not redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  redis.call('ZADD', KEYS[2], string.format('%.0f', tonumber(ARGV[4]) * 1e12 + (now % 1e12)), ARGV[3])
end
local got = 0
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
if free > 0 and redis.call('ZRANK', KEYS[2], ARGV[3]) < free then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[3])
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  got = 1
else
  redis.call('ZADD', KEYS[3], now, ARGV[3])
end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
return got
`;

/** KEYS: holders, waiters, seen. ARGV: id, channel, provider. Frees a slot (or a waiter's place) and says so. */
const RELEASE = `
local held = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if held == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return held
`;

/** KEYS: holders. ARGV: leaseMs, ids… Extends the leases this process still holds. */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
return 1
`;

interface RemoteWaiter {
  id: string;
  rank: number;
  seq: number;
  grant: () => void;
  trying: boolean;
}

export interface SlotSnapshot {
  limit: number;
  heldHere: number;
  /** High-water mark of slots held by this instance since start. */
  maxHeldHere: number;
  waitingHere: number;
  mode: string;
}

interface ProviderState {
  /** High-water mark of `held` + local holders. */
  maxHeld: number;
  local: PrioritySemaphore;
  /** The configured limit `local` was last sized from (a config reload may change `providerConcurrency`). */
  limit: number;
  /** Waiting here for a cluster-wide slot, most urgent first. */
  waiters: RemoteWaiter[];
  /** Cluster leases held by this process (renewed until released). */
  held: Set<string>;
}

/**
 * Cluster-wide concurrent upstream calls per provider (`JobQueue.providerConcurrency`): a Redis semaphore
 * with a priority-ordered waiting line, leases that expire if their process dies, and pub/sub wake-ups on
 * release. A burst beyond a provider's capacity waits here, interactive first, instead of drawing 429s.
 * Without Redis each instance enforces limit / N (N = instances last seen). Providers without a limit cost
 * nothing.
 */
@Injectable()
export class ProviderSlotsService implements OnModuleInit, OnApplicationShutdown {
  private readonly providers = new Map<string, ProviderState>();
  private subscriber?: RedisClient;
  private poll?: NodeJS.Timeout;
  private renew?: NodeJS.Timeout;
  private seq = 0;
  private localDivisor = 1;

  constructor(
    private readonly config: AppConfigService,
    private readonly redis: RedisService,
    private readonly modes: DegradedModeService,
    private readonly instances: InstanceRegistryService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('slots');
  }

  onModuleInit(): void {
    const limits = this.config.get('JobQueue').providerConcurrency;
    if (Object.keys(limits).length === 0 || !this.redis.configured) {
      return;
    }
    const sub = this.redis.createDedicatedConnection('switchyard:slots-sub');
    this.subscriber = sub;
    sub.on('message', (_channel: string, provider: string) => this.pump(provider));
    sub.on('ready', () => void sub.subscribe(this.channel).catch(() => undefined));
    this.poll = setInterval(() => this.pumpAll(), POLL_MS);
    this.poll.unref();
    const leaseMs = this.config.get('JobQueue').slotLeaseMs;
    this.renew = setInterval(() => void this.renewLeases(), Math.max(100, Math.floor(leaseMs / 3)));
    this.renew.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.poll);
    clearInterval(this.renew);
    const client = this.redis.available;
    for (const [provider, st] of this.providers) {
      for (const id of st.held) {
        await this.releaseRemote(client, provider, id);
      }
    }
  }

  limitOf(provider: string): number | undefined {
    return this.config.get('JobQueue').providerConcurrency[provider];
  }

  /**
   * A slot for one upstream call to `provider`; `priority` is the request class' (higher first). Resolves
   * `saturated` when none came within `maxWaitMs`, `aborted` when the signal fired first.
   */
  acquire(provider: string, priority: number, signal: AbortSignal, maxWaitMs: number): Promise<SlotResult> {
    const limit = this.limitOf(provider);
    if (limit === undefined) {
      return Promise.resolve(FREE);
    }
    const st = this.state(provider, limit);
    if (this.modes.isDistributed('queue') && this.subscriber) {
      return this.acquireRemote(provider, st, limit, priority, signal, maxWaitMs);
    }
    return this.acquireLocal(st, limit, priority, signal, maxWaitMs);
  }

  /** What `/api/queue` shows per provider with a limit. */
  snapshot(): Record<string, SlotSnapshot> {
    const out: Record<string, SlotSnapshot> = {};
    for (const [provider, st] of this.providers) {
      out[provider] = {
        limit: this.limitOf(provider) ?? 0,
        heldHere: st.held.size + st.local.inUse,
        maxHeldHere: st.maxHeld,
        waitingHere: st.waiters.length + st.local.waiting,
        mode: this.modes.isDistributed('queue') ? 'redis' : 'local',
      };
    }
    return out;
  }

  private state(provider: string, limit: number): ProviderState {
    let st = this.providers.get(provider);
    if (!st) {
      st = { maxHeld: 0, local: new PrioritySemaphore(limit), limit, waiters: [], held: new Set() };
      this.providers.set(provider, st);
    }
    return st;
  }

  private async acquireLocal(
    st: ProviderState,
    limit: number,
    priority: number,
    signal: AbortSignal,
    maxWaitMs: number,
  ): Promise<SlotResult> {
    // Redis is configured but down: this instance's share of the cluster-wide limit.
    const divisor = this.redis.configured ? this.instances.count : 1;
    if (divisor !== this.localDivisor || st.local.inUse === 0 || st.limit !== limit) {
      this.localDivisor = divisor;
      st.limit = limit;
      st.local.setLimit(Math.max(1, Math.floor(limit / divisor)));
    }
    try {
      const release = await st.local.acquire(priority, signal, maxWaitMs);
      st.maxHeld = Math.max(st.maxHeld, st.held.size + st.local.inUse);
      return { ok: true, lease: { release } };
    } catch (why) {
      return this.failed(why instanceof WaitError ? why.why : 'timeout');
    }
  }

  private acquireRemote(
    provider: string,
    st: ProviderState,
    limit: number,
    priority: number,
    signal: AbortSignal,
    maxWaitMs: number,
  ): Promise<SlotResult> {
    if (signal.aborted) {
      return Promise.resolve(this.failed('aborted'));
    }
    const id = `${this.instances.id}:${(this.seq += 1)}`;
    return new Promise<SlotResult>((resolve) => {
      let settled = false;
      const finish = (result: SlotResult): void => {
        if (settled) {
          return;
        }
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const i = st.waiters.indexOf(waiter);
        if (i >= 0) {
          st.waiters.splice(i, 1);
        }
        resolve(result);
      };
      const giveUp = (why: WaitFailure): void => {
        if (settled) {
          return;
        }
        // Leave the line on Redis too (a slot granted in the meantime is released the same way).
        void this.releaseRemote(this.redis.available, provider, id);
        st.held.delete(id);
        finish(this.failed(why));
      };
      const waiter: RemoteWaiter = {
        id,
        rank: Math.max(0, 1000 - priority),
        seq: this.seq,
        trying: false,
        grant: () => {
          if (settled) {
            void this.releaseRemote(this.redis.available, provider, id);
            return;
          }
          st.held.add(id);
          st.maxHeld = Math.max(st.maxHeld, st.held.size + st.local.inUse);
          finish({ ok: true, lease: this.remoteLease(provider, st, id) });
        },
      };
      const onAbort = (): void => giveUp('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => giveUp('timeout'), maxWaitMs);
      this.insert(st.waiters, waiter);
      void this.tryRemote(provider, st, limit, waiter).catch(() => {
        // Redis failed under us: this request continues on the local form.
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          st.waiters.splice(st.waiters.indexOf(waiter), 1);
          void this.acquireLocal(st, limit, priority, signal, maxWaitMs).then(resolve);
        }
      });
    });
  }

  private insert(list: RemoteWaiter[], w: RemoteWaiter): void {
    let i = list.length;
    while (i > 0 && list[i - 1].rank > w.rank) {
      i -= 1;
    }
    list.splice(i, 0, w);
  }

  /** One Lua round trip for one waiter; true when it got its slot. Throws on Redis failure. */
  private async tryRemote(
    provider: string,
    st: ProviderState,
    limit: number,
    w: RemoteWaiter,
  ): Promise<boolean> {
    const client = this.redis.available;
    if (!client) {
      throw new Error('Redis unavailable');
    }
    if (w.trying) {
      return false;
    }
    w.trying = true;
    try {
      const [h, wt, s] = this.keys(provider);
      const jq = this.config.get('JobQueue');
      const got = await withTimeout(
        client.eval(
          ACQUIRE,
          3,
          h,
          wt,
          s,
          limit,
          jq.slotLeaseMs,
          w.id,
          w.rank,
          STALE_WAITER_MS,
          jq.slotLeaseMs * 4,
        ),
        this.redis.commandTimeoutMs,
        'slot acquire',
      );
      if (got === 1) {
        w.grant();
        return true;
      }
      return false;
    } finally {
      w.trying = false;
    }
  }

  /** A release somewhere in the cluster: the most urgent local waiters try, until one is refused. */
  private pump(provider: string): void {
    const st = this.providers.get(provider);
    const limit = this.limitOf(provider);
    if (!st || limit === undefined || st.waiters.length === 0) {
      return;
    }
    void (async () => {
      for (const w of [...st.waiters]) {
        try {
          if (!(await this.tryRemote(provider, st, limit, w))) {
            return;
          }
        } catch {
          return;
        }
      }
    })();
  }

  private pumpAll(): void {
    for (const [provider, st] of this.providers) {
      const limit = this.limitOf(provider);
      if (limit === undefined || st.waiters.length === 0 || !this.redis.available) {
        continue;
      }
      // Every waiter refreshes its place (else it is taken for dead); the head may be granted.
      for (const w of [...st.waiters]) {
        void this.tryRemote(provider, st, limit, w).catch(() => undefined);
      }
    }
  }

  private remoteLease(provider: string, st: ProviderState, id: string): SlotLease {
    let released = false;
    return {
      release: () => {
        if (released) {
          return;
        }
        released = true;
        st.held.delete(id);
        void this.releaseRemote(this.redis.available, provider, id);
      },
    };
  }

  private async releaseRemote(client: RedisClient | undefined, provider: string, id: string): Promise<void> {
    if (!client) {
      return; // the lease expires by itself
    }
    const [h, w, s] = this.keys(provider);
    try {
      await withTimeout(
        client.eval(RELEASE, 3, h, w, s, id, this.channel, provider),
        this.redis.commandTimeoutMs,
        'slot release',
      );
    } catch {
      // expires with its lease
    }
  }

  private async renewLeases(): Promise<void> {
    const client = this.redis.available;
    if (!client) {
      return;
    }
    const leaseMs = this.config.get('JobQueue').slotLeaseMs;
    for (const [provider, st] of this.providers) {
      if (st.held.size === 0) {
        continue;
      }
      try {
        await client.eval(RENEW, 1, this.keys(provider)[0], leaseMs, ...st.held);
      } catch (err) {
        this.logger.debug({ err: (err as Error).message, provider }, 'slot lease renewal failed');
      }
    }
  }

  private keys(provider: string): [string, string, string] {
    // One hash tag per provider: the three keys live in one Cluster slot (the scripts touch all three).
    const tag = `{${provider}}`;
    return [
      this.redis.key('slots', 1, `${tag}:holders`),
      this.redis.key('slots', 1, `${tag}:waiters`),
      this.redis.key('slots', 1, `${tag}:seen`),
    ];
  }

  private get channel(): string {
    return this.redis.key('slots', 1, 'released');
  }

  private failed(why: WaitFailure): SlotResult {
    return { ok: false, reason: why === 'aborted' ? 'aborted' : 'saturated', until: Date.now() + 1000 };
  }
}
