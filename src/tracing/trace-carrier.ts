/**
 * The trace context a unit of work carries across a process boundary (a BullMQ job, a batch job): the W3C
 * `traceparent` / `tracestate` of the span that handed it over. Plain JSON; absent when tracing is off.
 */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
  /** Date.now() when the work was queued: the worker records the queue wait as a span of the trace. */
  queuedAt?: number;
  /** The queue class it waited in. */
  queueClass?: string;
}
