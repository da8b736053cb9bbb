import { Controller, Get } from '@nestjs/common';
import type { HistoryStats } from './history.types';
import { HistoryService } from './history.service';

/** `GET /api/history/stats`: the writer's queue, drops and errors (behind the API key like every /api route). */
@Controller('api/history')
export class HistoryController {
  constructor(private readonly history: HistoryService) {}

  @Get('stats')
  stats(): HistoryStats {
    return this.history.stats();
  }
}
