/**
 * Open-loop load: every request is sent at its scheduled time whether or not earlier ones have answered
 * (a fixed arrival rate, unlike autocannon's closed loop, where a slow answer delays the next request and
 * hides itself). Latency is measured from the **scheduled** send time, so a late harness cannot hide a slow
 * gateway either (no coordinated omission). One undici Agent with enough connections that the client never
 * queues.
 */
import { Agent, request } from 'undici';
import { percentile } from './load';

export interface ScheduledRequest {
  /** Send time, ms after the start of the run. */
  atMs: number;
  path: string;
  body: string;
  headers: Record<string, string>;
  stream: boolean;
  /** Free-form label for grouping (kind of request, repeat or not, …). */
  tag: string;
  /** Identifies the request content (equal ids = the same cache key). */
  id: string;
}

export interface Sample {
  tag: string;
  id: string;
  stream: boolean;
  /** Scheduled send time, ms after the start (performance.now() based). */
  atMs: number;
  /** Actual send − scheduled (ms): how late the harness was. */
  lateMs: number;
  status: number;
  /** From the scheduled time: response headers, first body byte, end of the body (ms). */
  headersMs: number;
  ttfbMs: number;
  totalMs: number;
  ok: boolean;
  error?: string;
  /** Response headers of interest (x-switchyard-*). */
  cache?: string;
  dedup?: string;
  target?: string;
  attempts?: string;
  /** `retry-after` of the answer (load shedding: 429 / 503). */
  retryAfter?: string;
}

export interface OpenLoopOptions {
  origin: string;
  /** Per-request timeout (ms), default 120 s. */
  timeoutMs?: number;
  /** performance.now() value of the run's t=0 (default: when run() is called). */
  t0?: number;
  /** Called once per finished request (e.g. live monitoring). */
  onSample?: (s: Sample) => void;
}

/** A stream answer is complete when it ends with message_stop and carries no error event. */
function validate(stream: boolean, status: number, text: string): string | undefined {
  if (status !== 200) {
    return `HTTP ${status}: ${text.slice(0, 160)}`;
  }
  if (stream) {
    if (text.includes('event: error')) {
      return `error event: ${text.slice(text.indexOf('event: error'), text.indexOf('event: error') + 200)}`;
    }
    return text.includes('event: message_stop') ? undefined : 'stream ended without message_stop';
  }
  return text.includes('"type":"message"') ? undefined : `not a message: ${text.slice(0, 160)}`;
}

const h1 = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Sends one request now (scheduled at t0 + r.atMs) on `agent` and measures it; never throws. */
export async function sendOne(agent: Agent, o: OpenLoopOptions, r: ScheduledRequest, t0: number): Promise<Sample> {
  const sent = performance.now();
  const scheduled = t0 + r.atMs;
  const s: Sample = {
    tag: r.tag,
    id: r.id,
    stream: r.stream,
    atMs: r.atMs,
    lateMs: sent - scheduled,
    status: 0,
    headersMs: NaN,
    ttfbMs: NaN,
    totalMs: NaN,
    ok: false,
  };
  try {
    const res = await request(o.origin + r.path, {
      method: 'POST',
      headers: r.headers,
      body: r.body,
      dispatcher: agent,
      signal: AbortSignal.timeout(o.timeoutMs ?? 120_000),
    });
    s.headersMs = performance.now() - scheduled;
    s.status = res.statusCode;
    s.cache = h1(res.headers['x-switchyard-cache']);
    s.dedup = h1(res.headers['x-switchyard-dedup']);
    s.target = h1(res.headers['x-switchyard-target']);
    s.attempts = h1(res.headers['x-switchyard-attempts']);
    s.retryAfter = h1(res.headers['retry-after']);
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      if (chunks.length === 0) {
        s.ttfbMs = performance.now() - scheduled;
      }
      chunks.push(chunk as Buffer);
    }
    s.totalMs = performance.now() - scheduled;
    if (Number.isNaN(s.ttfbMs)) {
      s.ttfbMs = s.totalMs;
    }
    s.error = validate(r.stream, s.status, Buffer.concat(chunks).toString('utf8'));
    s.ok = s.error === undefined;
  } catch (err) {
    s.totalMs = performance.now() - scheduled;
    s.error = `${(err as Error).name}: ${(err as Error).message}`;
  }
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `schedule` (sorted by atMs) open-loop and resolves with one sample per request once every answer
 * has ended (or failed). `stop()` on the returned handle stops sending further requests.
 */
export function runOpenLoop(schedule: ScheduledRequest[], o: OpenLoopOptions): { done: Promise<Sample[]>; stop: () => void } {
  return runOpenLoopIter(schedule, o);
}

/**
 * The same over any iterable, read one request at a time (a long run need not hold every body at once): the
 * iterator must yield requests sorted by atMs.
 */
export function runOpenLoopIter(schedule: Iterable<ScheduledRequest>, o: OpenLoopOptions): { done: Promise<Sample[]>; stop: () => void } {
  let stopped = false;
  const done = (async () => {
    const agent = new Agent({ connections: 1024, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
    const t0 = o.t0 ?? performance.now();
    const pending: Promise<Sample>[] = [];
    const it = schedule[Symbol.iterator]();
    let next = it.next();
    try {
      while (!next.done && !stopped) {
        const wait = t0 + next.value.atMs - performance.now();
        if (wait > 1) {
          await sleep(wait - 0.5);
          continue;
        }
        while (!next.done && t0 + next.value.atMs <= performance.now() + 0.5) {
          const p = sendOne(agent, o, next.value, t0);
          if (o.onSample) {
            const cb = o.onSample;
            void p.then((s) => cb(s));
          }
          pending.push(p);
          next = it.next();
        }
      }
      return await Promise.all(pending);
    } finally {
      await agent.close().catch(() => undefined);
    }
  })();
  return { done, stop: () => void (stopped = true) };
}

/** A fixed-rate schedule: request `i` at i × 1000 / rate ms, bodies from `make(i)`. */
export function fixedRate(rate: number, durationS: number, make: (i: number) => Omit<ScheduledRequest, 'atMs'>): ScheduledRequest[] {
  const n = Math.round(rate * durationS);
  return Array.from({ length: n }, (_, i) => ({ atMs: (i * 1000) / rate, ...make(i) }));
}

export interface LatencyStats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function stats(values: number[]): LatencyStats {
  const v = Float64Array.from(values.filter((x) => Number.isFinite(x))).sort();
  const sum = v.reduce((a, b) => a + b, 0);
  return {
    n: v.length,
    p50: percentile(v, 50),
    p95: percentile(v, 95),
    p99: percentile(v, 99),
    max: v.length > 0 ? v[v.length - 1] : NaN,
    mean: v.length > 0 ? sum / v.length : NaN,
  };
}

export const fmtMs = (n: number): string =>
  !Number.isFinite(n) ? '–' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n.toFixed(2);
