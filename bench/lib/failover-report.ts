/** Result types, per-scenario analysis, tables and targets of the failover benchmark (bench/failover.ts). */
import { fmtMs, stats, type LatencyStats, type Sample } from './open-loop';
import type { MachineInfo } from './processes';
import { targetsTable, type TargetRow } from './report';

export type ScenarioName = 'healthy' | 'refused' | 'status503' | 'hang';

export const LABELS: Record<ScenarioName, string> = {
  healthy: 'healthy (baseline)',
  refused: 'primary refused (process stopped)',
  status503: 'primary answers 503',
  hang: 'primary hangs (no headers)',
};

export interface BreakerEvent {
  /** ms after the start of the measured run. */
  atMs: number;
  state: string;
}

interface Lat {
  n: number;
  total: LatencyStats;
  ttfb: LatencyStats;
}

export interface ScenarioResult {
  name: ScenarioName;
  label: string;
  sent: number;
  ok: number;
  errors: { total: number; afterOnset: number; inFlightAtOnset: number; samples: string[] };
  onsetMs: number;
  onsetActionMs: number;
  all: Lat;
  preOnset: Lat;
  postOnset: Lat & { stream: Lat; nonStream: Lat };
  /** The first request scheduled at or after the onset. */
  firstAfterOnset: { atMs: number; ttfbMs: number; target?: string; attempts?: string; stream: boolean; ok: boolean } | null;
  /** First byte of the earliest answer served by the backup after the onset, ms after the onset. */
  firstFallbackByteAfterMs: number | null;
  /** Worst time to first byte of requests scheduled after the onset, all / stream / non-stream. */
  worstTtfb: { all: number; stream: number; nonStream: number };
  breaker: BreakerEvent[];
  /** First poll that saw the primary's circuit open, ms after the onset (null: never). */
  breakerOpenAfterMs: number | null;
  /** Requests scheduled once the breaker was seen open, until the end of the run. */
  afterOpen: Lat | null;
  /**
   * The same from `settleMs` after the breaker opened: the attempts started before it opened have all hit their
   * first-byte deadline and failed over by then (their extra work no longer shares the gateway's CPU).
   */
  afterOpenSettled: Lat | null;
  settleMs: number;
  /** The primary's first-byte deadline from GET /api/timeouts right before the onset. */
  firstByteDeadline: { ms: number; source: string; ttfbP99: number | null } | null;
  servedBy: Record<string, number>;
  attempts: Record<string, number>;
  upstream: { primary: number; backup: number };
  warmupErrors: number;
  otherLoadCores: number;
  /** Gateway CPU during the measured run (cores, average). */
  gatewayCores: number;
  /** Gateway CPU from the onset to breaker open + settle time (cores), while requests fail over. */
  gatewayCoresFailingOver?: number | null;
  failoverLogLines: number;
}

export interface FailoverRunResult {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  options: Record<string, unknown>;
  config: Record<string, unknown>;
  fake: string;
  scenarios: ScenarioResult[];
  notes: string[];
}

function lat(samples: Sample[]): Lat {
  const ok = samples.filter((s) => s.ok);
  return { n: ok.length, total: stats(ok.map((s) => s.totalMs)), ttfb: stats(ok.map((s) => s.ttfbMs)) };
}

const count = (xs: (string | undefined)[]) =>
  xs.reduce<Record<string, number>>((acc, x) => ((acc[x ?? 'none'] = (acc[x ?? 'none'] ?? 0) + 1), acc), {});

