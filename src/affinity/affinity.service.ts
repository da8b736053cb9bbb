import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type Redis from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { createHash } from 'node:crypto';
import { withTimeout } from '../common/with-timeout';
import type { SwitchyardConfig } from '../config/config.schema';
import { AppConfigService } from '../config/config.service';
import { DegradedModeService } from '../redis/degraded-mode.service';
import { RedisService } from '../redis/redis.service';
import type { AffinityMode, AffinitySnapshot, CacheUsage, PinChange, PinDecision } from './affinity.types';
import { LocalAffinityStore } from './local-affinity.store';
import { RedisAffinityStore } from './redis-affinity.store';
import {
  addUsage,
  ProviderUsageCounters,
  providerOf,
  usageDelta,
  usageViews,
  type UsageTotals,
} from './usage-counters';

/** Sessions in the local LRU (each a handful of routed targets: well under 10 MB in all). */
export const LOCAL_MAX_SESSIONS = 20_000;
/** Routed targets one session may pin (Router slots, explicit picks); the same cap in Redis and locally. */
export const MAX_ROUTES_PER_SESSION = 32;
/**
 * Answers' usage is added to the cluster totals in batches at most this far apart: one pipeline per batch
 * instead of three commands per answer. `/api/affinity` flushes before it reads, so it never lags.
 */
export const USAGE_FLUSH_MS = 250;

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/**
 * Session affinity (docs/affinity.md): a Claude Code session's requests for one routed target are tried
 * first on the target that last served them well, so the provider's prompt cache stays warm. The pin map
 * lives in Redis (one hash per session, TTL `Affinity.ttlSec`, shared by every instance) and in a local
 * LRU used when Redis is unconfigured, down or slow. No request ever waits on Redis longer than
 * `Redis.commandTimeoutMs`, and nothing here throws into the request path.
 */
@Injectable()
export class AffinityService implements OnModuleDestroy {
  private readonly local: LocalAffinityStore;
  private readonly remote: RedisAffinityStore;
  private readonly usage = new ProviderUsageCounters();
  /** Usage not yet added to the cluster totals, per provider (bounded like `usage`: by MAX_PROVIDERS). */
  private pendingUsage = new Map<string, UsageTotals>();
  private usageTimer?: NodeJS.Timeout;
  private readonly decisions: Record<PinChange | 'full', number> = {
    pinned: 0,
    kept: 0,
    strike: 0,
    moved: 0,
    full: 0,
  };
  private strikesWithoutFailover = 0;
  private redisErrors = 0;
  private lastRedisError?: string;
  private appliedTtlSec: number;

  constructor(
    private readonly config: AppConfigService,
    private readonly redis: RedisService,
    private readonly degraded: DegradedModeService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('affinity');
    const s = config.get('Affinity');
    this.appliedTtlSec = s.ttlSec;
    this.local = new LocalAffinityStore({
      maxSessions: LOCAL_MAX_SESSIONS,
      ttlMs: s.ttlSec * 1000,
      maxRoutes: MAX_ROUTES_PER_SESSION,
    });
    this.remote = new RedisAffinityStore(s.ttlSec, MAX_ROUTES_PER_SESSION);
  }

  /** Read per use, so a config reload applies to the next request; a new TTL applies from the next write. */
  private get settings(): SwitchyardConfig['Affinity'] {
    const s = this.config.get('Affinity');
    if (s.ttlSec !== this.appliedTtlSec) {
      this.appliedTtlSec = s.ttlSec;
      this.local.setTtl(s.ttlSec * 1000);
      this.remote.setTtl(s.ttlSec);
    }
    return s;
  }

  private get enabled(): boolean {
    return this.settings.enabled;
  }

  private get ttlSec(): number {
    return this.settings.ttlSec;
  }

  private get moveAfter(): number {
    return this.settings.moveAfter;
  }

  get mode(): AffinityMode {
    if (!this.enabled) {
      return 'disabled';
    }
    return this.degraded.isDistributed('affinity') ? 'redis' : 'local';
  }

  /**
   * The target the session's requests for `routedTarget` should try first, or undefined (no session,
   * disabled, nothing pinned). It may equal `routedTarget`; admission is the caller's business.
   */
  async preferred(sessionId: string | undefined, routedTarget: string): Promise<string | undefined> {
    if (!this.enabled || !sessionId || !routedTarget) {
      return undefined;
    }
    const session = sha256(sessionId);
    const client = this.client();
    if (client) {
      try {
        const state = await withTimeout(
          this.remote.read(client, this.sessionKey(session), routedTarget),
          this.redis.commandTimeoutMs,
          'affinity read',
        );
        if (state) {
          this.local.put(session, routedTarget, state);
        } else {
          this.local.forget(session, routedTarget);
        }
        return state?.pin;
      } catch (err) {
        this.redisFailed(err);
      }
    }
    return this.local.get(session, routedTarget)?.pin;
  }

