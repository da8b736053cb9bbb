/**
 * concurrent: waves of N (1,000) requests, streamed and non-stream alternately, sent within 200 ms and held open
 * together by a slow fake (answers take ~1.5 s): 0 errors, gateway RSS < 400 MB, event-loop lag p99 < 50 ms.
 */
import { stats, type Sample, type ScheduledRequest } from '../../lib/open-loop';
import * as px from '../../lib/processes';
import { findCcr, startCcr } from '../ccr';
import { gatewayConfig, type Service, type SuiteCtx } from '../context';
import { fmtMs, mdTable, num, ratio, trio } from '../md';
import type { ScenarioDef, ScenarioOutput } from '../scenario';
import { outcomes } from '../series';
import { lagChart, memoryChart, Timeline } from '../timeline';
import type { Target } from '../types';

const PARAMS = {
  smoke: { n: 200, waves: 1, firstByteMs: 300, chunks: 5, gapMs: 100 },
  short: { n: 1000, waves: 3, firstByteMs: 500, chunks: 10, gapMs: 100 },
  long: { n: 1000, waves: 10, firstByteMs: 500, chunks: 10, gapMs: 100 },
};
const SPREAD_MS = 200;
const RSS_LIMIT_MB = 400;
const LAG_LIMIT_MS = 50;

interface WaveResult {
  target: string;
  wave: number;
  sent: number;
  ok: number;
  errors: number;
  errorSamples: string[];
  ttfb: ReturnType<typeof stats>;
  total: ReturnType<typeof stats>;
  /** Peak number of answers in progress at once (from the samples). */
  heldOpen: number;
  maxLateMs: number;
  lag?: { p50Ms: number; p99Ms: number; maxMs: number };
  rssBeforeMb: number;
  peakRssMb: number;
  otherLoadCores: number;
}

function wave(n: number, tag: string): ScheduledRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const stream = i % 2 === 0;
    const body = JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      stream,
      system: 'You are a concise assistant.',
      messages: [{ role: 'user', content: `${tag} request ${i}: say hello in one short sentence.` }],
    });
    return {
      atMs: (i * SPREAD_MS) / n,
      path: '/v1/messages',
      body,
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      stream,
      tag,
      id: `${tag}:${i}`,
    };
  });
}

/** Most requests between their send and the end of their answer at the same moment. */
function heldOpen(samples: Sample[]): number {
  const ev: [number, number][] = [];
  for (const s of samples) {
    ev.push([s.atMs + s.lateMs, 1], [s.atMs + (Number.isFinite(s.totalMs) ? s.totalMs : 0), -1]);
  }
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) {
    cur += d;
    max = Math.max(max, cur);
  }
  return max;
}

