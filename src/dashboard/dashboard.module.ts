import { Module } from '@nestjs/common';
import { FailoverModule } from '../failover/failover.module';
import { DashboardController } from './dashboard.controller';
import { FailoversController } from './failovers.controller';

/** The status page (docs/observability.md#status-page) and the recent-failovers list it shows. */
@Module({ imports: [FailoverModule], controllers: [DashboardController, FailoversController] })
export class DashboardModule {}
