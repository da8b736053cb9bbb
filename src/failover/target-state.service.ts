import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { LoopResponsiveness } from '../common/loop-responsiveness';
import { withTimeout } from '../common/with-timeout';
import { AppConfigService } from '../config/config.service';
import { RedisService } from '../redis/redis.service';
import {
  CircuitBreaker,
  PROBE_LEASE_MS,
  type Admission,
  type CircuitState,
  type Transition,
} from './circuit-breaker';

export type Gate = Admission | { admitted: false; until: number; reason: 'cooldown' };

export interface TargetStateView {
  state: CircuitState;
  openUntil: number | null;
  level: number;
  cooldownUntil: number | null;
  window: { requests: number; failures: number; consecutive: number };
}

/** A remote view younger than this is used as is: Redis is read at most a few times a second per target. */
const REFRESH_MS = 250;
/** Targets come from configuration; the caps only bound a config that keeps changing. */
const MAX_TARGETS = 1_000;
const CLOSED_TTL_MS = 10 * 60_000;

/** Below this share of its timer ticks in the slow-call window, the event loop was too busy to judge. */
const MIN_LOOP_SHARE = 0.5;

/**
 * Circuit breakers and retry-after cooldowns per target, shared across instances through Redis when it is
 * up: a hash per breaker (open-until, level, changed-at; newest transition wins), a key per cooldown (PX =
 * the cooldown) and a NX lock so only one instance sends the half-open probe. Trip decisions are made
 * from each instance's own window; every Redis call is bounded by the command timeout and failures fall
 * back to the local state.
 */
@Injectable()
export class TargetStateService implements OnModuleDestroy {
  private readonly breakers = new Map<string, CircuitBreaker>();
  /** Whether this process kept up while the slow calls waited (see tripIfSlow). */
  private readonly loop = new LoopResponsiveness();
  private readonly cooldowns = new Map<string, number>();
  private readonly refreshedAt = new Map<string, number>();

  constructor(
    private readonly config: AppConfigService,
    private readonly redis: RedisService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('failover');
    this.loop.start();
  }

  onModuleDestroy(): void {
    this.loop.stop();
  }

  /** Pulls the shared state of the given targets (one pipeline, only those not refreshed recently). */
  async refresh(targets: string[], now = Date.now()): Promise<void> {
    const client = this.redis.available;
    const stale = targets.filter((t) => now - (this.refreshedAt.get(t) ?? 0) >= REFRESH_MS);
    if (!client || stale.length === 0) {
      return;
    }
    for (const t of stale) {
      this.touch(this.refreshedAt, t, now);
    }
    try {
      const pipe = client.pipeline();
      for (const t of stale) {
        pipe.hgetall(this.breakerKey(t));
        pipe.get(this.cooldownKey(t));
      }
      const results = (await this.bounded(pipe.exec(), 'breaker refresh')) ?? [];
      stale.forEach((t, i) => {
        const [hashErr, hash] = results[i * 2] ?? [];
        const [coolErr, cool] = results[i * 2 + 1] ?? [];
        const h = hash as Record<string, string> | null;
        if (!hashErr && h && h.changedAt) {
          this.breaker(t).adopt({
            openUntil: Number(h.openUntil) || 0,
            level: Number(h.level) || 0,
            changedAt: Number(h.changedAt),
          });
        }
        const until = Number(cool);
        if (!coolErr && until > (this.cooldowns.get(t) ?? 0)) {
          this.touch(this.cooldowns, t, until);
        }
      });
    } catch (err) {
      this.logger.debug(
        { err: (err as Error).message },
        'shared breaker state unavailable; local state used',
      );
    }
  }

  /** Cooldown first, then the breaker; a half-open probe also takes the cross-instance probe lock. */
  async admit(target: string, now = Date.now()): Promise<Gate> {
    const cooling = this.cooldownUntil(target, now);
    if (cooling !== undefined) {
      return { admitted: false, until: cooling, reason: 'cooldown' };
    }
    const breaker = this.breaker(target);
    const gate = breaker.admit(now);
    if (!gate.admitted || !gate.probe) {
      return gate;
    }
    const client = this.redis.available;
    if (!client) {
      return gate;
    }
    try {
      const got = await this.bounded(
        client.set(this.probeKey(target), String(process.pid), 'PX', PROBE_LEASE_MS, 'NX'),
        'probe lock',
      );
      // Another instance is probing: stay busy locally (its verdict arrives through refresh).
      return got === 'OK' ? gate : { admitted: false, until: now + 1000, reason: 'half_open_busy' };
    } catch {
      return gate;
    }
  }

  async recordSuccess(target: string, probe: boolean, now = Date.now()): Promise<Transition> {
    return this.after(target, probe, this.breaker(target).onSuccess(now, probe), now);
  }

  async recordFailure(target: string, probe: boolean, now = Date.now()): Promise<Transition> {
    return this.after(target, probe, this.breaker(target).onFailure(now, probe), now);
  }

  /** An attempt went out to `target`: until it settles it counts toward the slow-call trip. */
  attemptStarted(target: string, now = Date.now()): number {
    return this.breaker(target).attemptStarted(now);
  }

  /** The attempt produced its first event (`answered`) or ended without one. */
  attemptSettled(target: string, token: number, answered: boolean, now = Date.now()): void {
    this.breakers.get(target)?.attemptSettled(token, answered, now);
  }