async function run(ctx: SuiteCtx): Promise<ScenarioOutput> {
  const p = PARAMS[ctx.mode];
  const tl = new Timeline(ctx);
  const notes: string[] = [];
  const redis = await ctx.redis();
  const fakeArgs = [
    '--first-byte-ms',
    String(p.firstByteMs),
    '--chunks',
    String(p.chunks),
    '--gap-ms',
    String(p.gapMs),
  ];
  const fake = await ctx.fake('fake', fakeArgs);
  const config = gatewayConfig([{ name: 'fake', port: fake.port }], {
    Cache: { enabled: false },
    Dedup: { enabled: false },
  });
  // Every concurrent answer holds an upstream socket for its whole length: size the pool for them (as bench:queue does).
  (config.Providers as Record<string, unknown>[])[0].pool = { connections: p.n + 64 };
  const gw = await ctx.gateway('concurrent', config, { REDIS_URL: redis.url });
  const targets: { name: string; svc: Service; gateway: boolean }[] = [
    { name: 'direct', svc: fake, gateway: false },
    { name: 'gateway', svc: gw, gateway: true },
  ];
  let ccrVersion: string | undefined;
  if (ctx.o.compareCcr) {
    const found = findCcr(ctx.o.root);
    if ('missing' in found) {
      notes.push(`--compare ccr: ${found.missing}`);
    } else {
      try {
        const ccr = await startCcr(ctx, found.cli, found.version, fake.port);
        ccrVersion = ccr.version;
        targets.push({ name: 'ccr', svc: ccr, gateway: false });
      } catch (err) {
        notes.push(
          `--compare ccr: CCR ${found.version} did not start: ${(err as Error).message.split('\n')[0]}`,
        );
      }
    }
  }
  ctx.monitor.start();
  // Warm-up: a small wave through each target (connections, JIT), not measured.
  for (const t of targets) {
    await tl.send(null, t.svc.origin, wave(Math.min(100, p.n), `warm-${t.name}`), { timeoutMs: 60_000 });
  }
  const waves: WaveResult[] = [];
  for (let w = 1; w <= p.waves; w++) {
    for (const t of targets) {
      await Promise.all([px.waitIdle(t.svc.child.pid, 3000), px.waitIdle(fake.child.pid, 3000)]);
      await ctx.quiet();
      const rssBeforeMb = px.memInfo(t.svc.child.pid).rssMb;
      if (t.gateway) {
        await ctx.mark(gw);
      }
      tl.mark(`${t.name} ${w}`);
      const meter = ctx.meter();
      const { samples } = await tl.send(t.name, t.svc.origin, wave(p.n, `${t.name}-w${w}`), {
        timeoutMs: 60_000,
      });
      const otherLoadCores = meter.stop();
      const lag = t.gateway ? await ctx.mark(gw) : undefined;
      const oc = outcomes(samples);
      const ok = samples.filter((s) => s.ok);
      const r: WaveResult = {
        target: t.name,
        wave: w,
        sent: oc.sent,
        ok: oc.ok,
        errors: oc.sent - oc.ok,
        errorSamples: oc.errorSamples,
        ttfb: stats(ok.map((s) => s.ttfbMs)),
        total: stats(ok.map((s) => s.totalMs)),
        heldOpen: heldOpen(samples),
        maxLateMs: Math.max(0, ...samples.map((s) => s.lateMs)),
        lag: lag ? { p50Ms: lag.p50Ms, p99Ms: lag.p99Ms, maxMs: lag.maxMs } : undefined,
        rssBeforeMb,
        peakRssMb: px.memInfo(t.svc.child.pid).peakRssMb,
        otherLoadCores,
      };
      waves.push(r);
      ctx.log(
        `wave ${w} ${t.name}: ${r.ok}/${r.sent} ok, held open ${r.heldOpen}, p99 ${fmtMs(r.total.p99)} ms, peak RSS ${num(r.peakRssMb)} MB${r.lag ? `, lag p99 ${fmtMs(r.lag.p99Ms)} ms` : ''}`,
      );
    }
  }
  await ctx.monitor.stop();
  return report(ctx, tl, p, waves, notes, ccrVersion);
}

