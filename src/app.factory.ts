import { NotFoundException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { installFastAsyncBind } from './common/fast-async-bind';
import { DRAIN_MIN_BYTES, drainRejectedUpload } from './common/errors/drain-upload';
import { buildErrorResponse, type ErrorResponse } from './common/errors/error-response';
import { recordRoutes } from './common/errors/route-table';
import { registerCompression } from './compression/register-compression';
import type { LoadedConfig } from './config/load-config';
import { requestIdFor } from './logging/request-id';
import { GatewayError } from './protocol/errors';
import { parseJsonBody } from './common/json-body';
import { checkApiKey, KeyDigest } from './auth/api-key.guard';
import { AppConfigService } from './config/config.service';
import type { ModuleMetadata } from '@nestjs/common';

export interface CreateAppOptions {
  loaded: LoadedConfig;
  logDestination?: DestinationStream;
  imports?: ModuleMetadata['imports'];
}

const WORKER_ROUTES = /^\/(health|metrics)(\/|\?|$)/;

/** The api node's 404 for a route it does not have, in the client's format, saying why. */
function workerOnlyError(request: FastifyRequest): ErrorResponse {
  const path = request.url.split('?')[0];
  const message = `this is a worker node (--role worker): it serves only /health and /metrics, not ${request.method} ${path}`;
  return buildErrorResponse(
    new GatewayError(404, message, { type: 'not_found_error' }),
    request.url,
    request.id,
    request.headers,
  );
}

/**
 * `/v1/%6dessages` → `/v1/messages`: percent-encoded unreserved characters (letters, digits, `-._~`) in the
 * path are the same URL (RFC 3986 §6.2.2.2), so they are decoded before routing — else the router, which
 * decodes, and the checks keyed on the raw path (rate limits, error formats) would see two spellings.
 */
export function withUnreservedDecoded(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!path.includes('%')) {
    return url;
  }
  const decoded = path.replace(/%([0-9A-Fa-f]{2})/g, (escape: string, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : escape;
  });
  return q < 0 ? decoded : decoded + url.slice(q);
}

/** `/v1/messages/?beta=true` → `/v1/messages?beta=true`; `/` stays. */
export function withoutTrailingSlash(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 0x2f) {
    end--;
  }
  return end === path.length ? url : path.slice(0, end) + (q < 0 ? '' : url.slice(q));
}

const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Builds the Fastify-based Nest application (used by main.ts and by the e2e tests). */
export async function createApp(options: CreateAppOptions): Promise<NestFastifyApplication> {
  installFastAsyncBind();
  const { config } = options.loaded;
  const adapter = new FastifyAdapter({
    bodyLimit: config.Server.bodyLimit,
    genReqId: (req: IncomingMessage) => requestIdFor(req, config.Logging.correlationId),
    requestIdHeader: false,
    return503OnClosing: true,
    // `/v1/messages/`, `/v1/chat/completions/`, `/v1/models/` are the routes without the slash. Rewritten
    // before routing (not the router's ignoreTrailingSlash) so that every check keyed on the path (rate
    // limits, outcomes, error formats) sees the one spelling.
    rewriteUrl: (req: IncomingMessage) => withoutTrailingSlash(withUnreservedDecoded(req.url ?? '/')),
    // pino-http logs requests; Fastify's own logger stays off.
    logger: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    bufferLogs: true,
    abortOnError: false,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  // Only the stop signals: SIGUSR2 (profilers, bench probes) and SIGHUP must not shut the gateway down.
  // A drained shutdown exits 0 (Docker / Kubernetes read 143 as a failure), after the exit hooks flushed the logs.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });

  const fastify = app.getHttpAdapter().getInstance();
  // JSON bodies (docs/api.md): a POST without a body but labelled JSON is no body, not a 400 — the Python
  // SDKs send `Content-Type: application/json` on every call, `Content-Length: 0` on a bodyless POST (batch
  // cancel); clients that omit or mislabel the content type still send JSON (curl -d, some SDK wrappers).
  // Prototype-poisoning keys are refused either way (parseJsonBody). Nest's own body parsers are off: it
  // would register its JSON parser over this one at init.
  const jsonBody = (
    _req: unknown,
    body: string | Buffer,
    done: (err: Error | null, body?: unknown) => void,
  ) => {
    try {
      done(null, body === '' ? undefined : parseJsonBody(body as string));
    } catch (err) {
      (err as { statusCode?: number }).statusCode = 400;
      done(err as Error, undefined);
    }
  };
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, jsonBody);
  fastify.addContentTypeParser(['text/plain', '*'], { parseAs: 'string' }, jsonBody);
  const workerOnly = config.JobQueue.role === 'worker';
  const appConfig = app.get(AppConfigService);
  const keyDigest = new KeyDigest();
  fastify.addHook(
    'onRequest',
    (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      // request-id is the name the Anthropic SDKs read (`_request_id`, `error.requestID`; PROTOCOL.md §1.1).
      void reply.header('x-request-id', request.id).header('request-id', request.id);
      // A worker node serves only its probes and metrics; client traffic belongs on api/all nodes.
      if (workerOnly && !WORKER_ROUTES.test(request.url)) {
        const { status, headers, body } = workerOnlyError(request);
        void reply.code(status).headers(headers).send(body);
        return;
      }
      // With APIKEY set, a request that may carry a body is refused before the body is read: parsing up to
      // Server.bodyLimit for whoever lacks the key would be work for anyone. (ApiKeyGuard still checks every
      // route; the public ones — health, metrics, the status page — take GET only.)
      if (!BODYLESS_METHODS.has(request.method) && !request.is404) {
        const expected = keyDigest.of(appConfig.apiKey);
        const checked = expected ? checkApiKey(request.headers, expected) : undefined;
        if (checked instanceof GatewayError) {
          done(checked);
          return;
        }
      }
      done();
    },
  );
  recordRoutes(fastify);
  // A route that does not exist (or not with this method) is a 404/405 whatever its body: answered before
  // the body is parsed, so a DELETE with a JSON content type and no body is not a 400 about that body.
  fastify.addHook('preParsing', (request: FastifyRequest, _reply: FastifyReply, payload, done) => {
    if (request.is404) {
      done(new NotFoundException());
      return;
    }
    done(null, payload);
  });
  // A body over the limit is answered 413 while the client may still be uploading: read the rest away
  // (bounded) so the client reads the 413 rather than a reset connection.
  fastify.addHook(
    'onError',
    (request: FastifyRequest, reply: FastifyReply, error: Error, done: () => void) => {
      if ((error as { code?: unknown }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        drainRejectedUpload(request, reply, { maxBytes: Math.max(config.Server.bodyLimit, DRAIN_MIN_BYTES) });
      }
      done();
    },
  );
  // Before init: the plugin hooks into routes as Nest declares them.
  await registerCompression(app);
  // Fastify-level failures (invalid JSON, body over the limit) reach AllExceptionsFilter through Nest's
  // own Fastify error handler, so there is one error path.
  return app;
}
