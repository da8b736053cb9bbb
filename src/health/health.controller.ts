import { Controller, Get, Optional, Res } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator';
import { AppConfigService } from '../config/config.service';
import { HistoryService } from '../history/history.service';
import { ProviderHealthIndicator } from './provider.health';
import { RedisHealthIndicator } from './redis.health';

const PROBE_TIMEOUT_MS = 1000;

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisHealthIndicator,
    private readonly providers: ProviderHealthIndicator,
    private readonly config: AppConfigService,
    @Optional() private readonly history?: HistoryService,
  ) {}

  /** Liveness: the process and its event loop answer; nothing external is checked. */
  @Get('live')
  live(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(reply, [
      () =>
        this.indicators
          .check('process')
          .up({ uptimeSeconds: Math.round(process.uptime()), pid: process.pid }),
    ]);
  }

  /**
   * Readiness: configuration loaded, the state of every dependency (Redis optional ⇒ degraded), and
   * providers: the `default` Router slot has at least one healthy target (other slots without one are
   * reported as `degradedSlots`).
   */
  @Get('ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    const meta = this.config.meta;
    return this.run(reply, [
      () =>
        this.indicators.check('config').up({
          sources: meta.sources.length,
          userFile: meta.userFile ?? null,
          providers: meta.config.Providers.length,
        }),
      () => this.redis.check(PROBE_TIMEOUT_MS),
      // From health scores (probes + live traffic): no upstream call on the readiness path.
      () => this.providers.check(),
      // Non-fatal: a failing request history is reported, never a reason to stop taking traffic.
      ...(this.history ? [() => this.indicators.check('history').up(this.history?.healthDetails())] : []),
    ]);
  }

  private async run(
    reply: FastifyReply,
    checks: Parameters<HealthCheckService['check']>[0],
  ): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (err) {
      const response = (err as { getResponse?: () => unknown }).getResponse?.();
      if (response && typeof response === 'object' && 'status' in response) {
        void reply.code(503);
        return response as HealthCheckResult;
      }
      throw err;
    }
  }
}