  /**
   * The slow-call trip (`Failover.breaker.slowCalls`): opens the target's breaker when enough attempts
   * have waited `slowMs()` for a first byte with no answer from it meanwhile; published like any trip.
   * `slowMs` is only asked when enough attempts are waiting at all.
   */
  async tripIfSlow(target: string, slowMs: () => number | undefined, now = Date.now()): Promise<Transition> {
    const sc = this.config.get('Failover').breaker.slowCalls;
    const b = this.breakers.get(target);
    // Cheap checks first (every admission asks): no trip is possible before the oldest waiter passed minMs.
    if (!sc.enabled || !b || b.waitingCount < sc.minCalls || b.oldestWaitMs(now) < sc.minMs) {
      return undefined;
    }
    const ms = slowMs();
    // A saturated gateway leaves answers unread in the socket: then every attempt looks slow, and the
    // provider must not be blamed for it (a 1,000-request burst would otherwise open every breaker).
    if (ms === undefined || this.loop.share(ms) < MIN_LOOP_SHARE) {
      return undefined;
    }
    const t = b.tripIfSlow(now, ms, sc.minCalls);
    return t ? this.after(target, false, t, now) : undefined;
  }

  /** The attempt ended without a verdict; frees the half-open slot. */
  releaseProbe(target: string): void {
    this.breaker(target).releaseProbe();
    this.redis.available?.del(this.probeKey(target)).catch(() => undefined);
  }

  async coolDown(target: string, ms: number, now = Date.now()): Promise<number> {
    const until = now + Math.max(0, Math.round(ms));
    if (until <= (this.cooldowns.get(target) ?? 0)) {
      return this.cooldowns.get(target) as number;
    }
    this.touch(this.cooldowns, target, until);
    const client = this.redis.available;
    if (client && ms >= 1) {
      await this.bounded(
        client.set(this.cooldownKey(target), String(until), 'PX', Math.round(ms)),
        'cooldown',
      ).catch(() => undefined);
    }
    return until;
  }

  cooldownUntil(target: string, now = Date.now()): number | undefined {
    const until = this.cooldowns.get(target);
    if (until === undefined) {
      return undefined;
    }
    if (until <= now) {
      this.cooldowns.delete(target);
      return undefined;
    }
    return until;
  }

  view(target: string, now = Date.now()): TargetStateView {
    const b = this.breaker(target);
    const shared = b.snapshot();
    return {
      state: b.state(now),
      openUntil: shared.openUntil || null,
      level: shared.level,
      cooldownUntil: this.cooldownUntil(target, now) ?? null,
      window: b.counts(now),
    };
  }

  known(): string[] {
    return [...this.breakers.keys()];
  }

  /**
   * Starts targets over (a reload changed their provider's endpoint or key): circuits and cooldowns, here
   * and the shared ones, were about the old upstream. Best effort on Redis.
   */
  forget(targets: string[]): void {
    for (const t of targets) {
      this.breakers.delete(t);
      this.cooldowns.delete(t);
      this.refreshedAt.delete(t);
    }
    const client = this.redis.available;
    if (client && targets.length > 0) {
      // One key per command: the keys of a target live in different Redis Cluster slots.
      const keys = targets.flatMap((t) => [this.breakerKey(t), this.cooldownKey(t), this.probeKey(t)]);
      this.bounded(Promise.all(keys.map((k) => client.del(k))), 'breaker reset').catch(() => undefined);
    }
  }

  breaker(target: string): CircuitBreaker {
    const settings = this.config.get('Failover').breaker;
    let b = this.breakers.get(target);
    if (!b) {
      b = new CircuitBreaker(settings);
      this.touch(this.breakers, target, b);
    } else {
      b.configure(settings); // follows config reloads
    }
    return b;
  }

  /** Publishes a transition (bounded wait: the next attempt may be on another instance a moment later). */
  private async after(
    target: string,
    probe: boolean,
    transition: Transition,
    now: number,
  ): Promise<Transition> {
    const client = this.redis.available;
    if (transition && client) {
      const s = this.breaker(target).snapshot();
      const ttl = s.openUntil
        ? s.openUntil - now + this.config.get('Failover').breaker.maxOpenMs
        : CLOSED_TTL_MS;
      const multi = client
        .multi()
        .hset(this.breakerKey(target), { openUntil: s.openUntil, level: s.level, changedAt: s.changedAt });
      multi.pexpire(this.breakerKey(target), Math.max(1000, ttl));
      if (probe) {
        multi.del(this.probeKey(target));
      }
      await this.bounded(multi.exec(), 'breaker publish').catch((err: Error) =>
        this.logger.debug({ err: err.message, target }, 'breaker transition not shared'),
      );
    } else if (probe && !transition) {
      this.releaseProbe(target);
    }
    return transition;
  }

  private bounded<T>(p: Promise<T>, what: string): Promise<T> {
    return withTimeout(p, this.config.get('Redis').commandTimeoutMs, what);
  }

  private touch<V>(map: Map<string, V>, key: string, value: V): void {
    if (!map.has(key) && map.size >= MAX_TARGETS) {
      map.delete(map.keys().next().value as string);
    }
    map.set(key, value);
  }

  private key(area: string, target: string): string {
    return `${this.config.get('Redis').keyPrefix}${area}:v1:${target}`;
  }

  private breakerKey(target: string): string {
    return this.key('breaker', target);
  }

  private probeKey(target: string): string {
    return `${this.key('breaker', target)}:probe`;
  }

  private cooldownKey(target: string): string {
    return this.key('cooldown', target);
  }
}
