import { SseParser, type SseMessage } from '../protocol/sse';
import type { StreamEvent } from '../protocol/types';
import type { UpstreamBody } from './upstream.client';

const MAX_ERROR_BODY = 64 * 1024;
/** After the terminal event, how long/much of the upstream's tail we read so its socket can be reused. */
const DRAIN_MS = 250;
const DRAIN_BYTES = 64 * 1024;

/** Reads what is left of a finished stream (the chunked terminator after `[DONE]`), bounded in time and size. */
async function drain(it: AsyncIterator<Uint8Array>, destroy: () => void): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  let bytes = 0;
  for (;;) {
    const next = it.next();
    next.catch(() => undefined); // may reject after we stop waiting (destroyed socket)
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), Math.max(deadline - Date.now(), 0));
    });
    const r: IteratorResult<Uint8Array> | null = await Promise.race([next, timeout])
      .catch(() => null)
      .finally(() => clearTimeout(timer));
    if (r === null || (!r.done && (bytes += r.value.length) > DRAIN_BYTES)) {
      destroy(); // an upstream that keeps talking after its end does not get to hold the consumer
      return;
    }
    if (r.done) {
      return;
    }
  }
}

/**
 * SSE messages off an upstream body. When the consumer stops early (after the terminal event) the tail
 * is drained briefly so the keep-alive socket goes back to the pool instead of being destroyed.
 */
export async function* readSse(
  source: AsyncIterable<Uint8Array>,
  destroy: () => void,
): AsyncGenerator<SseMessage, void, undefined> {
  const parser = new SseParser();
  const it = source[Symbol.asyncIterator]();
  let ended = false;
  try {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      yield* parser.push(r.value);
    }
    ended = true;
    yield* parser.end();
  } finally {
    if (!ended) {
      await drain(it, destroy);
    }
  }
}

/** Reads a (small) body as text, capped so a hostile upstream cannot make us buffer megabytes of error page. */
export async function readCappedText(body: UpstreamBody, limit = MAX_ERROR_BODY): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      parts.push(buf);
      size += buf.length;
      if (size >= limit) {
        break;
      }
    }
  } finally {
    if (!body.readableEnded) {
      body.destroy();
    }
  }
  return Buffer.concat(parts).subarray(0, limit).toString('utf8');
}

/** Reads a whole JSON body (non-stream answers); no cap beyond what the upstream sends. */
export async function readJson(body: UpstreamBody): Promise<unknown> {
  const text = await body.text();
  return JSON.parse(text);
}

/**
 * Wraps an event generator so that `return()` — the consumer walking away (client disconnect, failover
 * dropping an attempt) — destroys the upstream body even if iteration never started: an un-started async
 * generator skips its `finally`, which would leak the socket.
 */
export function eventIterable(
  gen: AsyncGenerator<StreamEvent, void, undefined>,
  body: UpstreamBody,
): AsyncIterable<StreamEvent> {
  const release = (): void => {
    if (!body.destroyed && !body.readableEnded) {
      body.destroy();
    }
  };
  let taken = false;
  return {
    [Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
      if (taken) {
        throw new Error('upstream event stream can be iterated only once');
      }
      taken = true;
      return {
        next: () => gen.next(),
        return: async (value?: unknown) => {
          release();
          await gen.return(undefined);
          return { done: true, value: value as StreamEvent };
        },
        throw: async (err?: unknown) => {
          release();
          return gen.throw(err);
        },
      };
    },
  };
}

/** Collects an event iterable (tests, non-stream callers). */
export async function collectEvents(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const ev of events) {
    out.push(ev);
  }
  return out;
}
