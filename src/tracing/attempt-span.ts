import { SpanKind, SpanStatusCode, context, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { StreamEvent, Usage } from '../protocol/types';
import { ERROR_TYPE, GEN_AI } from './span-names';

/** What the tracer needs to know about one upstream attempt (FailoverService's launch). */
export interface AttemptSpanInfo {
  /** "provider,model". */
  target: string;
  hedge: boolean;
  probe: boolean;
  /** `error.type` of an attempt that failed before its first event (the failover reason). */
  errorType: (error: Error) => string;
}

/** The parts of failover's RunningAttempt / AttemptResult this file touches (kept structural: no import cycle). */
interface OpenedLike {
  head: StreamEvent[];
  iterator: AsyncIterator<StreamEvent>;
  deadline: { expired?: unknown; signal: AbortSignal };
}
type ResultLike =
  { ok: true; opened: OpenedLike } | { ok: false; error: Error & { status?: number; kind?: string } };
export interface RunningLike {
  done: Promise<ResultLike>;
}

const totalInput = (u: Partial<Usage>): number =>
  (u.input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);

function fail(span: Span, type: string, message?: string): void {
  span.setAttribute(ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** Records usage, finish reason and the answer's id as the events go by; true once the answer is over. */
function observe(span: Span, ev: StreamEvent): 'ok' | 'error' | undefined {
  switch (ev.type) {
    case 'message_start': {
      const u = ev.message.usage;
      span.setAttribute(GEN_AI.responseId, ev.message.id);
      span.setAttribute(GEN_AI.inputTokens, totalInput(u));
      span.setAttribute(GEN_AI.outputTokens, u.output_tokens ?? 0);
      if (u.cache_read_input_tokens) {
        span.setAttribute(GEN_AI.cacheReadTokens, u.cache_read_input_tokens);
      }
      if (u.cache_creation_input_tokens) {
        span.setAttribute(GEN_AI.cacheCreationTokens, u.cache_creation_input_tokens);
      }
      return undefined;
    }
    case 'message_delta': {
      const u = ev.usage;
      if (u.input_tokens !== undefined) {
        span.setAttribute(GEN_AI.inputTokens, totalInput(u));
      }
      span.setAttribute(GEN_AI.outputTokens, u.output_tokens);
      if (ev.delta.stop_reason) {
        span.setAttribute(GEN_AI.finishReasons, [ev.delta.stop_reason]);
      }
      return undefined;
    }
    case 'message_stop':
      return 'ok';
    case 'error':
      fail(span, ev.error.type, ev.error.message);
      return 'error';
    case 'content_block_start':
    case 'content_block_delta':
    case 'content_block_stop':
    case 'ping':
      return undefined;
  }
}

/**
 * The committed attempt's stream, watched: the span lives until the answer is over (message_stop, an error
 * event, the end, or the consumer leaving), so it carries the final usage.
 */
function watched(span: Span, opened: OpenedLike): AsyncIterator<StreamEvent> {
  const inner = opened.iterator;
  let open = true;
  const end = (): void => {
    if (open) {
      open = false;
      span.end();
    }
  };
  for (const ev of opened.head) {
    if (observe(span, ev)) {
      end();
    }
  }
  return {
    next: async () => {
      try {
        const r = await inner.next();
        if (r.done) {
          end();
        } else if (open && observe(span, r.value)) {
          end();
        }
        return r;
      } catch (err) {
        if (open) {
          fail(span, 'upstream_error', (err as Error)?.message);
          end();
        }
        throw err;
      }
    },
    return: async (value?: unknown) => {
      if (open) {
        const reason: unknown = opened.deadline.signal.aborted ? opened.deadline.signal.reason : undefined;
        if (opened.deadline.expired) {
          fail(span, 'timeout', (opened.deadline.expired as Error).message);
        } else if ((reason as Error | undefined)?.name === 'HedgeLostError') {
          fail(span, 'hedge_lost');
        } else {
          span.setAttribute('switchyard.attempt.end', 'client_closed');
        }
        end();
      }
      return (await inner.return?.(value)) ?? { done: true, value: undefined };
    },
  };
}

/**
 * One upstream attempt as a GenAI client span (`chat <model>`), active while the attempt runs so the
 * adapter's request carries it as `traceparent`. A failure before the first event ends it with
 * `error.type`; a committed attempt's span ends with its stream.
 */
export function traceAttempt<A extends RunningLike>(
  tracer: Tracer,
  info: AttemptSpanInfo,
  start: () => A,
): A {
  const comma = info.target.indexOf(',');
  const provider = info.target.slice(0, comma);
  const model = info.target.slice(comma + 1);
  const span = tracer.startSpan(
    `chat ${model}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [GEN_AI.operation]: 'chat',
        [GEN_AI.provider]: provider,
        [GEN_AI.requestModel]: model,
        'switchyard.target': info.target,
        'switchyard.attempt.hedge': info.hedge,
        'switchyard.attempt.probe': info.probe,
      },
    },
    context.active(),
  );
  const running = context.with(trace.setSpan(context.active(), span), start);
  const done = running.done.then((result) => {
    if (!result.ok) {
      if (result.error.kind === 'http' && result.error.status !== undefined) {
        span.setAttribute('http.response.status_code', result.error.status);
      }
      fail(span, info.errorType(result.error), result.error.message);
      span.end();
      return result;
    }
    // Adapters echo the client's model name in events; the model that answered is the target's.
    span.setAttribute(GEN_AI.responseModel, model);
    result.opened.iterator = watched(span, result.opened);
    return result;
  });
  return { ...running, done };
}
