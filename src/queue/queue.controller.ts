import { Controller, Get } from '@nestjs/common';
import { AppConfigService } from '../config/config.service';
import { ProviderSlotsService } from '../ratelimit/provider-slots.service';
import { InstanceRegistryService } from '../redis/instance-registry.service';
import { QueueService } from './queue.service';

/** What the queues are doing (behind the API key like every /api route). */
@Controller('api/queue')
export class QueueController {
  constructor(
    private readonly queue: QueueService,
    private readonly slots: ProviderSlotsService,
    private readonly instances: InstanceRegistryService,
    private readonly config: AppConfigService,
  ) {}

  @Get()
  async state(): Promise<Record<string, unknown>> {
    const jq = this.config.get('JobQueue');
    return {
      mode: this.queue.mode,
      role: jq.role,
      instance: this.instances.id,
      instances: this.instances.count,
      classes: Object.fromEntries(
        Object.entries(jq.queues).map(([cls, s]) => [
          cls,
          { priority: s.priority, concurrency: s.concurrency },
        ]),
      ),
      depth: await this.queue.depth(),
      relayedInFlight: this.queue.relayedInFlight,
      providerSlots: this.slots.snapshot(),
    };
  }
}
