/**
 * Client-side numbers from open-loop samples: latency percentiles per time bucket (by scheduled send time, so a
 * stall shows where it hit the clients), answers per second (by completion time), outcome classes, linear fits.
 */
import { percentile } from '../lib/load';
import { stats, type LatencyStats, type Sample } from '../lib/open-loop';

export type Point = [number, number];

/** A load-shedding answer: 429 or 503 (the gateway refusing politely, not failing). */
export const isShed = (s: Sample): boolean => s.status === 429 || s.status === 503;

export interface Outcomes {
  sent: number;
  ok: number;
  /** 429 / 503 answers; withRetryAfter of them carried a `retry-after` header. */
  shed: number;
  shedWithRetryAfter: number;
  /** Anything else that is not a complete answer: other statuses, broken streams, socket errors, timeouts. */
  errors: number;
  timeouts: number;
  errorSamples: string[];
}

export function outcomes(samples: Sample[]): Outcomes {
  const shed = samples.filter(isShed);
  const errs = samples.filter((s) => !s.ok && !isShed(s));
  return {
    sent: samples.length,
    ok: samples.filter((s) => s.ok).length,
    shed: shed.length,
    shedWithRetryAfter: shed.filter((s) => s.retryAfter !== undefined && s.retryAfter !== '').length,
    errors: errs.length,
    timeouts: errs.filter((s) => /timeout|aborted/i.test(s.error ?? '')).length,
    errorSamples: [...new Set(errs.map((s) => (s.error ?? '?').slice(0, 160)))].slice(0, 5),
  };
}

/** Latency stats of the complete answers (total time from the scheduled send). */
export const okStats = (samples: Sample[], field: 'totalMs' | 'ttfbMs' = 'totalMs'): LatencyStats =>
  stats(samples.filter((s) => s.ok).map((s) => s[field]));

export interface LatencySeries {
  p50: Point[];
  p95: Point[];
  p99: Point[];
  max: Point[];
}

/**
 * Percentiles of complete answers per `bucketS` of scheduled send time; `offsetS` moves the run's clock onto the
 * scenario's (run t0 − scenario t0).
 */
export function latencyOverTime(
  samples: Sample[],
  offsetS = 0,
  bucketS = 1,
  field: 'totalMs' | 'ttfbMs' = 'totalMs',
): LatencySeries {
  const buckets = new Map<number, number[]>();
  for (const s of samples) {
    if (!s.ok || !Number.isFinite(s[field])) {
      continue;
    }
    const b = Math.floor(s.atMs / 1000 / bucketS);
    const arr = buckets.get(b) ?? [];
    arr.push(s[field]);
    buckets.set(b, arr);
  }
  const out: LatencySeries = { p50: [], p95: [], p99: [], max: [] };
  for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
    const v = Float64Array.from(buckets.get(b) as number[]).sort();
    const t = offsetS + (b + 0.5) * bucketS;
    out.p50.push([t, percentile(v, 50)]);
    out.p95.push([t, percentile(v, 95)]);
    out.p99.push([t, percentile(v, 99)]);
    out.max.push([t, v[v.length - 1]]);
  }
  return out;
}

export interface ThroughputSeries {
  ok: Point[];
  shed: Point[];
  errors: Point[];
  sent: Point[];
}

/** Answers per second by completion time (ok / shed / error) and requests sent per second by schedule. */
export function throughputOverTime(samples: Sample[], offsetS = 0, bucketS = 1): ThroughputSeries {
  const inc = (m: Map<number, number>, b: number) => m.set(b, (m.get(b) ?? 0) + 1);
  const ok = new Map<number, number>();
  const shed = new Map<number, number>();
  const errors = new Map<number, number>();
  const sent = new Map<number, number>();
  let last = 0;
  for (const s of samples) {
    inc(sent, Math.floor(s.atMs / 1000 / bucketS));
    const end = s.atMs + (Number.isFinite(s.totalMs) ? s.totalMs : 0);
    const b = Math.floor(end / 1000 / bucketS);
    last = Math.max(last, b);
    inc(s.ok ? ok : isShed(s) ? shed : errors, b);
  }
  const toPoints = (m: Map<number, number>) =>
    Array.from({ length: last + 1 }, (_, b): Point => [
      offsetS + (b + 0.5) * bucketS,
      (m.get(b) ?? 0) / bucketS,
    ]);
  return { ok: toPoints(ok), shed: toPoints(shed), errors: toPoints(errors), sent: toPoints(sent) };
}

/** Least-squares line through the points: slope per unit of x, intercept, r². */
export function linearFit(points: Point[]): { slope: number; intercept: number; r2: number; n: number } {
  const n = points.length;
  if (n < 2) {
    return { slope: NaN, intercept: NaN, r2: NaN, n };
  }
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 || sxx === 0 ? 1 : (sxy * sxy) / (sxx * syy), n };
}

/** Samples whose scheduled time (on the run's clock, ms) is in [fromMs, toMs). */
export const between = (samples: Sample[], fromMs: number, toMs: number): Sample[] =>
  samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs);
