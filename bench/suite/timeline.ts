/**
 * A scenario's open-loop runs on one clock (seconds since the scenario's t0), and the three charts every
 * scenario draws from it: latency percentiles over time, throughput over time, memory over time (plus event-loop
 * lag where it matters).
 */
import {
  runOpenLoop,
  runOpenLoopIter,
  type OpenLoopOptions,
  type Sample,
  type ScheduledRequest,
} from '../lib/open-loop';
import { PALETTE, type Line } from './charts';
import type { SuiteCtx } from './context';
import { latencyOverTime, throughputOverTime, type Point } from './series';
import type { Chart, ProcSeries } from './types';

export interface Run {
  label: string;
  /** Start of the run on the scenario clock (s). */
  offsetS: number;
  samples: Sample[];
}

export interface Mark {
  at: number;
  label: string;
}

export class Timeline {
  readonly runs: Run[] = [];
  readonly marks: Mark[] = [];

  constructor(private readonly ctx: SuiteCtx) {}

  mark(label: string, at = this.ctx.clock()): void {
    this.marks.push({ at, label });
  }

  /**
   * Sends `schedule` open-loop to `origin`, starting `leadMs` from now; records the samples under `label`
   * (unless `label` is null: a warm-up).
   */
  async send(
    label: string | null,
    origin: string,
    schedule: Iterable<ScheduledRequest>,
    o: Omit<OpenLoopOptions, 'origin' | 't0'> = {},
    leadMs = 20,
  ): Promise<{ samples: Sample[]; t0: number }> {
    const t0 = performance.now() + leadMs;
    const run = Array.isArray(schedule)
      ? runOpenLoop(schedule as ScheduledRequest[], { ...o, origin, t0 })
      : runOpenLoopIter(schedule, { ...o, origin, t0 });
    const samples = await run.done;
    if (label !== null) {
      this.runs.push({ label, offsetS: this.ctx.offset(t0), samples });
    }
    return { samples, t0 };
  }

  add(label: string, t0: number, samples: Sample[]): void {
    this.runs.push({ label, offsetS: this.ctx.offset(t0), samples });
  }

  labels(): string[] {
    return [...new Set(this.runs.map((r) => r.label))];
  }

  /** The runs of `label`, each run's points followed by a gap so that lines do not join separate runs. */
  private joined(label: string, f: (r: Run) => Point[]): (Point | [number, null])[] {
    return this.runs
      .filter((r) => r.label === label)
      .flatMap((r) => {
        const pts = f(r);
        return pts.length > 0 ? [...pts, [pts[pts.length - 1][0] + 0.01, null] as [number, null]] : [];
      });
  }

  private latency(
    label: string,
    p: 'p50' | 'p95' | 'p99' | 'max',
    bucketS: number,
    field: 'totalMs' | 'ttfbMs',
  ) {
    return this.joined(label, (r) => latencyOverTime(r.samples, r.offsetS, bucketS, field)[p]);
  }

  private throughput(label: string, kind: 'ok' | 'shed' | 'errors' | 'sent', bucketS: number) {
    return this.joined(label, (r) => throughputOverTime(r.samples, r.offsetS, bucketS)[kind]);
  }

  latencyChart(
    name: string,
    title: string,
    o: {
      labels?: string[];
      percentiles?: ('p50' | 'p95' | 'p99' | 'max')[];
      bucketS?: number;
      refs?: { y: number; label: string }[];
      logY?: boolean;
      field?: 'totalMs' | 'ttfbMs';
      caption?: string;
    } = {},
  ): Chart {
    const lines: Line[] = [];
    const style = { p50: 'dashed', p95: 'dotted', p99: 'solid', max: 'solid' } as const;
    for (const [i, label] of (o.labels ?? this.labels()).entries()) {
      for (const p of o.percentiles ?? ['p50', 'p95', 'p99']) {
        lines.push({
          name: `${label} ${p}`,
          points: this.latency(label, p, o.bucketS ?? 1, o.field ?? 'totalMs'),
          color: PALETTE[i % PALETTE.length],
          style: style[p],
          width: p === 'max' ? 1 : 1.6,
          opacity: p === 'max' ? 0.5 : 1,
        });
      }
    }
    return this.ctx.lineChart(
      name,
      {
        title,
        yName: o.field === 'ttfbMs' ? 'first byte, ms' : 'latency, ms (from scheduled send)',
        lines,
        marks: this.marks,
        refs: o.refs,
        logY: o.logY,
      },
      o.caption ??
        `Percentiles of complete answers per ${o.bucketS ?? 1} s of scheduled send time; one colour per target, dashed p50, dotted p95, solid p99 (thin: max).`,
    );
  }

