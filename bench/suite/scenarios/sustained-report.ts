/** The sustained scenario's analysis: linear fits, drift, heap growth, tables, charts and targets. */
import type { GatewayProc, SuiteCtx } from '../context';
import type { HeapGrowth } from '../heap';
import { fmtMs, mdTable, num, pct, trio } from '../md';
import type { ScenarioOutput } from '../scenario';
import { between, linearFit, outcomes, type Point } from '../series';
import { stats } from '../../lib/open-loop';
import { lagChart, memoryChart, type Timeline } from '../timeline';
import type { Target } from '../types';

export const HEAP_LIMIT_MB_H = 5;
export const RSS_LIMIT_MB_H = 20;
export const FD_LIMIT = 10;
export const DRIFT_LIMIT = 0.1;
/** Below this the fitted slope extrapolates seconds to an hour: reported, not judged. */
export const MIN_FIT_S = 300;
const MB = 1024 * 1024;

export interface SustainedParams {
  rate: number;
  warmS: number;
  /** At most this many requests to fill the cache's memory tier before the warm-up. */
  prefillMax: number;
  durationS: number;
  gcEveryS: number;
  windowS: number;
  bucketS: number;
}

export interface Collected {
  samples: Awaited<ReturnType<Timeline['send']>>['samples'];
  otherLoadCores: number;
  measuredFrom: number;
  measuredTo: number;
  growth: HeapGrowth[];
  snaps: { ms: number; bytes: number }[];
}

