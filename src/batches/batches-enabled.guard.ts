import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppConfigService } from '../config/config.service';
import { GatewayError } from '../protocol/errors';

/** `Batches.enabled: false` makes the batch routes answer exactly like routes that do not exist. */
@Injectable()
export class BatchesEnabledGuard implements CanActivate {
  constructor(private readonly config: AppConfigService) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.config.get('Batches').enabled) {
      return true;
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    throw new GatewayError(404, `No route for ${request.method} ${request.url.split('?')[0]}`, {
      type: 'not_found_error',
    });
  }
}
