import { context, propagation, trace } from '@opentelemetry/api';
import { tracingGlobalsActive } from './tracer-provider';

/**
 * The upstream request's headers plus `traceparent` (and `tracestate`) of the active span, so a provider
 * that traces sees the gateway's attempt as its parent. Tracing off or no span: the same object, untouched.
 */
export function withTraceHeaders(
  headers: Record<string, string> | undefined,
): Record<string, string> | undefined {
  if (!tracingGlobalsActive()) {
    return headers;
  }
  const active = context.active();
  if (!trace.getSpanContext(active)) {
    return headers;
  }
  const out: Record<string, string> = { ...(headers ?? {}) };
  propagation.inject(active, out);
  return out;
}
