/** Result types of the queue benchmark, its targets and the tables printed to stdout and put in the doc. */
import type { ProfileSummary } from '../profile-summary';
import { fmtMs, stats, type LatencyStats, type Sample } from './open-loop';
import type { MachineInfo } from './processes';
import type { PriorityResult } from './queue-priority';
import { MODE_LABEL, type LagWindow, type LeakView, type ModeName } from './queue-procs';
import { targetsTable, type TargetRow } from './report';

export type Target = ModeName | 'fake';

export const TARGET_LABEL: Record<Target, string> = { ...MODE_LABEL, fake: 'fake provider, direct' };

export interface ProcUsage {
  role: string;
  pid: number;
  rssBeforeMb: number;
  /** Highest VmRSS of the 100 ms samples during the burst. */
  peakRssMb: number;
  /** VmHWM after the burst (peak since the process started). */
  hwmMb: number;
  rssSamples: number;
  /** CPU used during the burst, in cores (utime + stime / wall time). */
  cpuCores: number;
  lag: Omit<LagWindow, 'timeline' | 'profile'>;
  /** Worst lag per 250 ms slice of the burst window. */
  lagTimeline: number[];
}

export interface BurstCell {
  target: Target;
  concurrency: number;
  sent: number;
  ok: number;
  errors: number;
  /** Error messages (first 80 characters) and how often. */
  errorKinds: Record<string, number>;
  headers: LatencyStats;
  ttfb: LatencyStats;
  total: LatencyStats;
  /** TTFB p50 of each tenth of the requests, in the order they were issued. */
  ttfbByDecile: number[];
  sendSpreadMs: number;
  clientLagP99Ms: number;
  clientLagMaxMs: number;
  /** Highest number of requests open at the fake provider at once during the burst. */
  providerMaxInFlight: number;
  procs: ProcUsage[];
  otherLoadCores: number;
  warmupErrors: number;
}

export interface LatencyCell {
  target: Target;
  concurrency: number;
  n: number;
  errors: number;
  firstError?: string;
  stats: LatencyStats;
  rps: number;
  /** CPU per request (µs) of each process involved: gateway (all/api), worker, redis, fake, harness. */
  cpuUsPerReq: Record<string, number>;
}

export interface LeakRow extends LeakView {
  /** After which phase. */
  phase: string;
  mode: ModeName;
  /** Requests the group had answered by then. */
  served: number;
}

export interface StressRun {
  at: string;
  /** `git rev-parse --short HEAD` of the run (+ "-dirty" when src/ had changes); absent in runs before it was recorded. */
  commit?: string;
  cores: number;
  bursts: BurstCell[];
  leaks: LeakRow[];
  logWarnings: { mode: ModeName; role: string; messages: Record<string, number> }[];
}

export interface QueueRunResult {
  startedAt: string;
  finishedAt: string;
  /** `git rev-parse --short HEAD` (+ "-dirty" when src/ had uncommitted changes): the code measured. */
  commit?: string;
  machine: MachineInfo & { cpus: string[] };
  options: Record<string, unknown>;
  modes: ModeName[];
  fake: { stream: string; fast: string; priority: string };
  /** The config of the `queue` mode (the others differ in JobQueue.enabled / Redis only). */
  config: Record<string, unknown>;
  latency: LatencyCell[];
  latencyOtherLoad: Record<string, number>;
  bursts: BurstCell[];
  priority: PriorityResult[];
  leaks: LeakRow[];
  /** Redis commands per request of each mode (fresh processes, sequential small non-stream requests). */
  redisCommands: { mode: ModeName; requests: number; errors: number; perRequest: Record<string, number>; total: number }[];
  /** At the end, nothing sent for a few seconds: what the leaked state costs. */
  idle: { seconds: number; redisSetPerS: number; redisCpuPct: number; procs: { mode: ModeName; role: string; cpuPct: number }[] } | null;
  /** Warn/error messages in each gateway process' log over the whole run (level ≥ 40), counted. */
  logWarnings: { mode: ModeName; role: string; messages: Record<string, number> }[];
  notes: string[];
  /** One signal to one gateway process each at the end of the run: did it survive (and still answer)? */
  signals?: { signal: string; mode: ModeName; role: string; survived: boolean; answered: boolean; exit?: string }[];
  /** `--stress-cores` runs (the last 5): the same bursts with busy-loop processes taking CPU. */
  stress?: StressRun[];
  /** CPU profiles of the gateway processes (a `--cpu-prof` run), per measurement window. */
  profiles?: { target: Target; role: string; window: string; requests: number; summary: ProfileSummary }[];
  profiledAt?: string;
  /** The commit of the `--cpu-prof` run (absent in runs before it was recorded). */
  profiledCommit?: string;
}

