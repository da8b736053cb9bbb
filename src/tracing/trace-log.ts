import { context, trace } from '@opentelemetry/api';

/**
 * pino mixin: `trace_id` / `span_id` of the span active where the line is logged (installed only when
 * tracing is on). Lines outside any span get nothing.
 */
export function traceLogFields(): Record<string, string> {
  const sc = trace.getSpanContext(context.active());
  return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}
