import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { GatewayError } from '../protocol/errors';
import { ConfigReloadService, type ConfigView, type ReloadReport } from './config-reload.service';

/** `GET /api/config` and `POST /api/config/reload`; behind the API key like every /api route. */
@Controller('api/config')
export class ConfigController {
  constructor(private readonly reloader: ConfigReloadService) {}

  @Get()
  view(): ConfigView {
    return this.reloader.view();
  }

  /** 200 with what changed, or 400 naming every problem (the running configuration stays). */
  @Post('reload')
  @HttpCode(200)
  reload(): Omit<ReloadReport, 'problem'> {
    const report = this.reloader.reload('api');
    if (report.result === 'rejected') {
      throw new GatewayError(
        400,
        `configuration rejected; the running configuration stays. ${report.problem ?? ''}`,
        {
          type: 'invalid_request_error',
        },
      );
    }
    return report;
  }
}
