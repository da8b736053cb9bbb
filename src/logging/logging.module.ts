import { Module, RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppConfigService } from '../config/config.service';
import { traceLogFields } from '../tracing/trace-log';
import { createRedactor, redactUrl } from './redact';
import { requestIdFor } from './request-id';

/** pino's numeric levels (`silent` drops everything). */
const LEVEL_VALUES: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

type RawRequest = IncomingMessage & { id?: string; switchyard?: Record<string, unknown> };

/**
 * pino JSON logs through nestjs-pino: one access line per request, the correlation id on every line the
 * request causes (nestjs-pino keeps the request logger in async context), redaction of key material.
 */
@Module({})
export class LoggingModule {
  static forRoot(destination?: DestinationStream): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfigService],
          useFactory: (config: AppConfigService) => {
            const logging = config.get('Logging');
            const pretty = logging.prettyPrint && !destination;
            // Logging is restart-only (config-diff), so the threshold is fixed for the logger's life.
            const threshold = LEVEL_VALUES[logging.level] ?? 0;
            // Redaction as a formatter (createRedactor: copy-on-write), not pino's `redact` paths.
            const redact = createRedactor(logging.redact);
            const options = {
              level: logging.level,
              // Tracing on: every line logged inside a span carries its trace_id / span_id.
              mixin: config.get('Tracing').enabled ? traceLogFields : undefined,
              formatters: { log: redact, bindings: redact },
              genReqId: (req: IncomingMessage) => requestIdFor(req, logging.correlationId),
              autoLogging: config.get('LOG') !== false,
              quietReqLogger: true,
              customAttributeKeys: { reqId: 'requestId' },
              serializers: {
                req: (req: { id?: string; method?: string; url?: string }) => ({
                  id: req.id,
                  method: req.method,
                  url: redactUrl(req.url),
                }),
                // pino's wrapper; `raw` is the ServerResponse (its own statusCode is null before headers went out).
                res: (res: { statusCode?: number | null; raw?: ServerResponse }) => ({
                  statusCode: res.raw ? loggedStatus(res.raw) : res.statusCode,
                }),
              },
              // A level the logger drops is 'silent': pino-http then skips building the access line at all.
              // A client that left is its own choice, not a failure of the gateway: info, like its metrics outcome.
              customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) => {
                const status = loggedStatus(res);
                const level = clientLeft(res)
                  ? 'info'
                  : err || status >= 500
                    ? 'error'
                    : status >= 400
                      ? 'warn'
                      : 'info';
                return LEVEL_VALUES[level] >= threshold ? level : 'silent';
              },
              customSuccessMessage: (req: IncomingMessage, res: ServerResponse) =>
                `${req.method} ${req.url?.split('?')[0]} ${loggedStatus(res)}`,
              customErrorMessage: (req: IncomingMessage, res: ServerResponse) =>
                `${req.method} ${req.url?.split('?')[0]} ${loggedStatus(res)}`,
              customSuccessObject: (
                req: IncomingMessage,
                res: ServerResponse,
                val: Record<string, unknown>,
              ) => accessFields(req as RawRequest, res, val),
              customErrorObject: (
                req: IncomingMessage,
                res: ServerResponse,
                _err: Error,
                val: Record<string, unknown>,
              ) => accessFields(req as RawRequest, res, val),
              transport: pretty ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
            };
            return {
              pinoHttp: destination ? [options, destination] : options,
              // Health probes and Prometheus scrapes (every few seconds, forever) would drown the access log.
              exclude: [
                { method: RequestMethod.ALL, path: 'health/{*path}' },
                { method: RequestMethod.GET, path: 'metrics' },
              ],
            };
          },
        }),
      ],
    };
  }
}

/**
 * The connection closed before the gateway ended the response: the client left (the access line is written on
 * `finish`, or on `close` when that comes first). Not `writableFinished`: on `finish` the socket may still hold
 * the last bytes.
 */
function clientLeft(res: ServerResponse): boolean {
  return !res.writableEnded;
}

/**
 * The status the access line shows: what was sent, or 499 when the client left before any header went out
 * (what the metrics and the history count; `res.statusCode` is then only the route's default, 200 or 201).
 */
function loggedStatus(res: ServerResponse): number {
  return clientLeft(res) && !res.headersSent ? CLIENT_CLOSED : res.statusCode;
}

const CLIENT_CLOSED = 499;

function accessFields(
  req: RawRequest,
  res: ServerResponse,
  val: Record<string, unknown>,
): Record<string, unknown> {
  const length = res.getHeader('content-length');
  const extra = req.switchyard ?? {};
  return {
    ...val,
    ...(clientLeft(res) ? { clientAborted: true } : {}),
    durationMs: val.responseTime,
    bytes: typeof length === 'string' || typeof length === 'number' ? Number(length) : extra.bytes,
    ...extra,
  };
}
