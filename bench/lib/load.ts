/**
 * Load generation: autocannon (programmatic API) for throughput/latency cells, and a sequential undici
 * client for time to first byte. Latency percentiles are computed from every response's own time
 * (autocannon's histogram has 1 ms resolution and no p95).
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { Client } from 'undici';

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  resets: number;
}
interface AutocannonInstance extends EventEmitter {
  stop(): void;
}
type Autocannon = (
  opts: Record<string, unknown>,
  done: (err: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

// autocannon ships no type declarations.
const autocannon = createRequire(__filename)('autocannon') as Autocannon;

export interface LoadSpec {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  durationS: number;
  /** Per-request timeout (s). */
  timeoutS?: number;
}

export interface LoadResult {
  /** 2xx responses completed in the measurement window. */
  requests: number;
  durationS: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) {
    return NaN;
  }
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const times: number[] = [];
  let non2xx = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        method: 'POST',
        headers: spec.headers,
        body: spec.body,
        connections: spec.connections,
        pipelining: 1,
        duration: spec.durationS,
        timeout: spec.timeoutS ?? 30,
      },
      (err, result) => {
        if (err) {
          reject(err);
          return;
        }
        const sorted = Float64Array.from(times).sort();
        const sum = times.reduce((a, b) => a + b, 0);
        resolve({
          requests: times.length,
          durationS: result.duration,
          rps: times.length / result.duration,
          p50: percentile(sorted, 50),
          p95: percentile(sorted, 95),
          p99: percentile(sorted, 99),
          mean: sum / Math.max(1, times.length),
          max: sorted[sorted.length - 1] ?? NaN,
          errors: result.errors + result.mismatches,
          timeouts: result.timeouts,
          non2xx: Math.max(non2xx, result.non2xx),
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) {
        times.push(responseTime);
      } else {
        non2xx++;
      }
    });
  });
}

/** One request with undici; returns status and body text (sanity check before a cell). */
export async function probe(
  origin: string,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const res = await fetch(origin + path, { method: 'POST', body, headers });
  return { status: res.status, text: await res.text() };
}

export interface TtfbTarget {
  name: string;
  origin: string;
  path: string;
}

export interface TtfbStats {
  n: number;
  /** Time to response headers and to the first body byte (ms). */
  headersP50: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  /** Whole stream. */
  totalP50: number;
}

/**
 * Sequential streaming requests (concurrency 1) over one keep-alive connection per target, interleaved
 * target by target so both see the same machine state. First byte = first chunk of the response body.
 */
export async function ttfbLoop(
  targets: TtfbTarget[],
  body: string,
  headers: Record<string, string>,
  n: number,
  warmup = 20,
): Promise<Record<string, TtfbStats>> {
  const clients = targets.map((t) => new Client(t.origin, { keepAliveTimeout: 30_000 }));
  const samples = targets.map(() => ({ headers: [] as number[], first: [] as number[], total: [] as number[] }));
  try {
    for (let i = 0; i < warmup + n; i++) {
      for (let t = 0; t < targets.length; t++) {
        const t0 = process.hrtime.bigint();
        const res = await clients[t].request({ path: targets[t].path, method: 'POST', headers, body });
        const tHeaders = process.hrtime.bigint();
        let tFirst = 0n;
        for await (const _chunk of res.body) {
          if (tFirst === 0n) {
            tFirst = process.hrtime.bigint();
          }
        }
        const tEnd = process.hrtime.bigint();
        if (res.statusCode !== 200) {
          throw new Error(`TTFB probe: ${targets[t].name} answered ${res.statusCode}`);
        }
        if (i >= warmup) {
          const ms = (x: bigint) => Number(x - t0) / 1e6;
          samples[t].headers.push(ms(tHeaders));
          samples[t].first.push(ms(tFirst || tEnd));
          samples[t].total.push(ms(tEnd));
        }
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  const out: Record<string, TtfbStats> = {};
  targets.forEach((t, i) => {
    const s = samples[i];
    const first = Float64Array.from(s.first).sort();
    out[t.name] = {
      n: first.length,
      headersP50: percentile(Float64Array.from(s.headers).sort(), 50),
      p50: percentile(first, 50),
      p95: percentile(first, 95),
      p99: percentile(first, 99),
      mean: s.first.reduce((a, b) => a + b, 0) / Math.max(1, first.length),
      totalP50: percentile(Float64Array.from(s.total).sort(), 50),
    };
  });
  return out;
}
