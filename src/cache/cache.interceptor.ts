import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Observable } from 'rxjs';
import { CacheService } from './cache.service';
import type { CachePolicy } from './cache.types';

type WithPolicy = IncomingMessage & { switchyardCache?: CachePolicy };

/**
 * Reads the client's cache policy once per request and leaves it on the raw request. The lookup itself
 * happens in the gateway after routing, because the key includes the resolved target.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  constructor(private readonly cache: CacheService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    (request.raw as WithPolicy).switchyardCache = this.cache.policyFor(request.headers);
    return next.handle();
  }
}

/** The policy the interceptor attached, if it ran for this request. */
export function cachePolicyOf(raw: IncomingMessage): CachePolicy | undefined {
  return (raw as WithPolicy).switchyardCache;
}
