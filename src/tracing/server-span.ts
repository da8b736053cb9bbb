import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Client traffic is traced; probes, metrics scrapes and the status page's polling are not. */
const TRACED = /^\/v1\//;

type RawWithInfo = { switchyard?: Record<string, unknown> };

/** How the gateway answered (set on the raw request by the responder), as span attributes. */
function answerAttributes(raw: RawWithInfo): Record<string, string | number> {
  const info = raw.switchyard ?? {};
  const out: Record<string, string | number> = {};
  for (const [key, name] of [
    ['route', 'switchyard.scenario'],
    ['target', 'switchyard.target'],
    ['cache', 'switchyard.cache'],
    ['dedup', 'switchyard.dedup'],
    ['attempts', 'switchyard.attempts'],
  ] as const) {
    const v = info[key];
    if (typeof v === 'string' || typeof v === 'number') {
      out[name] = v;
    }
  }
  return out;
}

/**
 * The request's SERVER span, started in Fastify's onRequest (parent: the client's W3C `traceparent`, when it
 * sent one) and made the active context for everything the request does: Fastify runs the rest of the
 * request (body parsing included) inside the hook's async context. It ends when the response is closed —
 * hijacked SSE replies and clients that leave included.
 */
export function traceServerRequests(fastify: FastifyInstance, tracer: Tracer): void {
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (!TRACED.test(request.url)) {
      done();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url ?? request.url.split('?')[0];
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': route,
          'url.path': request.url.split('?')[0],
          'url.scheme': request.protocol,
          'switchyard.request_id': String(request.id),
          ...(typeof request.headers['user-agent'] === 'string'
            ? { 'user_agent.original': request.headers['user-agent'] }
            : {}),
        },
      },
      parent,
    );
    const res = reply.raw;
    res.once('close', () => {
      const status = res.statusCode;
      span.setAttributes({
        'http.response.status_code': status,
        ...answerAttributes(request.raw as RawWithInfo),
      });
      if (!res.writableFinished) {
        span.setAttribute('switchyard.client_aborted', true);
      }
      if (status >= 500) {
        span.setAttribute('error.type', String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    });
    context.with(trace.setSpan(parent, span), done);
  });
}
