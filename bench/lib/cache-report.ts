/** Result types, tables and the generated docs/benchmarks/cache.md of the cache benchmark (bench/cache.ts). */
import type { WorkloadSummary } from './cache-workload';
import { fmtMs, stats, type LatencyStats, type Sample } from './open-loop';
import type { MachineInfo } from './processes';
import type { TargetRow } from './report';
import { targetsTable } from './report';

export interface CacheStatsView {
  hits: number;
  misses: number;
  hitRate: number;
  stores: number;
  errors: number;
  tiers?: unknown;
  compression?: unknown;
}

export interface PhaseResult {
  name: 'off' | 'on';
  label: string;
  sent: number;
  ok: number;
  errors: number;
  errorSamples: string[];
  total: LatencyStats;
  ttfb: LatencyStats;
  /** By how the gateway answered: HIT, follower (coalesced), upstream (MISS / BYPASS leader). */
  byClass: Record<string, LatencyStats>;
  byKind: Record<string, LatencyStats>;
  headers: { hit: number; miss: number; bypass: number; leader: number; follower: number };
  /** Delta of GET /api/cache/stats over the measured run (null when the cache is off). */
  cacheStats: { hits: number; misses: number; hitRate: number; stores: number; errors: number } | null;
  cacheStatsEnd: CacheStatsView | null;
  upstreamCalls: number;
  savedByCache: number;
  savedByCoalescing: number;
  maxLateMs: number;
  gatewayCpuUsPerReq: number;
  /** CPU used by other processes on the machine during the run (cores). */
  otherLoadCores: number;
  redisKeys?: number;
}

export interface HitCell {
  body: string;
  bytes: number;
  stream: boolean;
  concurrency: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  errors: number;
  cpuUsPerReq: number;
  /** x-switchyard-cache of the probe sent right before the run. */
  probeCache: string;
  otherLoadCores: number;
}

export interface CoalesceResult {
  requests: number;
  stream: number;
  complete: number;
  upstreamCalls: number;
  leaders: number;
  followers: number;
  hits: number;
  p50: number;
  max: number;
}

export interface CacheRunResult {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  options: Record<string, unknown>;
  fakeProfile: string;
  workload: WorkloadSummary;
  phases: PhaseResult[];
  hitCells: HitCell[];
  coalesce: CoalesceResult | null;
  notes: string[];
}

