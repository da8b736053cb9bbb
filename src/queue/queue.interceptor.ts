import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Observable } from 'rxjs';
import { GatewayError } from '../protocol/errors';
import { PRIORITY_HEADER, QUEUE_CLASSES, type QueueClass } from './queue.types';

type WithClass = IncomingMessage & { switchyardClass?: QueueClass };

/**
 * Admission, first step: reads the class a client asks for (`x-switchyard-priority: interactive | batch |
 * background`), rejects a value that is not one of them (400 in the client's format), and stamps it on the
 * request. The gateway completes the classification once the route is known (the Router's background
 * scenario is `background`), and the queue admits upstream work by class priority.
 */
@Injectable()
export class QueueInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const asked = request.headers[PRIORITY_HEADER];
    if (asked !== undefined) {
      const value = Array.isArray(asked) ? asked[0] : asked;
      if (!(QUEUE_CLASSES as readonly string[]).includes(value)) {
        throw new GatewayError(
          400,
          `${PRIORITY_HEADER} must be one of ${QUEUE_CLASSES.join(', ')} (got "${value.slice(0, 40)}")`,
          { type: 'invalid_request_error' },
        );
      }
      (request.raw as WithClass).switchyardClass = value as QueueClass;
    }
    return next.handle();
  }
}

/** The class a client asked for, if the interceptor stamped one. */
export function queueClassOf(raw: IncomingMessage): QueueClass | undefined {
  return (raw as WithClass).switchyardClass;
}
