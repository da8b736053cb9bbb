import type { FastifyReply, FastifyRequest } from 'fastify';

/** How long a rejected upload may keep coming before its connection is cut anyway. */
export const DRAIN_MAX_MS = 60_000;
/** Bytes read away at least, whatever the body limit: a body somewhat over a small limit still gets its 413. */
export const DRAIN_MIN_BYTES = 64 * 1024 * 1024;

export interface DrainLimits {
  /** Bytes read and discarded after the rejection at most; past them the connection is cut. */
  maxBytes: number;
  maxMs?: number;
}

/**
 * After a body was refused for its size (413), the rest of the upload is read and thrown away, up to a
 * bound, instead of closing the connection under a client that is still writing: that client would get
 * EPIPE / ECONNRESET instead of the 413 (and an SDK then retries, uploading it all again). Fastify marks
 * the answer `connection: close`; it is kept alive instead, so Node neither cuts the socket after the
 * answer nor dumps the rest of the body without a bound. Past `maxBytes` or `maxMs` the socket is cut.
 */
export function drainRejectedUpload(request: FastifyRequest, reply: FastifyReply, limits: DrainLimits): void {
  const raw = request.raw;
  const declared = Number(raw.headers['content-length']);
  // Declared longer than we would read: no use reading part of it; the connection closes as Fastify set.
  if (raw.complete || raw.destroyed || declared > limits.maxBytes) {
    return;
  }
  reply.removeHeader('connection');
  const socket = raw.socket;
  let discarded = 0;
  const cut = (): void => {
    cleanup();
    socket.destroy();
  };
  const onData = (chunk: Buffer | string): void => {
    discarded += chunk.length;
    if (discarded > limits.maxBytes) {
      cut();
    }
  };
  const timer = setTimeout(cut, limits.maxMs ?? DRAIN_MAX_MS);
  timer.unref();
  function cleanup(): void {
    clearTimeout(timer);
    raw.off('data', onData);
    raw.off('end', cleanup);
    raw.off('close', cleanup);
  }
  // A 'data' listener makes the request flow (and marks it consumed: Node does not dump it unbounded).
  raw.on('data', onData);
  raw.once('end', cleanup);
  raw.once('close', cleanup);
}
