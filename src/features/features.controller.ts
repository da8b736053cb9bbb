import { Body, Controller, Get, Put } from '@nestjs/common';
import { z } from 'zod';
import { AppConfigService } from '../config/config.service';
import { GatewayError } from '../protocol/errors';
import { FEATURE_NAMES, type FeatureName } from './feature-set';
import { FeaturesService } from './features.service';
import type { FeatureView, GuardView } from './features.types';
import { RollbackGuardService } from './rollback-guard.service';

const flagChange = z
  .strictObject({
    enabled: z.boolean().optional(),
    rollout: z.number().min(0).max(100).optional(),
  })
  .refine((c) => c.enabled !== undefined || c.rollout !== undefined, {
    message: 'give "enabled" and/or "rollout"',
  });

const changesBody = z
  .strictObject(
    Object.fromEntries(FEATURE_NAMES.map((name) => [name, flagChange.optional()])) as Record<
      FeatureName,
      z.ZodOptional<typeof flagChange>
    >,
  )
  .refine((body) => Object.values(body).some((c) => c !== undefined), {
    message: `name at least one feature (${FEATURE_NAMES.join(', ')})`,
  });

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GatewayError(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

export interface FeaturesView {
  bucketBy: 'session' | 'request';
  features: Record<FeatureName, FeatureView>;
  guard: GuardView;
}

/** `GET /api/features`, `PUT /api/features` (docs/features.md); behind the API key like every /api route. */
@Controller('api/features')
export class FeaturesController {
  constructor(
    private readonly config: AppConfigService,
    private readonly features: FeaturesService,
    private readonly guard: RollbackGuardService,
  ) {}

  @Get()
  view(): FeaturesView {
    return {
      bucketBy: this.config.get('Features').bucketBy,
      features: this.features.view(),
      guard: this.guard.view(),
    };
  }

  /** `{ "<feature>": { "enabled"?: bool, "rollout"?: 0–100 } }`; `enabled: true` clears a guard trip. */
  @Put()
  update(@Body() body: unknown): FeaturesView {
    this.features.update(parse(changesBody, body), 'operator');
    return this.view();
  }
}