export function summariseBurst(samples: Sample[]): Pick<BurstCell, 'sent' | 'ok' | 'errors' | 'errorKinds' | 'headers' | 'ttfb' | 'total'> {
  const ok = samples.filter((s) => s.ok);
  const errorKinds: Record<string, number> = {};
  for (const s of samples) {
    if (!s.ok) {
      // An error event or an error body: its message says what happened; otherwise the client-side error.
      const e = s.error ?? '?';
      const msg = /"message":"((?:[^"\\]|\\.)*)"/.exec(e)?.[1];
      const k = msg ? `${e.startsWith('error event') ? 'error event' : e.slice(0, 8)}: ${msg.slice(0, 140)}` : e.slice(0, 100);
      errorKinds[k] = (errorKinds[k] ?? 0) + 1;
    }
  }
  return {
    sent: samples.length,
    ok: ok.length,
    errors: samples.length - ok.length,
    errorKinds,
    headers: stats(ok.map((s) => s.headersMs)),
    ttfb: stats(ok.map((s) => s.ttfbMs)),
    total: stats(ok.map((s) => s.totalMs)),
  };
}

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');

export const RSS_TARGET_MB = 400;
export const LAG_TARGET_MS = 50;
export const ADDED_TARGET_MS = 3;

/** Added latency of `target` over `base` at concurrency c (p50, p95), from the latency cells. */
export function added(r: QueueRunResult, target: Target, base: Target, c: number): { p50: number; p95: number } | undefined {
  const a = r.latency.find((x) => x.target === target && x.concurrency === c);
  const b = r.latency.find((x) => x.target === base && x.concurrency === c);
  if (!a || !b) {
    return undefined;
  }
  return { p50: a.stats.p50 - b.stats.p50, p95: a.stats.p95 - b.stats.p95 };
}

export function evaluateQueueTargets(r: QueueRunResult): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const b of r.bursts.filter((x) => x.target !== 'fake')) {
    const name = TARGET_LABEL[b.target];
    rows.push({ target: `${name}: ${b.concurrency} concurrent streams all succeed`, measured: `${b.ok} / ${b.sent} ok`, met: b.ok === b.sent && b.sent > 0 });
    for (const p of b.procs) {
      const who = b.procs.length > 1 ? ` (${p.role})` : '';
      rows.push({ target: `${name}${who}: peak RSS < ${RSS_TARGET_MB} MB`, measured: `${f0(p.peakRssMb)} MB`, met: p.peakRssMb < RSS_TARGET_MB });
      rows.push({ target: `${name}${who}: event-loop lag p99 < ${LAG_TARGET_MS} ms`, measured: `${f1(p.lag.p99Ms)} ms (max ${f0(p.lag.maxMs)})`, met: p.lag.p99Ms < LAG_TARGET_MS });
    }
  }
  const concurrencies = [...new Set(r.latency.map((x) => x.concurrency))].sort((a, b) => a - b);
  for (const q of ['queue', 'queue-split'] as const) {
    for (const c of concurrencies) {
      const a = added(r, q, 'direct', c);
      if (a) {
        rows.push({ target: `${TARGET_LABEL[q]}: added p50 vs direct ≤ ${ADDED_TARGET_MS} ms, c=${c}`, measured: `${f2(a.p50)} ms (p95 ${f2(a.p95)})`, met: a.p50 <= ADDED_TARGET_MS });
      }
    }
  }
  for (const p of r.priority) {
    rows.push({
      target: `${TARGET_LABEL[p.mode]}: priority inversions = 0`,
      measured: p.stalled
        ? `stalled: ${p.stuck} of ${p.sent} never reached the provider (${p.inversions} inversions among the rest)`
        : `${p.inversions} (strict ${p.inversionsStrict}; errors ${p.errors})`,
      met: p.inversions === 0 && p.errors === 0 && p.reachedProvider === p.sent && !p.stalled,
    });
  }
  return rows;
}