function report(
  ctx: SuiteCtx,
  tl: Timeline,
  p: (typeof PARAMS)['short'],
  waves: WaveResult[],
  notes: string[],
  ccrVersion?: string,
): ScenarioOutput {
  const gwWaves = waves.filter((w) => w.target === 'gateway');
  const errors = gwWaves.reduce((a, w) => a + w.errors, 0);
  const peak = Math.max(...gwWaves.map((w) => w.peakRssMb));
  const worstLag = Math.max(...gwWaves.map((w) => w.lag?.p99Ms ?? NaN));
  const targets: Target[] = [
    {
      target: `${p.n} concurrent requests through the gateway: 0 errors (${p.waves} wave(s))`,
      measured: `${errors} of ${gwWaves.reduce((a, w) => a + w.sent, 0)}`,
      met: errors === 0,
      why:
        errors > 0
          ? `errors seen: ${[...new Set(gwWaves.flatMap((w) => w.errorSamples))].slice(0, 3).join('; ')}`
          : undefined,
    },
    {
      target: `gateway RSS < ${RSS_LIMIT_MB} MB (peak, VmHWM)`,
      measured: `${num(peak)} MB`,
      met: peak < RSS_LIMIT_MB,
      why:
        peak >= RSS_LIMIT_MB
          ? 'each open request holds its request body, a converter state, an upstream socket and a client socket at once; see the memory chart'
          : undefined,
    },
    {
      target: `gateway event-loop lag p99 < ${LAG_LIMIT_MS} ms (worst wave)`,
      measured: `${fmtMs(worstLag)} ms`,
      met: Number.isFinite(worstLag) ? worstLag < LAG_LIMIT_MS : null,
      why:
        worstLag >= LAG_LIMIT_MS
          ? `the ${p.n} requests arrive within ${SPREAD_MS} ms on a 2-core box shared with the harness reading ${p.n} streams and the fake writing them. The admission gate (Server.admission) starts new requests and writes answers' first bytes over several loop turns, but what remains unspread is the answers' later deltas: the fake sends the ${p.chunks} deltas of all ${p.n} answers in step, so each delta is one poll phase handling every stream's event at once (reading, converting, writing ~${p.n / 2} SSE frames); spreading those per event was tried and made the burst finish 20-30% later (docs/performance-tuning.md#admission-gate)`
          : undefined,
    },
  ];
  const rows = waves.map((w) => [
    w.target,
    w.wave,
    `${w.ok} / ${w.sent}`,
    w.heldOpen,
    trio(w.ttfb),
    trio(w.total),
    fmtMs(w.total.max),
    `${num(w.rssBeforeMb)} → ${num(w.peakRssMb)}`,
    w.lag ? `${fmtMs(w.lag.p50Ms)} / ${fmtMs(w.lag.p99Ms)} / ${fmtMs(w.lag.maxMs)}` : '–',
    fmtMs(w.maxLateMs),
    w.otherLoadCores.toFixed(1),
  ]);
  const tables = [
    {
      title: 'Waves',
      markdown: mdTable(
        [
          'target',
          'wave',
          'ok / sent',
          'held open at once',
          'first byte p50 / p95 / p99 ms',
          'total p50 / p95 / p99 ms',
          'max ms',
          'RSS before → peak MB (VmHWM)',
          'lag p50 / p99 / max ms',
          'harness late max ms',
          'other load, cores',
        ],
        rows,
      ),
      note: `"held open at once": most requests between their send and the end of their answer at the same moment (from the samples). The fake answers after ${p.firstByteMs} ms with ${p.chunks} deltas ${p.gapMs} ms apart, so the answers of a wave overlap. Lag: the gateway's event-loop delay over the wave (monitor preload). "harness late": how late the harness sent its last request (the load generator's own limit).`,
    },
  ];
  const direct = waves.filter((w) => w.target === 'direct');
  const findings = [
    `Gateway: ${gwWaves.map((w) => `wave ${w.wave}: ${w.ok}/${w.sent} ok, total p99 ${fmtMs(w.total.p99)} ms (direct ${fmtMs(direct.find((d) => d.wave === w.wave)?.total.p99 ?? NaN)} ms)`).join('; ')}.`,
    `Peak RSS ${num(peak)} MB with ${Math.max(...gwWaves.map((w) => w.heldOpen))} requests open at once; worst event-loop lag p99 ${fmtMs(worstLag)} ms, max ${fmtMs(Math.max(...gwWaves.map((w) => w.lag?.maxMs ?? NaN)))} ms.`,
  ];
  if (ccrVersion) {
    const c = waves.filter((w) => w.target === 'ccr');
    const g = gwWaves;
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    tables.push({
      title: `Claude Code Router ${ccrVersion} side by side`,
      markdown: mdTable(
        ['', 'direct', 'gateway', 'CCR', 'gateway / direct', 'CCR / direct', 'CCR / gateway'],
        (['p50', 'p99'] as const)
          .map((k) => {
            const d = med(direct.map((w) => w.total[k]));
            const gv = med(g.map((w) => w.total[k]));
            const cv = med(c.map((w) => w.total[k]));
            return [
              `total ${k} ms (median of waves)`,
              fmtMs(d),
              fmtMs(gv),
              fmtMs(cv),
              ratio(gv, d),
              ratio(cv, d),
              ratio(cv, gv),
            ];
          })
          .concat([
            [
              'errors (all waves)',
              String(direct.reduce((a, w) => a + w.errors, 0)),
              String(errors),
              String(c.reduce((a, w) => a + w.errors, 0)),
              '',
              '',
              '',
            ],
            ['peak RSS MB', '–', num(peak), num(Math.max(...c.map((w) => w.peakRssMb))), '', '', ''],
          ]),
      ),
      note: 'Same waves, same fake, one target after the other in each round.',
    });
  }
  const marks = tl.marks;
  return {
    options: {
      concurrency: p.n,
      waves: p.waves,
      sendSpreadMs: SPREAD_MS,
      fake: { firstByteMs: p.firstByteMs, chunks: p.chunks, gapMs: p.gapMs },
      compareCcr: ctx.o.compareCcr,
    },
    processes: [
      `fake provider: first byte ${p.firstByteMs} ms, ${p.chunks} deltas ${p.gapMs} ms apart`,
      "redis-server (throwaway), the gateway's REDIS_URL",
      `gateway: \`node dist/main.js\`, Cache and Dedup off (every request goes upstream), provider pool of ${p.n + 64} connections, monitor preload`,
      ...(ccrVersion ? [`Claude Code Router ${ccrVersion} (\`ccr start\`), LOG false`] : []),
      'harness: open-loop undici client, up to 1,024 connections',
    ],
    targets,
    findings,
    tables,
    charts: [
      tl.latencyChart('latency', `Latency per wave of ${p.n} requests`, {
        bucketS: 1,
        percentiles: ['p50', 'p95', 'p99'],
        caption:
          'Each wave is sent within 200 ms, so each point is one wave: percentiles of its complete answers; dashed: p50.',
      }),
      tl.throughputChart('throughput', 'Answers completed per second'),
      memoryChart(ctx, 'memory', 'RSS and heap over time', ctx.monitor.series(), marks),
      lagChart(ctx, 'lag', 'Gateway event-loop lag', ctx.monitor.series(), marks, [
        { y: LAG_LIMIT_MS, label: `${LAG_LIMIT_MS} ms target` },
      ]),
    ],
    notes,
    data: { waves },
  };
}

