import { context, propagation, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { AsyncResource } from 'node:async_hooks';
import type { SwitchyardConfig } from '../config/config.schema';

type TracingConfig = SwitchyardConfig['Tracing'];

let globalsRegistered = false;

/** True once this process carries trace context (async context + W3C propagator installed). */
export function tracingGlobalsActive(): boolean {
  return globalsRegistered;
}

/**
 * The async-context manager and the W3C propagator are process-wide by nature. Installed once, and only
 * when tracing is on: with tracing off `context.with` stays the API's pass-through and nothing is stored.
 */
export function registerTracingGlobals(): void {
  if (globalsRegistered) {
    return;
  }
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  globalsRegistered = true;
}

/**
 * Batching starts its export timer when a span ends, i.e. inside some request's async context: the export
 * (and the warning when the collector is down) would then run as part of that request — its request id and
 * trace id on the line. The processor's work runs in the context it was created in (boot) instead.
 */
class DetachedSpanProcessor implements SpanProcessor {
  private readonly scope = new AsyncResource('switchyard.trace-export');

  constructor(private readonly inner: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.scope.runInAsyncScope(() => this.inner.onEnd(span));
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

export function otlpExporter(cfg: TracingConfig): SpanExporter {
  const options = { url: cfg.endpoint, headers: cfg.headers, timeoutMillis: cfg.exportTimeoutMs };
  return cfg.protocol === 'http/json' ? new OtlpJsonExporter(options) : new OtlpProtoExporter(options);
}

/**
 * The SDK's tracer provider for this application. It is deliberately not registered as the global one:
 * the gateway's spans come from TracingService, and two applications in one process (tests) keep their
 * own exporters. An injected exporter (tests) is flushed span by span; the OTLP one in batches, bounded.
 */
export function buildTracerProvider(cfg: TracingConfig, injected?: SpanExporter): BasicTracerProvider {
  const processor = injected
    ? new SimpleSpanProcessor(injected)
    : new DetachedSpanProcessor(
        new BatchSpanProcessor(otlpExporter(cfg), {
          maxQueueSize: 2048,
          maxExportBatchSize: 512,
          scheduledDelayMillis: 2000,
          exportTimeoutMillis: cfg.exportTimeoutMs,
        }),
      );
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': cfg.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(cfg.sampleRatio) }),
    spanProcessors: [processor],
  });
}