export function analyseScenario(
  name: ScenarioName,
  samples: Sample[],
  x: Pick<ScenarioResult, 'onsetMs' | 'onsetActionMs' | 'breaker' | 'upstream' | 'warmupErrors' | 'otherLoadCores' | 'gatewayCores' | 'failoverLogLines' | 'firstByteDeadline' | 'settleMs'>,
): ScenarioResult {
  const onset = x.onsetMs;
  const pre = samples.filter((s) => s.atMs < onset);
  const post = samples.filter((s) => s.atMs >= onset);
  const errs = samples.filter((s) => !s.ok);
  const first = post[0];
  const fallbackFirst = samples
    .filter((s) => s.ok && s.target?.startsWith('backup') && s.atMs + s.ttfbMs >= onset)
    .map((s) => s.atMs + s.ttfbMs - onset);
  const open = name === 'healthy' ? undefined : x.breaker.find((b) => b.state === 'open' && b.atMs >= onset - 100);
  const maxTtfb = (xs: Sample[]) => Math.max(0, ...xs.map((s) => s.ttfbMs).filter(Number.isFinite));
  return {
    name,
    label: LABELS[name],
    sent: samples.length,
    ok: samples.length - errs.length,
    errors: {
      total: errs.length,
      afterOnset: errs.filter((s) => s.atMs >= onset).length,
      inFlightAtOnset: errs.filter((s) => s.atMs < onset).length,
      samples: [...new Set(errs.map((s) => s.error ?? '?'))].slice(0, 5),
    },
    all: lat(samples),
    preOnset: lat(pre),
    postOnset: { ...lat(post), stream: lat(post.filter((s) => s.stream)), nonStream: lat(post.filter((s) => !s.stream)) },
    firstAfterOnset: first
      ? { atMs: first.atMs, ttfbMs: first.ttfbMs, target: first.target, attempts: first.attempts, stream: first.stream, ok: first.ok }
      : null,
    firstFallbackByteAfterMs: fallbackFirst.length > 0 ? Math.min(...fallbackFirst) : null,
    worstTtfb: { all: maxTtfb(post), stream: maxTtfb(post.filter((s) => s.stream)), nonStream: maxTtfb(post.filter((s) => !s.stream)) },
    breakerOpenAfterMs: open ? Math.max(0, open.atMs - onset) : null,
    afterOpen: open ? lat(samples.filter((s) => s.atMs >= open.atMs)) : null,
    afterOpenSettled: open ? lat(samples.filter((s) => s.atMs >= open.atMs + x.settleMs)) : null,
    servedBy: count(post.filter((s) => s.ok).map((s) => s.target)),
    attempts: count(post.map((s) => s.attempts)),
    ...x,
  };
}

const trio = (s: LatencyStats) => `${fmtMs(s.p50)} / ${fmtMs(s.p95)} / ${fmtMs(s.p99)}`;
const added = (s: LatencyStats, base: LatencyStats) =>
  `${fmtMs(s.p50 - base.p50)} / ${fmtMs(s.p95 - base.p95)} / ${fmtMs(s.p99 - base.p99)}`;
