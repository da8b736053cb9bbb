import { Controller, Get } from '@nestjs/common';
import type { AffinitySnapshot } from './affinity.types';
import { AffinityService } from './affinity.service';

/** `GET /api/affinity`: mode, local sessions and prompt-cache reuse per provider (API key applies). */
@Controller('api')
export class AffinityController {
  constructor(private readonly affinity: AffinityService) {}

  @Get('affinity')
  snapshot(): Promise<AffinitySnapshot> {
    return this.affinity.snapshot();
  }
}
