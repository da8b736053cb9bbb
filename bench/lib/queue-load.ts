/**
 * Clients of the queue benchmark: a burst (N streaming requests sent at once, one undici Agent with a socket
 * for each, so the client never queues) and a closed loop (c workers, each sending its next request when
 * the previous answer has ended) for the added-latency cells.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent, Pool, request } from 'undici';
import type { Sample } from './open-loop';

export interface RequestSpec {
  path: string;
  headers: Record<string, string>;
  body: string;
  stream: boolean;
}

export const ANTHROPIC_HEADERS = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };

/** A stream is complete when it ends with message_stop and carries no error event; JSON must be a message. */
export function answerError(stream: boolean, status: number, text: string): string | undefined {
  if (status !== 200) {
    return `HTTP ${status}: ${text.slice(0, 160)}`;
  }
  if (stream) {
    const at = text.indexOf('event: error');
    if (at >= 0) {
      return `error event: ${text.slice(at, at + 200)}`;
    }
    return text.includes('event: message_stop') ? undefined : 'stream ended without message_stop';
  }
  return text.includes('"type":"message"') ? undefined : `not a message: ${text.slice(0, 160)}`;
}

export interface BurstResult {
  samples: Sample[];
  /** performance.now() of t=0 (every request is scheduled at 0). */
  t0: number;
  /** How long sending all the requests took in the harness (ms). */
  sendSpreadMs: number;
  /** The harness' own event-loop lag during the burst (p99 / max, ms; 10 ms resolution subtracted). */
  clientLagP99Ms: number;
  clientLagMaxMs: number;
}

/** Sends every request at t=0 and resolves once every answer has ended (or failed). */
export async function burst(origin: string, specs: RequestSpec[], tag: string, timeoutMs = 120_000): Promise<BurstResult> {
  const agent = new Agent({ connections: specs.length + 16, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  const t0 = performance.now();
  const one = async (spec: RequestSpec, i: number): Promise<Sample> => {
    const sent = performance.now();
    const s: Sample = { tag, id: `${tag}:${i}`, stream: spec.stream, atMs: 0, lateMs: sent - t0, status: 0, headersMs: NaN, ttfbMs: NaN, totalMs: NaN, ok: false };
    try {
      const res = await request(origin + spec.path, {
        method: 'POST',
        headers: spec.headers,
        body: spec.body,
        dispatcher: agent,
        signal: AbortSignal.timeout(timeoutMs),
      });
      s.headersMs = performance.now() - t0;
      s.status = res.statusCode;
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) {
        if (chunks.length === 0) {
          s.ttfbMs = performance.now() - t0;
        }
        chunks.push(chunk as Buffer);
      }
      s.totalMs = performance.now() - t0;
      if (Number.isNaN(s.ttfbMs)) {
        s.ttfbMs = s.totalMs;
      }
      s.error = answerError(spec.stream, s.status, Buffer.concat(chunks).toString('utf8'));
      s.ok = s.error === undefined;
    } catch (err) {
      s.totalMs = performance.now() - t0;
      s.error = `${(err as Error).name}: ${(err as Error).message}`;
    }
    return s;
  };
  const pending = specs.map((spec, i) => one(spec, i));
  const sendSpreadMs = performance.now() - t0;
  try {
    const samples = await Promise.all(pending);
    eld.disable();
    const lag = (ns: number) => Math.max(0, ns / 1e6 - 10);
    return { samples, t0, sendSpreadMs, clientLagP99Ms: lag(eld.percentile(99)), clientLagMaxMs: lag(eld.max) };
  } finally {
    await agent.close().catch(() => undefined);
  }
}

export interface ClosedLoopResult {
  /** Latency of each successful request (ms, request sent → body fully read). */
  latencies: number[];
  errors: number;
  firstError?: string;
  elapsedMs: number;
}

/** A pool of `concurrency` sockets to one origin; reuse it across rounds so the sockets stay warm. */
export function clientPool(origin: string, concurrency: number): Pool {
  return new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
}

/** `concurrency` workers send `n` requests in all, each the next as soon as its previous answer has ended. */
export async function closedLoop(pool: Pool, spec: RequestSpec, concurrency: number, n: number): Promise<ClosedLoopResult> {
  const out: ClosedLoopResult = { latencies: [], errors: 0, elapsedMs: 0 };
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < n) {
      next += 1;
      const t = performance.now();
      try {
        const res = await pool.request({ method: 'POST', path: spec.path, headers: spec.headers, body: spec.body });
        const text = await res.body.text();
        const ms = performance.now() - t;
        const err = answerError(spec.stream, res.statusCode, text);
        if (err) {
          out.errors += 1;
          out.firstError ??= err;
        } else {
          out.latencies.push(ms);
        }
      } catch (err) {
        out.errors += 1;
        out.firstError ??= `${(err as Error).name}: ${(err as Error).message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  out.elapsedMs = performance.now() - t0;
  return out;
}
