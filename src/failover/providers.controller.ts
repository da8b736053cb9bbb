import { Controller, Get } from '@nestjs/common';
import { configSecrets, scrubSecrets } from '../config/config-redaction';
import { AppConfigService } from '../config/config.service';
import { ProviderRegistryService } from '../providers/provider-registry.service';
import { FailoverCounters } from './failover-counters';
import { HealthScoreService, type TargetHealth } from './health-score';
import { TargetStateService, type TargetStateView } from './target-state.service';

export type ProviderTargetStatus = TargetHealth & { circuit: TargetStateView };

/** `GET /api/providers`: per target score, circuit, cooldown, last error, key flag and TTFB percentiles. */
@Controller('api')
export class ProvidersController {
  constructor(
    private readonly providers: ProviderRegistryService,
    private readonly scores: HealthScoreService,
    private readonly state: TargetStateService,
    private readonly counters: FailoverCounters,
    private readonly config: AppConfigService,
  ) {}

  @Get('providers')
  async list(): Promise<{ targets: ProviderTargetStatus[]; counters: Record<string, number> }> {
    const configured = this.providers.list().map((t) => `${t.provider},${t.model}`);
    const targets = [...new Set([...configured, ...this.scores.known(), ...this.state.known()])].sort();
    await this.state.refresh(targets);
    const now = Date.now();
    // Last errors are upstream texts: one that echoes a configured credential must not be passed on.
    return scrubSecrets(
      {
        targets: targets.map((t) => ({ ...this.scores.view(t, now), circuit: this.state.view(t, now) })),
        counters: this.counters.snapshot(),
      },
      configSecrets(this.config.all),
    );
  }
}
