import type { Writable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { plainSseSink, type SseSink } from '../compression/sse-compressor.service';
import { AnthropicToOpenAIChunks } from '../protocol/anthropic-stream-to-openai';
import { isResumedAnswer } from '../failover/stream-resume';
import { legacyFunctionChunk } from '../protocol/legacy-function-answer';
import { encodeAnthropicEvent, encodeOpenAIData, encodeSseComment } from '../protocol/sse';
import type { MessageStartEvent, StreamEvent } from '../protocol/types';

export type IngressFormat = 'anthropic' | 'openai';

export interface SseOptions {
  format: IngressFormat;
  /** OpenAI ingress: the client asked for `stream_options.include_usage`. */
  includeUsage: boolean;
  /** OpenAI ingress: tool calls go out as the deprecated `delta.function_call` (the request used `functions`). */
  legacyFunctions?: boolean;
  /** The model the client asked for: every answer echoes it (PROTOCOL §6.4), whoever's call produced it. */
  model: string;
  /** A fresh message id for an answer that is a replay (cache hit, coalesced follower): one id per response. */
  messageId?: string;
  /** Keep-alive while the upstream is silent (Anthropic `ping` events, OpenAI SSE comments). */
  pingIntervalMs: number;
  /** The events already pulled before the stream was committed (normally the first one). */
  head: StreamEvent[];
  /** Bytes a slow client may leave unread before we stop pulling from upstream (backpressure). */
  highWaterMark?: number;
  /** Where the bytes go (a flush-per-event compressor with Compression.streams); the raw response by default. */
  sink?: (reply: FastifyReply) => SseSink;
  /** A client that reads nothing for this long is cut (its upstream is then aborted). Default 60 s. */
  stalledClientMs?: number;
}

export interface StreamOutcome {
  completed: boolean;
  clientClosed: boolean;
  error?: StreamEvent & { type: 'error' };
  bytes: number;
}

/**
 * Process-wide egress counters (Prometheus reads them at scrape): waits for a slow client's socket to drain,
 * and clients cut for not reading. Plain numbers: the hot path pays an increment, nothing more.
 */
const egress = { backpressurePauses: 0, stalledClients: 0 };

export function egressCounters(): Readonly<typeof egress> {
  return { ...egress };
}

/** The streams being written right now, each with its way to end early (the shutdown's last word). */
const openStreams = new Set<(message: string) => void>();

/**
 * Ends every stream still being written with a terminal `error` event (`overloaded_error`, so clients and
 * SDKs retry elsewhere) instead of a cut connection. Returns how many there were.
 */
export function endOpenStreams(message: string): number {
  const ends = [...openStreams];
  for (const end of ends) {
    end(message);
  }
  return ends.length;
}

/**
 * Writes respecting backpressure: resolves when the socket can take more, or false if it closed. A client
 * that has not drained within `stalledMs` is cut: holding its answer would hold the upstream call and the
 * buffered bytes for as long as the client likes.
 */
async function writeChunk(
  res: Writable,
  chunk: string,
  highWaterMark: number,
  stalledMs: number,
): Promise<boolean> {
  if (res.destroyed || res.writableEnded) {
    return false;
  }
  const ok = res.write(chunk);
  if (ok || res.writableLength < highWaterMark) {
    return true;
  }
  egress.backpressurePauses++;
  return new Promise<boolean>((resolve) => {
    const done = (value: boolean) => () => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(value);
    };
    const onDrain = done(true);
    const onClose = done(false);
    const timer = setTimeout(() => {
      egress.stalledClients++;
      onClose();
      res.destroy(new Error(`client did not read for ${stalledMs} ms`));
    }, stalledMs);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

const MESSAGE_STOP: StreamEvent = { type: 'message_stop' };

/** Serialises canonical events into the client's SSE dialect. */
function serializer(opts: SseOptions): (ev: StreamEvent) => string {
  if (opts.format === 'anthropic') {
    // Internal markers stay inside: a resumed answer's message_stop (for the cache), a refusal text block.
    return (ev) =>
      encodeAnthropicEvent(
        ev.type === 'message_start'
          ? forClient(ev, opts.model, opts.messageId)
          : isResumedAnswer(ev)
            ? MESSAGE_STOP
            : withoutRefusalMark(ev),
      );
  }
  const chunks = new AnthropicToOpenAIChunks({ model: opts.model, includeUsage: opts.includeUsage });
  const legacy = opts.legacyFunctions === true;
  return (ev) => {
    let out = '';
    for (const item of chunks.push(ev)) {
      out += encodeOpenAIData(legacy && item !== '[DONE]' ? legacyFunctionChunk(item) : item);
    }
    return out;
  };
}

/**
 * The client's own message_start: a cached or shared event log carries the model (and id) of the request
 * that produced it, which may have named the same target differently. A copy: the log is shared.
 */
function forClient(ev: MessageStartEvent, model: string, id: string | undefined): MessageStartEvent {
  return { ...ev, message: { ...ev.message, model, id: id ?? ev.message.id } };
}

function withoutRefusalMark(ev: StreamEvent): StreamEvent {
  if (ev.type !== 'content_block_start' || ev.refusal === undefined) {
    return ev;
  }
  const { refusal: _mark, ...plain } = ev;
  return plain;
}

/**
 * The pull-based egress writer (ARCHITECTURE.md §1): it asks the upstream iterator for the next event only
 * once the client's socket has taken the previous one, so a slow client slows the upstream read (TCP
 * backpressure) instead of growing memory. Headers Fastify hooks set (request id, CORS) are kept when the
 * raw response is taken over. A terminal `error` event ends the stream; it is never turned into a clean end.
 */
export async function writeSse(
  reply: FastifyReply,
  events: AsyncIterator<StreamEvent>,
  opts: SseOptions,
): Promise<StreamOutcome> {
  const highWaterMark = opts.highWaterMark ?? 64 * 1024;
  const stalledMs = opts.stalledClientMs ?? 60_000;
  const encode = serializer(opts);
  const outcome: StreamOutcome = { completed: false, clientClosed: false, bytes: 0 };
  reply.hijack();
  const sink = opts.sink ? opts.sink(reply) : plainSseSink(reply.raw);
  const res = sink.stream;
  const headers: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) {
      headers[name] = value;
    }
  }
  reply.raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...sink.headers,
  });
  const ping =
    opts.format === 'anthropic' ? encodeAnthropicEvent({ type: 'ping' }) : encodeSseComment('ping');
  const end = (message: string): void => {
    if (res.destroyed || res.writableEnded) {
      return;
    }
    const ev: StreamEvent & { type: 'error' } = {
      type: 'error',
      error: { type: 'overloaded_error', message },
    };
    outcome.error = ev;
    res.write(encode(ev));
    sink.end();
  };
  openStreams.add(end);

  const emit = async (ev: StreamEvent): Promise<boolean> => {
    const text = encode(ev);
    outcome.bytes += Buffer.byteLength(text);
    if (ev.type === 'error') {
      outcome.error = ev;
    } else if (ev.type === 'message_stop') {
      outcome.completed = true;
    }
    return text === '' ? true : writeChunk(res, text, highWaterMark, stalledMs);
  };

  const keepAlive = new KeepAlive(opts.pingIntervalMs, () => {
    // Only while waiting on the upstream, and never into a full socket buffer (a client not reading is the
    // stalled-client timer's business, on the next real event).
    if (!res.destroyed && !res.writableEnded && res.writableLength < highWaterMark) {
      res.write(ping);
    }
  });
  let pending: Promise<IteratorResult<StreamEvent>> | undefined;
  try {
    for (const ev of opts.head) {
      if (!(await emit(ev)) || ev.type === 'error' || ev.type === 'message_stop') {
        return finish(reply, sink, outcome);
      }
    }
    for (;;) {
      pending = events.next();
      keepAlive.waiting = true;
      const next = await pending;
      keepAlive.waiting = false;
      keepAlive.touch();
      pending = undefined;
      if (next.done) {
        break;
      }
      if (!(await emit(next.value)) || next.value.type === 'error' || next.value.type === 'message_stop') {
        break;
      }
    }
  } finally {
    openStreams.delete(end);
    keepAlive.stop();
    finish(reply, sink, outcome);
    releaseEvents(events, pending);
  }
  return outcome;
}