  throughputChart(
    name: string,
    title: string,
    o: {
      labels?: string[];
      bucketS?: number;
      kinds?: ('ok' | 'shed' | 'errors' | 'sent')[];
      caption?: string;
    } = {},
  ): Chart {
    const lines: Line[] = [];
    const style = { ok: 'solid', sent: 'dashed', shed: 'dotted', errors: 'dotted' } as const;
    for (const [i, label] of (o.labels ?? this.labels()).entries()) {
      for (const k of o.kinds ?? ['ok', 'errors']) {
        const points = this.throughput(label, k, o.bucketS ?? 1);
        if (k !== 'ok' && k !== 'sent' && points.every((p) => !p[1])) {
          continue;
        }
        lines.push({
          name: `${label} ${k === 'ok' ? 'answered' : k}`,
          points,
          color: k === 'errors' ? '#d62728' : k === 'shed' ? '#e8772e' : PALETTE[i % PALETTE.length],
          style: style[k],
        });
      }
    }
    return this.ctx.lineChart(
      name,
      { title, yName: 'per second', lines, marks: this.marks },
      o.caption ??
        'Complete answers per second by completion time (errors and 429/503 separately when there are any).',
    );
  }
}

/** RSS, heap used (and heap after forced GC, when sampled) of each monitored process over time. */
export function memoryChart(
  ctx: SuiteCtx,
  name: string,
  title: string,
  series: ProcSeries[],
  marks: Mark[] = [],
  caption?: string,
): Chart {
  const lines: Line[] = [];
  for (const [i, s] of series.entries()) {
    const color = PALETTE[i % PALETTE.length];
    lines.push({ name: `${s.name} RSS`, points: s.samples.map((x) => [x.t, x.rssMb]), color });
    if (s.samples.some((x) => x.heapUsedMb !== undefined)) {
      lines.push({
        name: `${s.name} heap used`,
        points: s.samples.filter((x) => x.heapUsedMb !== undefined).map((x) => [x.t, x.heapUsedMb as number]),
        style: 'dashed',
        color,
      });
    }
    if (s.heapAfterGc && s.heapAfterGc.length > 0) {
      lines.push({
        name: `${s.name} heap after GC`,
        points: s.heapAfterGc.map((x) => [x.t, x.mb]),
        scatter: true,
        color: '#222222',
      });
    }
  }
  return ctx.lineChart(
    name,
    { title, yName: 'MB', lines, marks },
    caption ??
      'RSS from /proc/<pid>/status; heap used from process.memoryUsage() in the gateway (monitor preload).',
  );
}

/** Worst event-loop lag per sample interval (p99 and max) of each gateway. */
export function lagChart(
  ctx: SuiteCtx,
  name: string,
  title: string,
  series: ProcSeries[],
  marks: Mark[] = [],
  refs?: { y: number; label: string }[],
): Chart {
  const lines: Line[] = [];
  for (const [i, s] of series.filter((x) => x.samples.some((y) => y.lagP99Ms !== undefined)).entries()) {
    const color = PALETTE[i % PALETTE.length];
    lines.push({
      name: `${s.name} lag p99`,
      points: s.samples.filter((x) => x.lagP99Ms !== undefined).map((x) => [x.t, x.lagP99Ms as number]),
      color,
    });
    lines.push({
      name: `${s.name} lag max`,
      points: s.samples.filter((x) => x.lagMaxMs !== undefined).map((x) => [x.t, x.lagMaxMs as number]),
      style: 'dashed',
      color,
    });
  }
  return ctx.lineChart(
    name,
    { title, yName: 'event-loop lag, ms', lines, marks, refs },
    'Event-loop delay per sample interval (perf_hooks histogram in the gateway, minus its 10 ms resolution).',
  );
}
