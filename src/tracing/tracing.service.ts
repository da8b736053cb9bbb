import { Inject, Injectable, Optional, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanStatusCode,
  context,
  diag,
  DiagLogLevel,
  propagation,
  trace,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { BasicTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { AppConfigService } from '../config/config.service';
import { traceAttempt, type AttemptSpanInfo, type RunningLike } from './attempt-span';
import { traceServerRequests } from './server-span';
import { ERROR_TYPE, SPAN } from './span-names';
import type { TraceCarrier } from './trace-carrier';
import { SPAN_EXPORTER } from './tracing.constants';
import { throttled } from '../common/throttled';
import { buildTracerProvider, registerTracingGlobals } from './tracer-provider';

const DIAG_LOG_EVERY_MS = 60_000;

/** Handed to span callbacks when tracing is off: every call on it does nothing. */
const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** `error.type` of an exception: the client-facing error type when it has one, else its class. */
function errorType(err: unknown): string {
  const e = err as { type?: unknown; kind?: unknown; name?: unknown } | undefined;
  if (typeof e?.type === 'string') {
    return e.type;
  }
  if (typeof e?.kind === 'string') {
    return e.kind;
  }
  return typeof e?.name === 'string' ? e.name : 'Error';
}

/**
 * OpenTelemetry for the request path (`Tracing` config, docs/observability.md#tracing). The one owner of
 * the SDK: tracer provider, exporter, shutdown flush. Off (the default) every helper is a direct call —
 * no context switch, no span object, no header added.
 */
@Injectable()
export class TracingService implements OnModuleInit, OnApplicationShutdown {
  readonly enabled: boolean;
  private readonly provider?: BasicTracerProvider;
  private readonly tracer: Tracer;

  constructor(
    config: AppConfigService,
    private readonly adapterHost: HttpAdapterHost,
    private readonly logger: PinoLogger,
    @Optional() @Inject(SPAN_EXPORTER) exporter?: SpanExporter,
  ) {
    this.logger.setContext('tracing');
    const cfg = config.get('Tracing');
    this.enabled = cfg.enabled;
    if (!this.enabled) {
      this.tracer = trace.getTracer('switchyard'); // never used while off
      return;
    }
    registerTracingGlobals();
    // A collector that is down fails every export: one line a minute says so without flooding the log.
    const warn = throttled(DIAG_LOG_EVERY_MS, (msg: string, suppressed: number) =>
      this.logger.warn({ suppressed }, `otel: ${msg}`),
    );
    diag.setLogger(
      { error: warn, warn, info: () => undefined, debug: () => undefined, verbose: () => undefined },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
    this.provider = buildTracerProvider(cfg, exporter);
    this.tracer = this.provider.getTracer('switchyard');
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (this.enabled && typeof fastify?.addHook === 'function') {
      traceServerRequests(fastify, this.tracer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.provider
      ?.shutdown()
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'trace flush failed'));
  }

  /** Runs `fn` inside a child span of the active one; a throw marks the span with `error.type`. */
  span<T>(name: string, fn: (span: Span) => Promise<T> | T, attributes?: Attributes): Promise<T> {
    if (!this.enabled) {
      return Promise.resolve(fn(NOOP_SPAN));
    }
    return this.run(this.tracer.startSpan(name, { attributes }, context.active()), fn);
  }

  /** `fn`, always run in the context active now (work started later by someone else, e.g. dedup's leader call). */
  bind<F extends (...args: never[]) => unknown>(fn: F): F {
    return this.enabled ? context.bind(context.active(), fn) : fn;
  }

  /** One upstream attempt as a GenAI client span; see attempt-span.ts. */
  attempt<A extends RunningLike>(info: AttemptSpanInfo, start: () => A): A {
    return this.enabled ? traceAttempt(this.tracer, info, start) : start();
  }

  /** The active span's context as job data; undefined when tracing is off or nothing is traced. */
  carrier(): TraceCarrier | undefined {
    if (!this.enabled) {
      return undefined;
    }
    const out: Record<string, string> = {};
    propagation.inject(context.active(), out);
    return out.traceparent ? { traceparent: out.traceparent, tracestate: out.tracestate } : undefined;
  }

  /** The job, stamped with the trace context and the time it entered its queue (for the queue-wait span). */
  enqueue<J extends { trace?: TraceCarrier }>(job: J, queueClass: string): J {
    const carrier = this.carrier();
    return carrier ? { ...job, trace: { ...carrier, queuedAt: Date.now(), queueClass } } : job;
  }

  /**
   * Continues a trace handed over in job data (in this process or another): records the queue wait when the
   * job was queued, then runs `fn` under the carried context.
   */
  continueFrom<T>(carrier: TraceCarrier | undefined, fn: () => T): T {
    if (!this.enabled || !carrier) {
      return fn();
    }
    const parent = propagation.extract(ROOT_CONTEXT, carrier);
    if (carrier.queuedAt !== undefined) {
      this.tracer
        .startSpan(
          SPAN.queueWait,
          { startTime: carrier.queuedAt, attributes: { 'switchyard.queue.class': carrier.queueClass ?? '' } },
          parent,
        )
        .end();
    }
    return context.with(parent, fn);
  }

  /** A span whose parent is the carried context (a batch request run by a worker), `fn` inside it. */
  spanFrom<T>(
    carrier: TraceCarrier | undefined,
    name: string,
    fn: (span: Span) => Promise<T>,
    attributes?: Attributes,
  ): Promise<T> {
    if (!this.enabled) {
      return fn(NOOP_SPAN);
    }
    const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
    return context.with(parent, () => this.run(this.tracer.startSpan(name, { attributes }, parent), fn));
  }

  private async run<T>(span: Span, fn: (span: Span) => Promise<T> | T): Promise<T> {
    try {
      return await context.with(trace.setSpan(context.active(), span), () => fn(span));
    } catch (err) {
      span.setAttribute(ERROR_TYPE, errorType(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  }
}
