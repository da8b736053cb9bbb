import { Global, Module } from '@nestjs/common';
import { SLA_HISTORY_SOURCE } from '../metrics/sla.types';
import { TimeoutModule } from '../timeout/timeout.module';
import { HistoryController } from './history.controller';
import { HistoryService } from './history.service';

/** Global: the SLA reads its 30-day window and readiness its state from here (`SLA_HISTORY_SOURCE`). */
@Global()
@Module({
  imports: [TimeoutModule],
  controllers: [HistoryController],
  providers: [HistoryService, { provide: SLA_HISTORY_SOURCE, useExisting: HistoryService }],
  exports: [HistoryService, SLA_HISTORY_SOURCE],
})
export class HistoryModule {}
