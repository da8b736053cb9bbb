import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { AppConfigService } from '../config/config.service';
import { DegradedModeService } from '../redis/degraded-mode.service';
import { RedisService } from '../redis/redis.service';

/**
 * Redis readiness. Redis is optional: when it is configured but down the gateway keeps serving from its
 * in-memory forms, so the indicator stays up with `mode: degraded` unless `Redis.required` is set. The
 * per-subsystem modes (`subsystems: {cache: 'local', …}`) say which forms are actually in use.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly redis: RedisService,
    private readonly degraded: DegradedModeService,
    private readonly config: AppConfigService,
  ) {}

  async check(timeoutMs: number): Promise<HealthIndicatorResult<'redis'>> {
    const indicator = this.health.check('redis');
    if (this.redis.mode === 'disabled') {
      return indicator.up({ mode: 'disabled', subsystems: this.degraded.modes() });
    }
    try {
      const latencyMs = await this.redis.ping(timeoutMs);
      return indicator.up({ mode: 'redis', latencyMs, subsystems: this.degraded.modes() });
    } catch (err) {
      const details = {
        mode: 'degraded',
        error: this.redis.error ?? (err as Error).message,
        subsystems: this.degraded.modes(),
      };
      return this.config.get('Redis').required ? indicator.down(details) : indicator.up(details);
    }
  }
}