export function burstTable(r: QueueRunResult): string {
  const head =
    '| target | ok / sent | TTFB p50 / p95 / p99 / max ms | total p50 / p95 / p99 / max ms | at provider at once | process | RSS before → peak MB (VmHWM) | lag p50 / p99 / max ms | CPU cores | other load |';
  const sep = '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|';
  const rows: string[] = [];
  for (const b of r.bursts) {
    const lead = [
      TARGET_LABEL[b.target],
      `${f0(b.ok)} / ${f0(b.sent)}`,
      `${fmtMs(b.ttfb.p50)} / ${fmtMs(b.ttfb.p95)} / ${fmtMs(b.ttfb.p99)} / ${fmtMs(b.ttfb.max)}`,
      `${fmtMs(b.total.p50)} / ${fmtMs(b.total.p95)} / ${fmtMs(b.total.p99)} / ${fmtMs(b.total.max)}`,
      f0(b.providerMaxInFlight),
    ];
    const procs = b.procs.length > 0 ? b.procs : [undefined];
    procs.forEach((p, i) => {
      const cells = i === 0 ? lead : ['', '', '', '', ''];
      const tail = p
        ? [
            `${p.role} (pid ${p.pid})`,
            `${f0(p.rssBeforeMb)} → **${f0(p.peakRssMb)}** (${f0(p.hwmMb)})`,
            `${f1(p.lag.p50Ms)} / **${f1(p.lag.p99Ms)}** / ${f0(p.lag.maxMs)}`,
            f2(p.cpuCores),
          ]
        : ['–', '–', '–', '–'];
      rows.push(`| ${[...cells, ...tail, i === 0 ? f1(b.otherLoadCores) : ''].join(' | ')} |`);
    });
  }
  return [head, sep, ...rows].join('\n');
}

export function latencyTable(r: QueueRunResult): string {
  const head =
    '| c | target | n | errors | p50 ms | p95 ms | p99 ms | req/s | added p50 / p95 vs direct ms | added p50 vs fake ms | CPU µs/req: gateway (+ worker) / redis / fake / harness | all CPU µs/req |';
  const sep = '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const rows = r.latency.map((x) => {
    const vsDirect = x.target === 'queue' || x.target === 'queue-split' || x.target === 'direct-noredis' ? added(r, x.target, 'direct', x.concurrency) : undefined;
    const vsFake = x.target === 'fake' ? undefined : added(r, x.target, 'fake', x.concurrency);
    return `| ${[
      x.concurrency,
      TARGET_LABEL[x.target],
      f0(x.n),
      x.errors === 0 ? '0' : `**${x.errors}**`,
      f2(x.stats.p50),
      f2(x.stats.p95),
      f2(x.stats.p99),
      f0(x.rps),
      vsDirect ? `**${f2(vsDirect.p50)}** / ${f2(vsDirect.p95)}` : '–',
      vsFake ? f2(vsFake.p50) : '–',
      cpuCell(x.cpuUsPerReq),
      f0(Object.values(x.cpuUsPerReq ?? {}).reduce((a, b) => a + b, 0)),
    ].join(' | ')} |`;
  });
  return [head, sep, ...rows].join('\n');
}

