import { Injectable, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import type { ProbeResult } from '../health/provider-probe';
import { ProviderHealthIndicator } from '../health/provider.health';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { InstanceRegistryService } from '../redis/instance-registry.service';
import { QueueService } from './queue.service';

interface ProbeBroadcast {
  from: string;
  results: Record<string, ProbeResult>;
}

/**
 * Maintenance that must run once per cluster, not once per instance (JobQueue.scheduled): BullMQ job
 * schedulers on the background queue; whichever worker takes a run does the work and broadcasts what
 * every instance needs. Provider health probes (results fed into every instance's scores), pruning of
 * finished jobs, and the pool warm-up refresh (each instance tops up its own sockets). Without BullMQ
 * (off, or Redis down) the per-instance timers do the probing, as before.
 */
@Injectable()
export class ScheduledJobsService implements OnModuleInit {
  constructor(
    private readonly queue: QueueService,
    private readonly health: ProviderHealthIndicator,
    private readonly providers: ProviderRegistryService,
    private readonly instances: InstanceRegistryService,
    private readonly config: AppConfigService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('scheduled');
  }

  onModuleInit(): void {
    const s = this.config.get('JobQueue').scheduled;
    if (!this.queue.bullConfigured) {
      return;
    }
    if (s.healthProbeMs > 0 && this.config.get('Failover').health.enabled) {
      this.health.deferTo(() => this.queue.mode === 'bullmq');
      this.queue.schedule('provider-health', s.healthProbeMs, async () => {
        const results = await this.health.probeAll();
        await this.queue.broadcast('provider-health', {
          from: this.instances.id,
          results,
        } satisfies ProbeBroadcast);
      });
      this.queue.onBroadcast('provider-health', (payload) => {
        const { from, results } = payload as ProbeBroadcast;
        if (from !== this.instances.id) {
          this.health.applyRemote(results);
        }
      });
    }
    if (s.warmupMs > 0) {
      this.queue.schedule('pool-warmup', s.warmupMs, () => this.queue.broadcast('pool-warmup', {}));
      this.queue.onBroadcast('pool-warmup', () => {
        void this.providers
          .rewarm()
          .catch((err: Error) => this.logger.warn({ err: err.message }, 'pool warm-up refresh failed'));
      });
    }
    if (s.pruneMs > 0) {
      this.queue.schedule('prune', s.pruneMs, async () => {
        const removed = await this.queue.prune();
        this.logger.info({ removed }, 'pruned finished jobs');
      });
    }
  }
}