/**
 * Keep-alive pings while the upstream is silent: one lazy timer per stream. An event only records the time
 * (`touch`); the timer, when it fires, re-arms itself for the rest of the interval unless the stream has
 * really been silent for a whole interval while waiting on the upstream. (A timer and a promise race per
 * event cost more than the event's own serialisation.)
 */
class KeepAlive {
  waiting = false;
  private lastAt = performance.now();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly intervalMs: number,
    private readonly ping: () => void,
  ) {
    this.arm(intervalMs);
  }

  touch(): void {
    this.lastAt = performance.now();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.due, Math.max(1, ms));
  }

  private readonly due = (): void => {
    const silentMs = performance.now() - this.lastAt;
    if (silentMs + 1 < this.intervalMs) {
      this.arm(this.intervalMs - silentMs);
      return;
    }
    if (this.waiting) {
      this.ping();
    }
    this.touch();
    this.arm(this.intervalMs);
  };
}

/**
 * The writer is done with `events` (terminal event written, client gone, or write failed): let the chain
 * behind it finish so its cleanup runs — provider and class slots, queue relays, cache recording, dedup
 * detach. After a terminal event the upstream normally ends at once, so one more pull completes the chain
 * naturally; whatever is still open a moment later is closed. Never delays the response.
 */
export function releaseEvents(
  events: AsyncIterator<StreamEvent>,
  pending?: Promise<IteratorResult<StreamEvent>>,
): void {
  void (async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pending ?? events.next(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, TAIL_MS);
        }),
      ]);
    } catch {
      // a failing tail has nothing left to give
    } finally {
      clearTimeout(timer);
    }
    try {
      await events.return?.(undefined);
    } catch {
      // already closed
    }
  })();
}

function finish(reply: FastifyReply, sink: SseSink, outcome: StreamOutcome): StreamOutcome {
  if (reply.raw.destroyed && !reply.raw.writableEnded) {
    outcome.clientClosed = true;
  }
  sink.end();
  return outcome;
}

/** How long the tail of a finished answer may take to end by itself before it is closed. */
const TAIL_MS = 1000;
