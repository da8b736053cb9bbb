import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { outcomeRoute } from './outcome-builder';
import { observationOf } from './request-observation';

/**
 * Notes when each /v1 request arrived (Fastify's onRequest, before body parsing and guards), so a
 * RequestOutcome's duration is the client's: it includes reading the body, the guards and the queue.
 */
@Injectable()
export class RequestArrivalHook implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (typeof fastify?.addHook !== 'function') {
      return; // a testing module without an HTTP server
    }
    fastify.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
      if (outcomeRoute(request.method, request.url)) {
        observationOf(request.raw);
      }
      done();
    });
  }
}
