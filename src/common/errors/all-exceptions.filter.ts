import { Catch, NotFoundException, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { GatewayError } from '../../protocol/errors';
import { failedOutcome, outcomeRoute } from '../outcome-builder';
import { observationOf } from '../request-observation';
import { RequestOutcomeService } from '../request-outcome';
import { buildErrorResponse, type ErrorResponse } from './error-response';
import { allowedMethods } from './route-table';

/**
 * The one place errors become responses, in the client's own format. Errors are logged here, once:
 * unexpected ones with their stack, expected ones as a short line.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly logger: PinoLogger,
    // Optional: a module tested on its own (without OutcomesModule) still formats its errors.
    @Optional() private readonly outcomes?: RequestOutcomeService,
  ) {
    this.logger.setContext('errors');
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const error = exception instanceof NotFoundException ? this.notFoundOrMethod(request) : exception;
    const headersSent = reply.sent || reply.raw.headersSent;
    const socket = reply.raw.socket;
    const clientGone = !reply.raw.writableFinished && (reply.raw.destroyed || !socket || socket.destroyed);
    const response = sendError(reply, request, error, this.logger, requestIdField(this.logger, request.id));
    this.reportOutcome(request, error, response.status, { headersSent, clientGone });
  }

  /** The one outcome of a /v1 request that failed (the responder reports the ones that answered). */
  private reportOutcome(
    request: FastifyRequest,
    error: unknown,
    status: number,
    state: { headersSent: boolean; clientGone: boolean },
  ): void {
    const route = outcomeRoute(request.method, request.url);
    if (!route) {
      return;
    }
    const obs = observationOf(request.raw);
    if (obs.emitted) {
      return;
    }
    obs.emitted = true;
    const body = (request.body ?? {}) as { stream?: unknown; model?: unknown };
    const info = (request.raw as { switchyard?: { route?: unknown; target?: unknown } }).switchyard;
    this.outcomes?.emit(
      failedOutcome({
        requestId: request.id,
        route,
        obs,
        stream: body.stream === true,
        clientModel: typeof body.model === 'string' ? body.model : undefined,
        scenario: typeof info?.route === 'string' ? info.route : undefined,
        target: typeof info?.target === 'string' ? info.target : undefined,
        err: error,
        status,
        clientGone: state.clientGone || obs.clientSignal?.aborted === true,
        headersSent: state.headersSent,
      }),
    );
  }

  /** Unknown route → 404; known path with another method → 405 with `allow`. */
  private notFoundOrMethod(request: FastifyRequest): unknown {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const path = request.url.split('?')[0];
    const allowed = allowedMethods(fastify, path);
    if (allowed.length > 0) {
      return new GatewayError(405, `Method ${request.method} is not allowed on ${path}`, {
        type: 'invalid_request_error',
        headers: { allow: allowed.join(', ') },
      });
    }
    return new GatewayError(404, `No route for ${request.method} ${path}`, { type: 'not_found_error' });
  }
}

/**
 * `requestId` for a line of this logger, unless it already binds it: inside a request the logger is the
 * request's pino-http child, whose bindings carry the id (a second copy made the JSON key appear twice);
 * routes without a request logger (the health probes) need it added.
 */
function requestIdField(logger: PinoLogger, id: string): { requestId?: string } {
  return logger.logger.bindings().requestId === id ? {} : { requestId: id };
}

/** Shared by the Nest filter and Fastify's own error handler (body parsing, body limit). */
export function sendError(
  reply: FastifyReply,
  request: FastifyRequest,
  exception: unknown,
  logger: { error(obj: object, msg?: string): void; debug(obj: object, msg?: string): void },
  logFields: { requestId?: string } = { requestId: request.id },
): ErrorResponse {
  const response = buildErrorResponse(exception, request.url, request.id, request.headers);
  if (response.unexpected) {
    logger.error({ err: exception, ...logFields }, 'unhandled error');
  } else {
    // The access line already carries the status; the reason is worth a line only when debugging.
    logger.debug(
      { ...logFields, status: response.status, error: (exception as Error)?.message },
      'request rejected',
    );
  }
  if (reply.sent || reply.raw.headersSent || reply.raw.destroyed) {
    // A streamed answer already started; the stream writer reports the failure in-band.
    if (!reply.raw.writableEnded && !reply.raw.destroyed) {
      reply.raw.end();
    }
    return response;
  }
  void reply.code(response.status).headers(response.headers).send(response.body);
  return response;
}
