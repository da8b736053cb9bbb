import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { DegradedModeService } from '../redis/degraded-mode.service';
import { RedisService } from '../redis/redis.service';
import type { DedupJoin, DedupRole, DedupSettings, DedupStats, LeaderCall } from './dedup.types';
import type { Subscriber } from './subscriber';
import { Flight } from './flight';
import { ReaderPool } from './reader-pool';
import { dedupKeys, hashKey } from './redis-keys';

/** Cross-instance followers (flights, not requests) that can block on Redis at once in this process. */
const MAX_READERS = 64;

/**
 * In-flight coalescing (ARCHITECTURE.md §1, docs/dedup.md). Identical requests in flight at the same time
 * share one upstream call: in this process through a map of shared event logs, across processes through a
 * Redis lock and a Redis stream of the leader's events. Redis is optional: without it, or when it fails,
 * coalescing is local and nothing ever errors because of Redis.
 */
@Injectable()
export class DedupService implements OnApplicationShutdown {
  private readonly flights = new Map<string, Flight>();
  private readonly live = new Set<Flight>();
  private readonly counters = {
    leaders: 0,
    followers: 0,
    crossInstanceFollowers: 0,
    detachedSlow: 0,
    takeovers: 0,
  };
  private readonly instanceId = randomUUID();
  private readonly pool: ReaderPool;

  constructor(
    private readonly config: AppConfigService,
    private readonly redis: RedisService,
    degraded: DegradedModeService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('dedup');
    if (!config.get('Dedup').crossInstance) {
      degraded.pinLocal('dedup'); // so /health/ready reports dedup as local even with Redis up
    }
    this.pool = new ReaderPool(() => this.redis.available, MAX_READERS);
  }

  /**
   * Coalesce identical in-flight requests (same cache key). The first caller becomes the leader and its
   * `leaderCall` runs the upstream call ONCE; every other caller (same process, or another gateway
   * process sharing Redis) becomes a follower. Every subscriber gets the complete event sequence from the
   * start (a late joiner replays the log, then follows live). Resolves once the leader's upstream call has
   * produced its first event; if the leader's call fails before that, every join() rejects with that same
   * error. `subscriber` aborting detaches this caller; the upstream call is cancelled only when the last
   * subscriber has left.
   */
  async join(key: string, leaderCall: LeaderCall, subscriber: AbortSignal): Promise<DedupJoin> {
    subscriber.throwIfAborted();
    const settings = this.config.get('Dedup');
    if (!settings.enabled) {
      return this.solo(settings, leaderCall, subscriber);
    }
    const existing = this.flights.get(key);
    if (existing?.log.joinable) {
      const sub = existing.log.subscribe(leaderCall, subscriber);
      return this.attach(existing, sub, subscriber, settings, leaderCall);
    }
    const flight = this.createFlight(settings, key);
    this.flights.set(key, flight);
    const sub = flight.start(leaderCall, subscriber);
    return this.attach(flight, sub, subscriber, settings, leaderCall);
  }

  stats(): DedupStats {
    return { ...this.counters, inFlight: this.flights.size };
  }

  async onApplicationShutdown(): Promise<void> {
    for (const flight of this.live) {
      flight.cancel(new Error('the gateway is shutting down'));
    }
    await this.pool.close();
  }

  /** An unshared call (coalescing disabled, or a follower that stopped waiting for a local leader). */
  private solo(settings: DedupSettings, leaderCall: LeaderCall, subscriber: AbortSignal): Promise<DedupJoin> {
    const flight = this.createFlight(settings);
    const sub = flight.start(leaderCall, subscriber);
    return this.attach(flight, sub, subscriber, settings, leaderCall, false);
  }

  private createFlight(settings: DedupSettings, key?: string): Flight {
    const crossInstance = key !== undefined && settings.crossInstance && this.redis.mode !== 'disabled';
    const flight: Flight = new Flight(
      {
        settings,
        keys: crossInstance ? dedupKeys(this.redis.key('dedup', 1, hashKey(key))) : undefined,
        redis: () => this.redis.available,
        pool: this.pool,
        instanceId: this.instanceId,
        readerSlackMs: Math.max(this.redis.commandTimeoutMs * 4, 1000),
        logger: this.logger,
        onTakeover: () => this.counters.takeovers++,
        onSlow: () => this.counters.detachedSlow++,
        onRetire: () => {
          // Complete, failed, abandoned or over the cap: later identical requests start afresh.
          if (key !== undefined && this.flights.get(key) === flight) {
            this.flights.delete(key);
          }
        },
        onSettled: () => this.live.delete(flight),
      },
      key !== undefined,
    );
    this.live.add(flight);
    return flight;
  }

  /** Waits for the first event (or the failure before it), bounded by Dedup.maxWaitMs for followers. */
  private attach(
    flight: Flight,
    sub: Subscriber,
    signal: AbortSignal,
    settings: DedupSettings,
    leaderCall: LeaderCall,
    mayGiveUp = true,
  ): Promise<DedupJoin> {
    return new Promise<DedupJoin>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const cleanup = (): void => {
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (mayGiveUp) {
        timer = setTimeout(() => {
          if (flight.isCaller(sub)) {
            return; // the slow call is ours: the gateway's deadlines apply, not this one
          }
          if (!flight.callingLocally) {
            flight.preferOwnCall(); // the leader is elsewhere (or still being elected): stop waiting for it
            return;
          }
          if (flight.log.size === 1) {
            return; // the local call's own requester left: it now serves only us, so it is ours
          }
          cleanup();
          flight.log.leave(sub);
          this.logger.info({ maxWaitMs: settings.maxWaitMs }, 'dedup: leader too slow; making our own call');
          resolve(this.solo(settings, leaderCall, signal));
        }, settings.maxWaitMs);
      }
      flight.log.started.then(
        () => {
          if (!settled) {
            cleanup();
            resolve({ role: this.count(flight, sub), events: sub });
          }
        },
        (err: Error) => {
          if (!settled) {
            cleanup();
            reject(err);
          }
        },
      );
    });
  }

  private count(flight: Flight, sub: Subscriber): DedupRole {
    if (flight.isCaller(sub)) {
      this.counters.leaders++;
      return 'leader';
    }
    this.counters.followers++;
    if (flight.followingRemote) {
      this.counters.crossInstanceFollowers++;
    }
    return 'follower';
  }
}
