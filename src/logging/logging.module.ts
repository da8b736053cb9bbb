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
                res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
              },
              // A level the logger drops is 'silent': pino-http then skips building the access line at all.
              customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) => {
                const level =
                  err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
                return LEVEL_VALUES[level] >= threshold ? level : 'silent';
              },
              customSuccessMessage: (req: IncomingMessage, res: ServerResponse) =>
                `${req.method} ${req.url?.split('?')[0]} ${res.statusCode}`,
              customErrorMessage: (req: IncomingMessage, res: ServerResponse) =>
                `${req.method} ${req.url?.split('?')[0]} ${res.statusCode}`,
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
              // Health probes would drown the access log.
              exclude: [{ method: RequestMethod.ALL, path: 'health/{*path}' }],
            };
          },
        }),
      ],
    };
  }
}

function accessFields(
  req: RawRequest,
  res: ServerResponse,
  val: Record<string, unknown>,
): Record<string, unknown> {
  const length = res.getHeader('content-length');
  const extra = req.switchyard ?? {};
  return {
    ...val,
    durationMs: val.responseTime,
    bytes: typeof length === 'string' || typeof length === 'number' ? Number(length) : extra.bytes,
    ...extra,
  };
}
