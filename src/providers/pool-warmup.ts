import { setMaxListeners } from 'node:events';
import type { Dispatcher } from 'undici';
import type { OriginOverrides, UpstreamClient } from './upstream.client';

/** An origin to keep warm, with the pool settings of the first provider that uses it. */
export interface WarmTarget {
  origin: string;
  pool?: OriginOverrides;
}

export interface WarmResult {
  origin: string;
  /** Probes that got any HTTP answer: each one proves a connected socket. */
  opened: number;
  failed: number;
  ms: number;
  /** The first failure, for the log line. */
  error?: string;
}

/**
 * Opens `count` sockets to an origin: `count` concurrent `GET /` requests, so that with pipelining 1 each
 * needs its own connection. Any status counts (a 404 from an API root still leaves a keep-alive socket
 * behind); only a transport failure or the deadline is a failure. Never throws.
 *
 * Not HEAD: undici closes the socket after every HEAD (nodejs/undici#258, servers that send a body
 * anyway), which would leave nothing warm.
 */
export async function warmOrigin(
  client: UpstreamClient,
  target: WarmTarget,
  count: number,
  signal: AbortSignal,
): Promise<WarmResult> {
  const started = performance.now();
  // Each probe listens on the signal; more than 10 would print a (false) leak warning.
  setMaxListeners(Math.max(10, count + 1), signal);
  let dispatcher: Dispatcher;
  try {
    dispatcher = client.dispatcherFor(`${target.origin}/`, target.pool);
  } catch (err) {
    return { origin: target.origin, opened: 0, failed: count, ms: 0, error: (err as Error).message };
  }
  const probes = await Promise.allSettled(
    Array.from({ length: count }, () => probe(dispatcher, target.origin, signal)),
  );
  const failures = probes.filter((p): p is PromiseRejectedResult => p.status === 'rejected');
  return {
    origin: target.origin,
    opened: count - failures.length,
    failed: failures.length,
    ms: Math.round((performance.now() - started) * 10) / 10,
    error: failures.length > 0 ? describe(failures[0].reason) : undefined,
  };
}

async function probe(dispatcher: Dispatcher, origin: string, signal: AbortSignal): Promise<void> {
  const res = await dispatcher.request({ origin, path: '/', method: 'GET', signal });
  // dump() stops reading (and drops the socket) past 128 KiB: a root page is not worth more.
  await res.body.dump();
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  return [e.code ?? e.cause?.code, e.message].filter(Boolean).join(': ') || String(err);
}
