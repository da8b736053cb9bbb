import { Controller, Get } from '@nestjs/common';
import { FailoverCounters } from '../failover/failover-counters';
import type { FailoverEvent } from '../failover/recent-failovers';

/** `GET /api/failovers`: the last failovers of this instance, newest first (behind the API key). */
@Controller('api/failovers')
export class FailoversController {
  constructor(private readonly counters: FailoverCounters) {}

  @Get()
  list(): { total: number; capacity: number; events: FailoverEvent[] } {
    const total = Object.entries(this.counters.snapshot())
      .filter(([name]) => name.startsWith('failovers{'))
      .reduce((sum, [, n]) => sum + n, 0);
    return { total, capacity: this.counters.recent.capacity, events: this.counters.recent.list() };
  }
}
