import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfigService } from '../config/config.service';
import { RedisService } from './redis.service';

const BEAT_MS = 2000;
/** An instance that missed this many beats is no longer counted. */
const LIVE_MS = 3 * BEAT_MS;

/**
 * Who else is running on this Redis: every instance beats into one sorted set, and the live count is what
 * local fallbacks divide cluster-wide limits by (`limit / N` while Redis is down, using the last count seen).
 */
@Injectable()
export class InstanceRegistryService implements OnModuleInit, OnApplicationShutdown {
  /** Unique per process start; used as the owner of leases, relay channels and waiters. */
  readonly id = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private timer?: NodeJS.Timeout;
  private live = 1;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfigService,
  ) {}

  onModuleInit(): void {
    if (!this.redis.configured) {
      return;
    }
    void this.beat();
    this.timer = setInterval(() => void this.beat(), BEAT_MS);
    this.timer.unref();
  }

  /** Instances seen alive on the shared Redis (this one included); the last known count while Redis is down. */
  get count(): number {
    return this.live;
  }

  get role(): 'api' | 'worker' | 'all' {
    return this.config.get('JobQueue').role;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    const client = this.redis.available;
    await client?.zrem(this.key, this.id).catch(() => undefined);
  }

  private get key(): string {
    return this.redis.key('instances', 1, 'all');
  }

  private async beat(): Promise<void> {
    const client = this.redis.available;
    if (!client) {
      return;
    }
    const now = Date.now();
    try {
      const replies = await client
        .multi()
        .zadd(this.key, now, this.id)
        .zremrangebyscore(this.key, '-inf', now - LIVE_MS)
        .zcard(this.key)
        .pexpire(this.key, LIVE_MS * 10)
        .exec();
      const card = Number(replies?.[2]?.[1] ?? 1);
      this.live = Math.max(1, card);
    } catch {
      // the last count stays; the next beat tries again
    }
  }
}