export const concurrent: ScenarioDef = {
  name: 'concurrent',
  title: '1,000 concurrent requests held open together',
  summary:
    'Waves of 1,000 requests (streamed and non-stream alternately) sent within 200 ms to a fake that takes ~1.5 s to answer, so they are all open at once: no error, bounded memory, a responsive event loop.',
  goals: ['0 errors', `gateway RSS < ${RSS_LIMIT_MB} MB`, `event-loop lag p99 < ${LAG_LIMIT_MS} ms`],
  durations: 'smoke 1 wave of 200; short 3 waves of 1,000; long 10 waves of 1,000',
  sampleMs: 250,
  method: `Each wave: N small unique Anthropic requests (every other one streamed), scheduled evenly over 200 ms, open loop,
client timeout 60 s. The fake answers after 500 ms with 10 deltas 100 ms apart (~1.5 s per answer), so every request of a
wave is open at the same time (the "held open at once" column counts it from the samples). Cache and coalescing are off:
every request costs an upstream call. The provider pool has N + 64 connections (the default elastic pool tops out at 256
and would make the rest queue in undici). Per wave and target: the fake directly (reference), the gateway, and CCR with
\`--compare ccr\`, one after the other, each after an unmeasured warm-up wave of 100. Gateway peak RSS is \`VmHWM\` from
\`/proc/<pid>/status\` (peak since start); event-loop lag is the preload's histogram over the wave (marked before and
after it); RSS, heap and lag are also sampled every 250 ms for the charts.`,
  run,
};
