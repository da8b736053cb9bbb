import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppConfigService } from '../config/config.service';
import { GatewayError } from '../protocol/errors';
import { AdmissionGate, type AdmissionStats } from './admission-gate';
import { outcomeRoute } from './outcome-builder';
import { observationOf } from './request-observation';
import { ShutdownService } from './shutdown.service';

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
  /** Answers about to be written (their headers and first events): a burst of first bytes is spread too. */
  private readonly answers = new AdmissionGate({ initialPerTurn: 32, maxPerTurn: 1024 });

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfigService,
    private readonly shutdown: ShutdownService,
  ) {}

  /** Model requests started on arrival or later (the request lane). */
  admission(): AdmissionStats {
    return this.gate.stats();
  }

  /** Answers written at once or in a later turn (the answer lane). */
  answerAdmission(): AdmissionStats {
    return this.answers.stats();
  }

  /** Before an answer's first write: undefined to write now, or a promise settled in a later loop turn. */
  answerTurn(): Promise<void> | undefined {
    const admission = this.config.get('Server').admission;
    if (!admission.enabled) {
      return undefined;
    }
    this.answers.targetTurnMs = admission.targetTurnMs;
    this.answers.maxWaitMs = admission.answerMaxWaitMs;
    return this.answers.turn();
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
      if (this.shutdown.draining) {
        // Arrived on a keep-alive connection after the listener closed: another instance should take it.
        done(
          new GatewayError(503, 'the gateway is shutting down: retry the request', {
            type: 'overloaded_error',
            headers: { 'retry-after': '1', connection: 'close' },
          }),
        );
        return;
      }
      const admission = this.config.get('Server').admission;
      if (!admission.enabled) {
        done();
        return;
      }
      this.gate.targetTurnMs = admission.targetTurnMs;
      if (this.gate.waiting >= admission.maxWaiting) {
        // Sustained overload: a line that only grows holds sockets and memory for answers that come too late.
        this.gate.noteRejected();
        done(
          new GatewayError(
            503,
            `the gateway is saturated: ${this.gate.waiting} requests are already waiting to start (Server.admission.maxWaiting)`,
            { type: 'overloaded_error', headers: { 'retry-after': '1' } },
          ),
        );
        return;
      }
      if (this.gate.admit(done)) {
        done();
      }
    });
  }
}
