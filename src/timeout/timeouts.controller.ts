import { Controller, Get } from '@nestjs/common';
import { AppConfigService } from '../config/config.service';
import { TimeoutPolicyService, type TargetPrediction } from './timeout-policy.service';

/** `GET /api/timeouts`: the deadlines each target gets right now and the samples behind them. */
@Controller('api')
export class TimeoutsController {
  constructor(
    private readonly timeouts: TimeoutPolicyService,
    private readonly config: AppConfigService,
  ) {}

  @Get('timeouts')
  get(): { config: unknown; targets: TargetPrediction[] } {
    return {
      config: {
        AdaptiveTimeout: this.config.get('AdaptiveTimeout'),
        defaultFirstByteMs: this.config.get('Failover').timeout,
      },
      targets: this.timeouts.predictions(),
    };
  }
}
