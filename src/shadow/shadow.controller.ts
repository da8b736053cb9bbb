import { Controller, Delete, Get, HttpCode, Query } from '@nestjs/common';
import { GatewayError } from '../protocol/errors';
import { ShadowService, type ShadowView } from './shadow.service';

function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) {
    return undefined;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new GatewayError(400, 'limit: must be a non-negative integer');
  }
  return n;
}

/** `GET /api/shadow`: settings, counters, aggregates and recent comparisons; `DELETE` resets them (API key). */
@Controller('api/shadow')
export class ShadowController {
  constructor(private readonly shadow: ShadowService) {}

  /** `?limit=N` caps the recent comparisons returned (default: every one kept). */
  @Get()
  view(@Query('limit') limit?: string): ShadowView {
    return this.shadow.view(parseLimit(limit));
  }

  @Delete()
  @HttpCode(204)
  reset(): void {
    this.shadow.reset();
  }
}