export function report(
  ctx: SuiteCtx,
  tl: Timeline,
  gw: GatewayProc,
  twin: GatewayProc,
  c: Collected,
  p: SustainedParams,
  fakeArgs: string[],
): ScenarioOutput {
  const inWindow = gw.series.samples.filter((s) => s.t >= c.measuredFrom && s.t <= c.measuredTo);
  const hours = (t: number) => (t - c.measuredFrom) / 3600;
  const rssFit = linearFit(inWindow.map((s): Point => [hours(s.t), s.rssMb]));
  const heapPts = (twin.series.heapAfterGc ?? [])
    .filter((s) => s.t <= c.measuredTo)
    .map((s): Point => [hours(s.t), s.mb]);
  const heapFit = linearFit(heapPts);
  const fdFit = linearFit(inWindow.map((s): Point => [hours(s.t), s.fds]));
  const fdFirst = inWindow[0]?.fds ?? NaN;
  const fdLast = inWindow[inWindow.length - 1]?.fds ?? NaN;
  const fdMax = Math.max(...inWindow.map((s) => s.fds));
  const span = c.measuredTo - c.measuredFrom;
  const judged = span >= MIN_FIT_S;
  const first = between(c.samples, 0, p.windowS * 1000);
  const last = between(c.samples, (p.durationS - p.windowS) * 1000, p.durationS * 1000);
  const p99First = stats(first.filter((s) => s.ok).map((s) => s.totalMs)).p99;
  const p99Last = stats(last.filter((s) => s.ok).map((s) => s.totalMs)).p99;
  const drift = (p99Last - p99First) / p99First;
  const oc = outcomes(c.samples);
  const short = `the measured window is ${num(span)} s: a slope fitted over less than ${MIN_FIT_S / 60} min and extrapolated to an hour says nothing (smoke run)`;
  const top = c.growth.filter((g) => g.sizeDelta > 0).slice(0, 3);
  const leakWhy = `top growing types between the snapshots: ${top.map((g) => `${g.group} +${num(g.sizeDelta / 1024)} KB (${g.countDelta >= 0 ? '+' : ''}${g.countDelta})`).join(', ') || 'none'}`;
  const targets: Target[] = [
    {
      target: '0 errors over the run',
      measured: `${oc.sent - oc.ok} of ${oc.sent}`,
      met: oc.sent === oc.ok,
      why: oc.sent > oc.ok ? oc.errorSamples.join('; ') : undefined,
    },
    {
      target: `heap after GC flat: slope ≤ ${HEAP_LIMIT_MB_H} MB/hour`,
      measured: `${num(heapFit.slope, 2)} MB/h (${heapFit.n} points, ${num(heapPts[0]?.[1] ?? NaN, 1)} → ${num(heapPts[heapPts.length - 1]?.[1] ?? NaN, 1)} MB)`,
      met: judged && Number.isFinite(heapFit.slope) ? heapFit.slope <= HEAP_LIMIT_MB_H : null,
      why: !judged ? short : heapFit.slope > HEAP_LIMIT_MB_H ? leakWhy : undefined,
    },
    {
      target: `RSS flat: slope ≤ ${RSS_LIMIT_MB_H} MB/hour`,
      measured: `${num(rssFit.slope, 1)} MB/h (${num(inWindow[0]?.rssMb ?? NaN)} → ${num(inWindow[inWindow.length - 1]?.rssMb ?? NaN)} MB)`,
      met: judged && Number.isFinite(rssFit.slope) ? rssFit.slope <= RSS_LIMIT_MB_H : null,
      why: !judged
        ? short
        : rssFit.slope > RSS_LIMIT_MB_H
          ? `RSS also holds freed-but-unreturned memory (malloc arenas, V8's semispaces); compare with the heap-after-GC slope. ${leakWhy}`
          : undefined,
    },
    {
      target: `file descriptors flat: end − start ≤ ${FD_LIMIT}`,
      measured: `${fdFirst} → ${fdLast} (max ${fdMax}, slope ${num(fdFit.slope, 1)}/h)`,
      met: Number.isFinite(fdLast - fdFirst) ? fdLast - fdFirst <= FD_LIMIT : null,
      why:
        fdLast - fdFirst > FD_LIMIT
          ? 'sockets or files opened and not closed: compare /proc/<pid>/fd listings at the start and end (--keep-tmp)'
          : undefined,
    },
    {
      target: `p99 drift < ${pct(DRIFT_LIMIT, 0)} (first vs last ${p.windowS} s)`,
      measured: `${fmtMs(p99First)} → ${fmtMs(p99Last)} ms (${drift >= 0 ? '+' : ''}${pct(drift)})`,
      met: Number.isFinite(drift) ? drift < DRIFT_LIMIT : null,
      why:
        drift >= DRIFT_LIMIT
          ? `check the other-load column: on a shared machine another process' burst in one window moves a p99; a steady climb over the latency chart would point at the gateway (other load up to ${c.otherLoadCores.toFixed(2)} cores)`
          : undefined,
    },
  ];
  const findings = [
    `${oc.sent} requests over ${num(span / 60, 1)} min at ${p.rate} req/s: ${oc.ok} complete, p50 / p95 / p99 ${trio(stats(c.samples.filter((s) => s.ok).map((s) => s.totalMs)))} ms.`,
    `Heap after GC ${num(heapFit.slope, 2)} MB/h (r² ${num(heapFit.r2, 2)}), RSS ${num(rssFit.slope, 1)} MB/h, file descriptors ${fdFirst} → ${fdLast}; heap snapshots ${num(c.snaps[0].bytes / MB, 1)} → ${num(c.snaps[1].bytes / MB, 1)} MB (written in ${fmtMs(c.snaps[0].ms)} / ${fmtMs(c.snaps[1].ms)} ms).`,
  ];
  return {
    options: {
      ...p,
      fitThresholds: {
        heapMbPerHour: HEAP_LIMIT_MB_H,
        rssMbPerHour: RSS_LIMIT_MB_H,
        fds: FD_LIMIT,
        p99Drift: DRIFT_LIMIT,
      },
    },
    processes: [
      `fake provider: first byte log-normal median 30 / p95 80 ms, 6 deltas 10 ms apart (\`${fakeArgs.join(' ')}\`)`,
      'two redis-servers (throwaway), one per gateway: REDIS_URL (cache tier, coalescing, circuit state)',
      'gateway "measured": Cache on with a 4 MB memory tier (prefilled to ≥ 95% before the warm-up), Dedup on, Redis on; RSS, file descriptors, latency and event-loop lag come from it — nothing is forced on it',
      'gateway "forensics": a twin with the same config and the same schedule (its own Redis), whose heap is inspected: forced GCs for the heap-after-GC series and the two heap snapshots',
      'harness: open loop, 70% unique small requests (half streamed), 20% repeats of recent ones (cache hits / coalescing), 10% ~75 KB Claude Code turns (40 variants)',
    ],
    targets,
    findings,
    tables: [
      {
        title: 'Drift: first vs last window',
        markdown: mdTable(
          ['window', 'requests', 'errors', 'p50 / p95 / p99 ms', 'max ms'],
          [
            [
              `first ${p.windowS} s`,
              first.length,
              first.length - first.filter((s) => s.ok).length,
              trio(stats(first.filter((s) => s.ok).map((s) => s.totalMs))),
              fmtMs(stats(first.filter((s) => s.ok).map((s) => s.totalMs)).max),
            ],
            [
              `last ${p.windowS} s`,
              last.length,
              last.length - last.filter((s) => s.ok).length,
              trio(stats(last.filter((s) => s.ok).map((s) => s.totalMs))),
              fmtMs(stats(last.filter((s) => s.ok).map((s) => s.totalMs)).max),
            ],
          ],
        ),
      },
      {
        title: 'Resource trends (linear fits over the measured window)',
        markdown: mdTable(
          ['series', 'points', 'start', 'end', 'slope per hour', 'r²', 'threshold'],
          [
            [
              'heap after GC (MB)',
              heapFit.n,
              num(heapPts[0]?.[1] ?? NaN, 1),
              num(heapPts[heapPts.length - 1]?.[1] ?? NaN, 1),
              num(heapFit.slope, 2),
              num(heapFit.r2, 2),
              `≤ ${HEAP_LIMIT_MB_H}`,
            ],
            [
              'RSS (MB)',
              rssFit.n,
              num(inWindow[0]?.rssMb ?? NaN, 1),
              num(inWindow[inWindow.length - 1]?.rssMb ?? NaN, 1),
              num(rssFit.slope, 1),
              num(rssFit.r2, 2),
              `≤ ${RSS_LIMIT_MB_H}`,
            ],
            [
              'open file descriptors',
              fdFit.n,
              String(fdFirst),
              String(fdLast),
              num(fdFit.slope, 1),
              num(fdFit.r2, 2),
              `end − start ≤ ${FD_LIMIT}`,
            ],
          ],
        ),
        note: 'Slope of a least-squares line through the samples of the measured window (after the warm-up). A slope is judged only when the window is at least 5 minutes long. r² near 0 = no trend, noise only.',
      },
      {
        title: 'Heap snapshot growth by constructor (end − start)',
        markdown: mdTable(
          [
            'constructor / type',
            'count start → end',
            'count Δ',
            'self size start → end KB',
            'self size Δ KB',
          ],
          c.growth.map((g) => [
            g.group.slice(0, 60),
            `${num(g.countBefore)} → ${num(g.countAfter)}`,
            `${g.countDelta >= 0 ? '+' : ''}${num(g.countDelta)}`,
            `${num(g.sizeBefore / 1024)} → ${num(g.sizeAfter / 1024)}`,
            `${g.sizeDelta >= 0 ? '+' : ''}${num(g.sizeDelta / 1024)}`,
          ]),
        ),
        note: 'Snapshots written by `v8.writeHeapSnapshot` in the gateway (monitor preload) after the warm-up and after the load drained; grouped as DevTools\' "Constructor" view (JS and native objects by constructor name, the rest by V8 type). Top 15 by self-size growth.',
      },
    ],
    charts: [
      tl.latencyChart('latency', 'Latency over the sustained run', {
        labels: ['gateway'],
        bucketS: p.bucketS,
        percentiles: ['p50', 'p95', 'p99'],
      }),
      tl.throughputChart('throughput', 'Answers per second', { bucketS: p.bucketS }),
      memoryChart(
        ctx,
        'memory',
        'RSS, heap used and heap after GC',
        ctx.monitor.series(),
        tl.marks,
        'Heap after GC: heapUsed right after two forced full GCs (points), every ' + p.gcEveryS + ' s.',
      ),
      ctx.lineChart(
        'fds',
        {
          title: 'Open file descriptors',
          yName: 'fds',
          lines: ctx.monitor
            .series()
            .map((s) => ({ name: s.name, points: s.samples.map((x): Point => [x.t, x.fds]) })),
          marks: tl.marks,
        },
        '/proc/<pid>/fd of the gateway.',
      ),
      lagChart(ctx, 'lag', 'Gateway event-loop lag', ctx.monitor.series(), tl.marks),
    ],
    notes: [],
    data: {
      heapFit,
      rssFit,
      fdFit,
      p99First,
      p99Last,
      drift,
      growth: c.growth,
      snapshots: c.snaps,
      outcomes: oc,
      otherLoadCores: c.otherLoadCores,
    },
  };
}
