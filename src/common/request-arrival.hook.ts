import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppConfigService } from '../config/config.service';
import { AdmissionGate, type AdmissionStats } from './admission-gate';
import { outcomeRoute } from './outcome-builder';
import { observationOf } from './request-observation';

/**
 * Fastify's onRequest for the model routes (/v1/messages, /v1/chat/completions), before body parsing and guards:
 * - notes when each request arrived, so a RequestOutcome's duration is the client's: it includes reading the
 *   body, the guards, the admission gate and the queue;
 * - admits it through the loop-turn admission gate (`Server.admission`, src/common/admission-gate.ts): under a
 *   burst the requests are started over several loop turns instead of all in one, so running streams, timers
 *   and health probes keep being served. Probes, metrics and admin routes never wait here.
 */
@Injectable()
export class RequestArrivalHook implements OnModuleInit {
  private readonly gate = new AdmissionGate();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfigService,
  ) {}

  admission(): AdmissionStats {
    return this.gate.stats();
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (typeof fastify?.addHook !== 'function') {
      return; // a testing module without an HTTP server
    }
    fastify.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
      if (!outcomeRoute(request.method, request.url)) {
        done();
        return;
      }
      observationOf(request.raw);
      const admission = this.config.get('Server').admission;
      if (!admission.enabled) {
        done();
        return;
      }
      this.gate.targetTurnMs = admission.targetTurnMs;
      if (this.gate.admit(done)) {
        done();
      }
    });
  }
}