/** Aggregates the samples of one phase. */
export function summarisePhase(
  name: PhaseResult['name'],
  label: string,
  samples: Sample[],
  extra: Pick<PhaseResult, 'cacheStats' | 'cacheStatsEnd' | 'upstreamCalls' | 'gatewayCpuUsPerReq' | 'otherLoadCores'>,
): PhaseResult {
  const ok = samples.filter((s) => s.ok);
  const klass = (s: Sample) => (s.cache === 'HIT' ? 'HIT' : s.dedup === 'follower' ? 'coalesced (follower)' : 'upstream');
  const group = (key: (s: Sample) => string) => {
    const g: Record<string, number[]> = {};
    for (const s of ok) {
      (g[key(s)] ??= []).push(s.totalMs);
    }
    return Object.fromEntries(Object.entries(g).map(([k, v]) => [k, stats(v)]));
  };
  const count = (p: (s: Sample) => boolean) => samples.filter(p).length;
  const headers = {
    hit: count((s) => s.cache === 'HIT'),
    miss: count((s) => s.cache === 'MISS'),
    bypass: count((s) => s.cache === 'BYPASS'),
    leader: count((s) => s.dedup === 'leader'),
    follower: count((s) => s.dedup === 'follower'),
  };
  const errs = samples.filter((s) => !s.ok);
  return {
    name,
    label,
    sent: samples.length,
    ok: ok.length,
    errors: errs.length,
    errorSamples: [...new Set(errs.map((s) => s.error ?? '?'))].slice(0, 5),
    total: stats(ok.map((s) => s.totalMs)),
    ttfb: stats(ok.map((s) => s.ttfbMs)),
    byClass: group(klass),
    byKind: group((s) => s.tag),
    headers,
    savedByCache: headers.hit,
    savedByCoalescing: count((s) => s.dedup === 'follower' && s.cache !== 'HIT'),
    maxLateMs: Math.max(0, ...samples.map((s) => s.lateMs)),
    ...extra,
  };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');
const lat = (s: LatencyStats | undefined) => (s ? `${fmtMs(s.p50)} / ${fmtMs(s.p95)} / ${fmtMs(s.p99)}` : '–');

export function phaseTable(phases: PhaseResult[]): string {
  const rows = phases.map((p) => {
    const hitRate = p.cacheStats ? pct(p.cacheStats.hitRate) : 'off';
    return (
      `| ${p.label} | ${p.sent} | ${p.errors === 0 ? '0' : `**${p.errors}**`} | **${lat(p.total)}** | ${fmtMs(p.total.max)} | ` +
      `${lat(p.ttfb)} | ${hitRate} | ${pct(p.headers.hit / Math.max(1, p.sent))} | ${p.upstreamCalls} | ` +
      `${p.savedByCache} | ${p.savedByCoalescing} | ${Math.round(p.gatewayCpuUsPerReq)} | ${p.otherLoadCores.toFixed(1)} |`
    );
  });
  return [
    '| run | requests | errors | latency p50 / p95 / p99 ms | max ms | first byte p50 / p95 / p99 ms | hit rate (/api/cache/stats) | `x-switchyard-cache: HIT` share | upstream calls (fake) | saved by cache (HIT) | saved by coalescing (follower) | gateway CPU µs/req | other load, cores |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

export function classTable(phases: PhaseResult[]): string {
  const rows: string[] = [];
  for (const p of phases) {
    for (const [k, s] of Object.entries(p.byClass)) {
      rows.push(`| ${p.label} | ${k} | ${s.n} | ${lat(s)} | ${fmtMs(s.max)} |`);
    }
    for (const [k, s] of Object.entries(p.byKind)) {
      rows.push(`| ${p.label} | kind: ${k} | ${s.n} | ${lat(s)} | ${fmtMs(s.max)} |`);
    }
  }
  return ['| run | answered by / kind | n | p50 / p95 / p99 ms | max ms |', '|---|---|---:|---:|---:|', ...rows].join('\n');
}

export function hitTable(cells: HitCell[]): string {
  return [
    '| cached request | mode | c | req/s | p50 / p95 / p99 ms | max ms | errors | gateway CPU µs/req | probe | other load, cores |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|---:|',
    ...cells.map(
      (c) =>
        `| ${c.body} (${c.bytes.toLocaleString('en-US')} B) | ${c.stream ? 'stream' : 'non-stream'} | ${c.concurrency} | ${Math.round(c.rps).toLocaleString('en-US')} | ` +
        `**${fmtMs(c.p50)} / ${fmtMs(c.p95)} / ${fmtMs(c.p99)}** | ${fmtMs(c.max)} | ${c.errors} | ${Math.round(c.cpuUsPerReq)} | ${c.probeCache} | ${c.otherLoadCores.toFixed(1)} |`,
    ),
  ].join('\n');
}

export function workloadTable(w: WorkloadSummary): string {
  const rows = Object.entries(w.byKind).map(
    ([k, v]) => `| ${k} | ${v.requests} | ${v.repeats} (${pct(v.repeats / Math.max(1, v.requests))}) | ${v.avgBytes.toLocaleString('en-US')} |`,
  );
  return [
    `${w.requests} requests from ${w.sessions} sessions: ${w.unique} distinct, **${w.repeats} exact repeats (${pct(w.repeatShare)})** — ` +
      `${w.concurrentRepeats} concurrent (< 2 s after the first identical request: coalescing), ${w.sequentialRepeats} sequential (cache); ` +
      `${w.stream} streamed, ${w.nonStream} non-stream.`,
    '',
    '| kind | requests | repeats | avg body bytes |',
    '|---|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

export function evaluateCacheTargets(r: CacheRunResult): TargetRow[] {
  const on = r.phases.find((p) => p.name === 'on');
  const c64 = r.hitCells.filter((c) => c.concurrency === 64);
  const worst = c64.length > 0 ? Math.max(...c64.map((c) => c.p99)) : NaN;
  const row = (target: string, v: number | undefined, ok: (x: number) => boolean, f: (x: number) => string): TargetRow =>
    v === undefined || !Number.isFinite(v) ? { target, measured: 'not measured', met: null } : { target, measured: f(v), met: ok(v) };
  return [
    row('workload: ≥ 65% of requests are exact repeats', r.workload.repeatShare, (v) => v >= 0.65, pct),
    row('cache on: p95 < 500 ms', on?.total.p95, (v) => v < 500, (v) => `${fmtMs(v)} ms`),
    row('cache on: hit rate > 60% (/api/cache/stats)', on?.cacheStats?.hitRate, (v) => v > 0.6, pct),
    row('cache on: 0 errors', on?.errors, (v) => v === 0, String),
    row(
      `cache-hit p99 ≤ 3 ms at c=64 (worst of: ${c64.map((c) => c.body).join(', ')})`,
      worst,
      (v) => v <= 3,
      (v) => `${fmtMs(v)} ms`,
    ),
    row('100 identical concurrent requests → 1 upstream call', r.coalesce?.upstreamCalls, (v) => v === 1, (v) => `${v} call(s), ${r.coalesce?.complete}/100 complete`),
  ];
}

export function cacheConsoleReport(r: CacheRunResult): string {
  return [
    '## Workload',
    '',
    workloadTable(r.workload),
    '',
    '## Cache and coalescing off vs on',
    '',
    phaseTable(r.phases),
    '',
    classTable(r.phases),
    '',
    '## Cache hits under load (autocannon, closed loop)',
    '',
    hitTable(r.hitCells),
    '',
    '## 100 identical concurrent requests',
    '',
    coalesceLine(r.coalesce),
    '',
    '## Targets',
    '',
    targetsTable(evaluateCacheTargets(r)),
    '',
  ].join('\n');
}

export function coalesceLine(c: CoalesceResult | null): string {
  if (!c) {
    return 'not measured';
  }
  return (
    `${c.requests} identical requests sent at once (${c.stream} stream, ${c.requests - c.stream} non-stream), never seen before: ` +
    `**${c.upstreamCalls} upstream call(s)** (fake provider's counter), ${c.complete}/${c.requests} complete and valid answers; ` +
    `x-switchyard-dedup: ${c.leaders} leader / ${c.followers} follower, ${c.hits} cache HIT; latency p50 ${fmtMs(c.p50)} ms, max ${fmtMs(c.max)} ms.`
  );
}
