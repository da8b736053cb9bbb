/** A gateway whose spans land in an in-memory exporter, in front of fake providers. */
import { Global, Module } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { eventually } from '../support/gateway';
import { startTestApp, type TestApp } from '../support/test-app';
import { SPAN_EXPORTER } from '../../src/tracing/tracing.constants';

export interface TracedGateway extends TestApp {
  exporter: InMemorySpanExporter;
  /** `bad` answers every chat request with a 503; `good` answers normally. */
  bad: FakeProvider;
  good: FakeProvider;
  stop(): Promise<void>;
}

export function fakeProvider(name: string, url: string): Record<string, unknown> {
  return { name, api_base_url: `${url}/v1/chat/completions`, api_key: `sk-${name}`, models: ['m1'] };
}

/** Router default: `bad,m1` first, `good,m1` as its fallback. */
export async function startTracedGateway(config: Record<string, unknown> = {}): Promise<TracedGateway> {
  const bad = await startFakeProvider({ defaults: { fault: { type: 'status', status: 503 } } });
  const good = await startFakeProvider();
  const exporter = new InMemorySpanExporter();

  @Global()
  @Module({ providers: [{ provide: SPAN_EXPORTER, useValue: exporter }], exports: [SPAN_EXPORTER] })
  class InMemoryExporterModule {}

  const app = await startTestApp({
    userConfig: {
      Providers: [fakeProvider('bad', bad.url), fakeProvider('good', good.url)],
      Router: { default: ['bad,m1', 'good,m1'] },
      // Probes and a moving score order would make the chain order depend on timing.
      Failover: { health: { enabled: false } },
      Tracing: { enabled: true },
      ...config,
    },
    imports: [InMemoryExporterModule],
    logLevel: 'info', // the access lines too
  });
  return {
    ...app,
    exporter,
    bad,
    good,
    stop: async () => {
      await app.close();
      await Promise.all([bad.close(), good.close()]);
    },
  };
}

/** The finished spans of one trace, once its server span has ended. */
export async function traceOf(exporter: InMemorySpanExporter, traceId?: string): Promise<ReadableSpan[]> {
  let server: ReadableSpan | undefined;
  await eventually(() => {
    server = exporter
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.SERVER && (!traceId || s.spanContext().traceId === traceId));
    return server !== undefined;
  });
  const id = (server as ReadableSpan).spanContext().traceId;
  return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === id);
}

export const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] =>
  spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

/** Span names, sorted (start times are only millisecond-precise, so the start order is not a stable key). */
export const namesOf = (spans: ReadableSpan[]): string[] => spans.map((s) => s.name).sort();

/** An HrTime in nanoseconds. */
export const ns = (t: [number, number]): number => t[0] * 1e9 + t[1];

/** A fresh W3C traceparent, as a tracing client would send it. */
export function clientTraceparent(): { header: string; traceId: string; spanId: string } {
  const hex = (n: number): string =>
    Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const traceId = hex(32);
  const spanId = hex(16);
  return { header: `00-${traceId}-${spanId}-01`, traceId, spanId };
}