function cpuCell(c: Record<string, number> | undefined): string {
  if (!c) {
    return '–';
  }
  const gw = c.gateway === undefined ? '–' : c.worker === undefined ? f0(c.gateway) : `${f0(c.gateway)} + ${f0(c.worker)}`;
  return `${gw} / ${f0(c.redis)} / ${f0(c.fake)} / ${f0(c.harness)}`;
}

export function leakTable(r: QueueRunResult): string {
  const head =
    '| after | mode | requests answered | interactive class slots held | background class slots held | relay handles open | provider slots held | requester keys on Redis | BullMQ failed jobs |';
  const sep = '|---|---|---:|---:|---:|---:|---:|---:|---|';
  const rows = r.leaks.map(
    (l) =>
      `| ${[l.phase, TARGET_LABEL[l.mode], f0(l.served), f0(l.interactiveRunning), f0(l.backgroundRunning), f0(l.relayedInFlight), f0(l.slotsHeld), l.waitingKeys === null ? '–' : f0(l.waitingKeys), failedCell(l.failedJobs)].join(' | ')} |`,
  );
  return [head, sep, ...rows].join('\n');
}

function failedCell(f: Record<string, number> | null | undefined): string {
  if (!f) {
    return '–';
  }
  const e = Object.entries(f);
  return e.length === 0 ? '0' : e.map(([k, v]) => `${v} × ${k}`).join('; ');
}

/** The leak indicators of the last snapshot are not all 0 (nothing was in flight when they were taken). */
export function leaksFound(r: QueueRunResult): boolean {
  return r.leaks.some((l) => l.interactiveRunning + l.backgroundRunning + l.relayedInFlight + l.slotsHeld + (l.waitingKeys ?? 0) > 0);
}

export function priorityTable(r: QueueRunResult): string {
  const head =
    '| mode | sent | errors | at provider | max in flight (limit) | started before the line | **inversions** (grace) | strict | arrival order at the provider | wait interactive p50 / max ms | wait background p50 / max ms |';
  const sep = '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|';
  const rows = r.priority.map(
    (p) =>
      `| ${[
        TARGET_LABEL[p.mode],
        p.sent,
        p.errors === 0 ? '0' : `**${p.errors}**${p.stalled ? ` (stalled: ${p.stuck} aborted)` : ''}`,
        p.reachedProvider,
        `${p.providerMaxInFlight} (${p.limit})`,
        p.startedBeforeLine,
        `**${p.inversions}** (${p.graceMs} ms)`,
        p.inversionsStrict,
        `\`${p.order}\``,
        `${fmtMs(p.waitInteractive.p50)} / ${fmtMs(p.waitInteractive.max)}`,
        `${fmtMs(p.waitBackground.p50)} / ${fmtMs(p.waitBackground.max)}`,
      ].join(' | ')} |`,
  );
  return [head, sep, ...rows].join('\n');
}

export { targetsTable };

export function queueConsoleReport(r: QueueRunResult): string {
  const parts: string[] = [];
  if (r.latency.length > 0) {
    parts.push('## Added latency (non-stream, closed loop, fast fake)', '', latencyTable(r), '');
  }
  if (r.bursts.length > 0) {
    parts.push(`## ${r.bursts[0].concurrency} concurrent streams (~2 s answers, all sent at once)`, '', burstTable(r), '');
    for (const b of r.bursts.filter((x) => x.errors > 0)) {
      parts.push(`${TARGET_LABEL[b.target]} errors: ${JSON.stringify(b.errorKinds)}`, '');
    }
  }
  if (r.priority.length > 0) {
    parts.push('## Priority inversion', '', priorityTable(r), '');
  }
  if (r.leaks.length > 0) {
    parts.push('## Leak indicators (GET /api/queue with nothing in flight; all should be 0)', '', leakTable(r), '');
  }
  parts.push('## Targets', '', targetsTable(evaluateQueueTargets(r)), '');
  return parts.join('\n');
}
