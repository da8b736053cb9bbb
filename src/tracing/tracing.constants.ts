/** Optional provider: a SpanExporter that replaces the OTLP one (tests use the SDK's InMemorySpanExporter). */
export const SPAN_EXPORTER = Symbol('SPAN_EXPORTER');