const msOrDash = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${fmtMs(v)}`);

export function baselineOf(r: FailoverRunResult): ScenarioResult | undefined {
  return r.scenarios.find((s) => s.name === 'healthy');
}

export function scenarioTable(r: FailoverRunResult): string {
  const base = baselineOf(r);
  const rows = r.scenarios.map((s) => {
    const b = base?.all.total;
    const errs = s.errors.total === 0 ? '0' : `**${s.errors.total}** (${s.errors.afterOnset} sent after onset, ${s.errors.inFlightAtOnset} in flight at onset)`;
    return [
      s.label,
      s.sent,
      errs,
      trio(s.postOnset.total),
      b ? added(s.postOnset.total, b) : '–',
      s.afterOpen ? trio(s.afterOpen.total) : '–',
      s.afterOpen && b ? `**${added(s.afterOpen.total, b)}**` : '–',
      s.afterOpenSettled && b && s.afterOpenSettled.n > 0 ? added(s.afterOpenSettled.total, b) : '–',
      s.name === 'healthy' ? '–' : msOrDash(s.firstAfterOnset?.ttfbMs) + (s.firstAfterOnset?.target ? ` (${s.firstAfterOnset.target})` : ''),
      s.name === 'healthy' ? '–' : msOrDash(s.firstFallbackByteAfterMs),
      `${fmtMs(s.worstTtfb.all)} (stream ${fmtMs(s.worstTtfb.stream)}, non-stream ${fmtMs(s.worstTtfb.nonStream)})`,
      s.name === 'healthy' ? '–' : s.breakerOpenAfterMs === null ? '**never**' : `**${fmtMs(s.breakerOpenAfterMs)}**`,
      `${s.upstream.primary}${s.name === 'refused' ? ' (until stopped)' : ''} / ${s.upstream.backup}`,
      `${s.gatewayCores.toFixed(2)}${s.gatewayCoresFailingOver ? ` (${s.gatewayCoresFailingOver.toFixed(2)} while failing over)` : ''} / ${s.otherLoadCores.toFixed(1)}`,
    ].join(' | ');
  });
  return [
    '| scenario | requests | client-visible errors | latency after onset p50 / p95 / p99 ms | added vs healthy p50 / p95 / p99 ms | latency once breaker open p50 / p95 / p99 ms | **added once open** p50 / p95 / p99 ms | added from open + settle time ¹ p50 / p95 / p99 ms | first request after onset: first byte ms (served by) | onset → first byte from backup ms | worst first byte after onset ms | breaker open after onset ms | upstream calls primary / backup | CPU, cores: gateway / other processes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((x) => `| ${x} |`),
    '',
    '¹ requests sent from one first-byte deadline (the primary\'s, from `/api/timeouts` at the onset) after the breaker was seen open: ' +
      'by then every attempt started on the primary before it opened has timed out and failed over.',
  ].join('\n');
}

export function detailTable(r: FailoverRunResult): string {
  const rows = r.scenarios.map((s) => {
    const timeline = s.breaker.map((b) => `${(b.atMs / 1000).toFixed(1)} s ${b.state}`).join(' → ');
    const served = Object.entries(s.servedBy).map(([k, v]) => `${k}: ${v}`).join(', ');
    const att = Object.entries(s.attempts).map(([k, v]) => `${k}: ${v}`).join(', ');
    const dl = s.firstByteDeadline ? `${fmtMs(s.firstByteDeadline.ms)} (${s.firstByteDeadline.source}; p99 TTFB ${fmtMs(s.firstByteDeadline.ttfbP99 ?? NaN)})` : '–';
    return `| ${s.label} | ${dl} | ${trio(s.preOnset.total)} | ${trio(s.postOnset.stream.ttfb)} | ${trio(s.postOnset.nonStream.total)} | ${served} | ${att} | ${s.failoverLogLines} | ${timeline} |`;
  });
  return [
    '| scenario | primary first-byte deadline at onset ms (/api/timeouts) | before onset p50 / p95 / p99 ms | after onset, stream first byte p50 / p95 / p99 ms | after onset, non-stream p50 / p95 / p99 ms | answers after onset by target | `x-switchyard-attempts` after onset | `failover` log lines | primary circuit (polled every 100 ms; onset at ' +
      `${(Number(r.options.preS) || 0).toFixed(1)} s) |`,
    '|---|---:|---:|---:|---:|---|---|---:|---|',
    ...rows,
  ].join('\n');
}

export function evaluateFailoverTargets(r: FailoverRunResult): TargetRow[] {
  const base = baselineOf(r);
  const rows: TargetRow[] = [];
  const row = (target: string, v: number | null | undefined, ok: (x: number) => boolean, f: (x: number) => string) =>
    rows.push(v === null || v === undefined || !Number.isFinite(v) ? { target, measured: v === null ? 'never' : 'not measured', met: v === null ? false : null } : { target, measured: f(v), met: ok(v) });
  for (const s of r.scenarios.filter((x) => x.name !== 'healthy')) {
    row(`${s.label}: 0 client-visible errors`, s.errors.total, (v) => v === 0, (v) => (v === 0 ? '0' : `${v} (${s.errors.inFlightAtOnset} in flight at onset)`));
    if (s.errors.inFlightAtOnset > 0) {
      row(`${s.label}: 0 errors on requests sent after the onset`, s.errors.afterOnset, (v) => v === 0, String);
    }
  }
  const hang = r.scenarios.find((s) => s.name === 'hang');
  if (hang) {
    row('primary hangs: failover < 2 s (worst first byte of requests sent after onset)', hang.worstTtfb.all, (v) => v < 2000, (v) => `${fmtMs(v)} ms (stream ${fmtMs(hang.worstTtfb.stream)}, non-stream ${fmtMs(hang.worstTtfb.nonStream)})`);
  }
  for (const s of r.scenarios.filter((x) => x.name !== 'healthy')) {
    const v = s.afterOpen && base ? s.afterOpen.total.p99 - base.all.total.p99 : undefined;
    row(`${s.label}: ≤ 50 ms added once the breaker is open (p99)`, s.breakerOpenAfterMs === null ? null : v, (x) => x <= 50, (x) => `${fmtMs(x)} ms (p50 ${s.afterOpen && base ? fmtMs(s.afterOpen.total.p50 - base.all.total.p50) : '–'} ms)`);
  }
  for (const s of r.scenarios.filter((x) => x.name !== 'healthy')) {
    row(`${s.label}: breaker opens within 1 s at ${String(r.options.rate)} req/s`, s.breakerOpenAfterMs, (v) => v <= 1000, (v) => `${fmtMs(v)} ms`);
  }
  return rows;
}

export function failoverConsoleReport(r: FailoverRunResult): string {
  return ['## Scenarios', '', scenarioTable(r), '', detailTable(r), '', '## Targets', '', targetsTable(evaluateFailoverTargets(r)), ''].join('\n');
}