  /**
   * Fire-and-forget, after an answer's first event: `served` answered the session's request routed to
   * `routedTarget`; `failedOver` says whether earlier targets of its chain failed or were skipped.
   */
  record(sessionId: string | undefined, routedTarget: string, served: string, failedOver: boolean): void {
    void this.recordNow(sessionId, routedTarget, served, failedOver);
  }

  /** record() that can be awaited (tests, tools): the decision taken, or undefined when nothing was done. */
  async recordNow(
    sessionId: string | undefined,
    routedTarget: string,
    served: string,
    failedOver: boolean,
  ): Promise<PinDecision | undefined> {
    if (!this.enabled || !sessionId || !routedTarget || !served) {
      return undefined;
    }
    try {
      const session = sha256(sessionId);
      const decision = await this.apply(session, routedTarget, served);
      this.count(decision, routedTarget, served, failedOver);
      return decision;
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'affinity record failed');
      return undefined;
    }
  }

  /**
   * Counts an upstream answer's prompt tokens for its provider. `cached` (a gateway cache hit) is ignored:
   * no upstream call happened, so no provider cache was read or written.
   */
  recordUsage(target: string, usage: CacheUsage, cached: boolean): void {
    if (cached || !target) {
      return;
    }
    const provider = providerOf(target);
    const delta = usageDelta(usage ?? {});
    if (!this.usage.add(provider, delta)) {
      return;
    }
    if (this.client()) {
      const pending = this.pendingUsage.get(provider);
      if (pending) {
        addUsage(pending, delta);
      } else {
        this.pendingUsage.set(provider, delta);
      }
      this.usageTimer ??= setTimeout(() => void this.flushUsage(), USAGE_FLUSH_MS).unref();
    }
  }

  /** Adds the pending usage to the cluster totals (one pipeline); never throws. A failed batch is dropped. */
  async flushUsage(): Promise<void> {
    clearTimeout(this.usageTimer);
    this.usageTimer = undefined;
    if (this.pendingUsage.size === 0) {
      return;
    }
    const batch = this.pendingUsage;
    this.pendingUsage = new Map();
    const client = this.client();
    if (!client) {
      return;
    }
    try {
      await withTimeout(
        this.remote.addUsage(client, this.usageKey(), batch),
        this.redis.commandTimeoutMs,
        'affinity usage',
      );
    } catch (err) {
      this.redisFailed(err);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.flushUsage();
  }

  /** GET /api/affinity. */
  async snapshot(): Promise<AffinitySnapshot> {
    let cluster: AffinitySnapshot['cluster'] = null;
    await this.flushUsage();
    const client = this.client();
    if (client) {
      try {
        const totals = await withTimeout(
          this.remote.readUsage(client, this.usageKey()),
          this.redis.commandTimeoutMs,
          'affinity usage read',
        );
        cluster = { providers: usageViews(totals.entries()) };
      } catch (err) {
        this.redisFailed(err);
      }
    }
    return {
      enabled: this.enabled,
      mode: this.mode,
      sessionsLocal: this.local.size,
      ttlSec: this.ttlSec,
      moveAfter: this.moveAfter,
      providers: this.usage.view(),
      cluster,
      decisions: { ...this.decisions },
      strikesWithoutFailover: this.strikesWithoutFailover,
      redisErrors: this.redisErrors,
    };
  }

  private async apply(session: string, routed: string, served: string): Promise<PinDecision | undefined> {
    const client = this.client();
    if (client) {
      try {
        const decision = await withTimeout(
          this.remote.record(client, this.sessionKey(session), routed, served, this.moveAfter),
          this.redis.commandTimeoutMs,
          'affinity record',
        );
        if (decision) {
          this.local.put(session, routed, decision.state);
        }
        return decision;
      } catch (err) {
        // The script may still have run; the local mirror then lags one answer behind, which is harmless.
        this.redisFailed(err);
      }
    }
    return this.local.record(session, routed, served, this.moveAfter);
  }

  private count(
    decision: PinDecision | undefined,
    routed: string,
    served: string,
    failedOver: boolean,
  ): void {
    if (!decision) {
      this.decisions.full += 1;
      return;
    }
    this.decisions[decision.change] += 1;
    if (decision.change === 'strike' && !failedOver) {
      this.strikesWithoutFailover += 1;
    }
    if (decision.change === 'moved') {
      this.logger.info({ routed, to: served, moveAfter: this.moveAfter, failedOver }, 'affinity moved');
    }
  }

  private client(): Redis | undefined {
    return this.enabled && this.degraded.isDistributed('affinity') ? this.redis.available : undefined;
  }

  private sessionKey(sessionHash: string): string {
    return this.redis.key('affinity', 1, sessionHash);
  }

  private usageKey(): string {
    return this.redis.key('affinity', 1, 'usage');
  }

  private redisFailed(err: unknown): void {
    this.redisErrors += 1;
    const message = (err as Error)?.message ?? String(err);
    // A dead Redis fails every call the same way: log changes only.
    if (message !== this.lastRedisError) {
      this.lastRedisError = message;
      this.logger.warn({ err: message }, 'affinity: Redis call failed, using the local form');
    }
  }
}
