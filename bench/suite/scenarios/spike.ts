/**
 * spike: a steady open-loop rate, then 10× for a while, then steady again, through a gateway configured to shed
 * load (in-process scheduler with a concurrency cap and maxWaitMs → 503 + retry-after; client RateLimit → 429 +
 * retry-after): no crash, no hang, the excess shed politely, recovery to the steady p95 within 10 s.
 */
import { stats, type Sample, type ScheduledRequest } from '../../lib/open-loop';
import * as px from '../../lib/processes';
import { gatewayConfig, type SuiteCtx } from '../context';
import { fmtMs, mdTable, num, pct, trio } from '../md';
import type { ScenarioDef, ScenarioOutput } from '../scenario';
import { between, isShed, outcomes, type Outcomes } from '../series';
import { lagChart, memoryChart, Timeline } from '../timeline';
import type { Target } from '../types';

const PARAMS = {
  smoke: { rate: 20, warmS: 2, preS: 6, spikeS: 5, postS: 12 },
  short: { rate: 40, warmS: 5, preS: 30, spikeS: 30, postS: 40 },
  long: { rate: 40, warmS: 10, preS: 60, spikeS: 60, postS: 60 },
};
const FACTOR = 10;
const FAKE_ARGS = ['--profile', '80,150', '--chunks', '4', '--gap-ms', '10'];
/** Typical answer time with this fake (first byte ~80 ms + 4 deltas): sizes the concurrency cap. */
const ANSWER_S = 0.13;
const MAX_WAIT_MS = 1000;
const RECOVERY_LIMIT_S = 10;

function schedule(p: (typeof PARAMS)['short'], tag: string, withSpike: boolean): ScheduledRequest[] {
  const out: ScheduledRequest[] = [];
  const phases = withSpike
    ? [
        { from: 0, to: p.preS, rate: p.rate },
        { from: p.preS, to: p.preS + p.spikeS, rate: p.rate * FACTOR },
        { from: p.preS + p.spikeS, to: p.preS + p.spikeS + p.postS, rate: p.rate },
      ]
    : [{ from: 0, to: p.warmS, rate: p.rate }];
  let i = 0;
  for (const ph of phases) {
    for (let t = ph.from * 1000; t < ph.to * 1000 - 1e-6; t += 1000 / ph.rate) {
      const stream = i % 2 === 0;
      const body = JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 256,
        stream,
        system: 'You are a concise assistant.',
        messages: [{ role: 'user', content: `${tag} request ${i}: say hello in one short sentence.` }],
      });
      out.push({
        atMs: t,
        path: '/v1/messages',
        body,
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        stream,
        tag,
        id: `${tag}:${i}`,
      });
      i++;
    }
  }
  return out;
}

interface Recovery {
  steadyP95: number;
  thresholdMs: number;
  /** Seconds after the end of the spike until the first of two consecutive good 1 s windows (null: never). */
  recoveredAfterS: number | null;
  windows: { fromS: number; n: number; p95: number; shed: number; errors: number; good: boolean }[];
}

function recovery(samples: Sample[], p: (typeof PARAMS)['short']): Recovery {
  const pre = between(samples, Math.min(2000, p.preS * 500), p.preS * 1000).filter((s) => s.ok);
  const steadyP95 = stats(pre.map((s) => s.totalMs)).p95;
  const thresholdMs = Math.max(steadyP95 * 1.25, steadyP95 + 25);
  const end = (p.preS + p.spikeS) * 1000;
  const windows: Recovery['windows'] = [];
  for (let k = 0; k < p.postS; k++) {
    const w = between(samples, end + k * 1000, end + (k + 1) * 1000);
    const oc = outcomes(w);
    const p95 = stats(w.filter((s) => s.ok).map((s) => s.totalMs)).p95;
    windows.push({
      fromS: k,
      n: w.length,
      p95,
      shed: oc.shed,
      errors: oc.errors,
      good: w.length > 0 && oc.shed + oc.errors === 0 && p95 <= thresholdMs,
    });
  }
  let recoveredAfterS: number | null = null;
  for (let k = 0; k < windows.length; k++) {
    if (windows[k].good && (k + 1 >= windows.length || windows[k + 1].good)) {
      recoveredAfterS = k;
      break;
    }
  }
  return { steadyP95, thresholdMs, recoveredAfterS, windows };
}

async function run(ctx: SuiteCtx): Promise<ScenarioOutput> {
  const p = PARAMS[ctx.mode];
  const tl = new Timeline(ctx);
  const concurrency = Math.max(8, Math.ceil(p.rate * ANSWER_S * 3));
  const rpm = p.rate * 60 * 2;
  const redis = await ctx.redis();
  const fake = await ctx.fake('fake', FAKE_ARGS);
  const config = gatewayConfig([{ name: 'fake', port: fake.port }], {
    Cache: { enabled: false },
    Dedup: { enabled: false },
    JobQueue: { enabled: false, queues: { interactive: { concurrency, maxWaitMs: MAX_WAIT_MS } } },
    RateLimit: { enabled: true, client: { rpm, tpm: 0 } },
  });
  const gw = await ctx.gateway('spike', config, { REDIS_URL: redis.url });
  ctx.monitor.start();
  await tl.send(null, gw.origin, schedule(p, 'warm', false));
  await px.waitIdle(gw.child.pid);
  await ctx.quiet();
  const boundMs = MAX_WAIT_MS + 15_000;
  const meter = ctx.meter();
  const t0 = performance.now() + 20;
  const marks = setTimeout(() => tl.mark('spike ×10'), t0 - performance.now() + p.preS * 1000);
  const marks2 = setTimeout(() => tl.mark('spike ends'), t0 - performance.now() + (p.preS + p.spikeS) * 1000);
  const { samples } = await tl.send(
    'gateway',
    gw.origin,
    schedule(p, 'load', true),
    { timeoutMs: boundMs },
    t0 - performance.now(),
  );
  clearTimeout(marks);
  clearTimeout(marks2);
  const otherLoadCores = meter.stop();
  const alive = gw.child.alive;
  const live = await fetch(`${gw.origin}/health/live`, { signal: AbortSignal.timeout(3000) })
    .then((r) => r.status)
    .catch(() => 0);
  await ctx.monitor.stop();

  const spikeFrom = p.preS * 1000;
  const spikeTo = (p.preS + p.spikeS) * 1000;
  const phases: { name: string; oc: Outcomes; s: Sample[] }[] = [
    { name: 'steady before', s: between(samples, 0, spikeFrom) },
    { name: `spike ×${FACTOR}`, s: between(samples, spikeFrom, spikeTo) },
    { name: 'steady after', s: between(samples, spikeTo, Infinity) },
  ].map((x) => ({ ...x, oc: outcomes(x.s) }));
  const all = outcomes(samples);
  const rec = recovery(samples, p);
  const worst = Math.max(...samples.map((s) => (Number.isFinite(s.totalMs) ? s.totalMs : Infinity)));
  const s429 = samples.filter((s) => s.status === 429).length;
  const s503 = samples.filter((s) => s.status === 503).length;
  const targets: Target[] = [
    {
      target: 'no crash: the gateway is alive and /health/live answers 200 after the run',
      measured: alive ? `alive, /health/live ${live}` : 'process exited',
      met: alive && live === 200,
    },
    {
      target: `no hang: every request answered (complete or a clean error status) within ${num(boundMs / 1000)} s`,
      measured: `${all.timeouts} timeouts, ${all.errors} other errors; slowest ${fmtMs(worst)} ms`,
      met: all.errors === 0 && Number.isFinite(worst),
      why: all.errors > 0 ? `errors: ${all.errorSamples.join('; ')}` : undefined,
    },
    {
      target: 'the excess is answered 429 / 503 with retry-after',
      measured: `${all.shed} shed (${s429} × 429, ${s503} × 503), ${all.shedWithRetryAfter} with retry-after`,
      met: all.shed > 0 ? all.shedWithRetryAfter === all.shed && all.errors === 0 : null,
      why:
        all.shed === 0
          ? 'nothing was shed: the gateway absorbed the whole spike (raise the factor or lower the concurrency cap to test shedding)'
          : all.shedWithRetryAfter < all.shed
            ? 'some shed answers carried no retry-after header'
            : undefined,
    },
    {
      target: `recovery to the steady p95 within ${RECOVERY_LIMIT_S} s after the spike`,
      measured:
        rec.recoveredAfterS === null
          ? 'not recovered by the end'
          : `${rec.recoveredAfterS} s (steady p95 ${fmtMs(rec.steadyP95)} ms, threshold ${fmtMs(rec.thresholdMs)} ms)`,
      met: rec.recoveredAfterS !== null && rec.recoveredAfterS <= RECOVERY_LIMIT_S,
      why:
        rec.recoveredAfterS === null || rec.recoveredAfterS > RECOVERY_LIMIT_S
          ? 'requests queued during the spike (up to maxWaitMs each) and the rate-limit bucket drained by the spike delay the return to steady state; see the per-second windows'
          : undefined,
    },
  ];
  const rows = phases.map((x) => [
    x.name,
    x.oc.sent,
    x.oc.ok,
    x.s.filter((s) => s.status === 429).length,
    x.s.filter((s) => s.status === 503).length,
    `${x.oc.shedWithRetryAfter} / ${x.oc.shed}`,
    x.oc.errors,
    trio(stats(x.s.filter((s) => s.ok).map((s) => s.totalMs))),
    trio(stats(x.s.filter(isShed).map((s) => s.totalMs))),
  ]);
  const findings = [
    `Steady p95 ${fmtMs(rec.steadyP95)} ms; during the ${p.spikeS} s spike at ${p.rate * FACTOR} req/s the gateway completed ${phases[1].oc.ok} and shed ${phases[1].oc.shed} (${pct(phases[1].oc.shed / Math.max(1, phases[1].oc.sent))}) — ${s503} × 503 from the queue's maxWaitMs, ${s429} × 429 from the client rate limit.`,
    rec.recoveredAfterS === null
      ? 'The p95 did not return to the steady threshold before the end of the run.'
      : `Back to the steady p95 (≤ ${fmtMs(rec.thresholdMs)} ms, nothing shed) ${rec.recoveredAfterS} s after the spike ended.`,
  ];
  return {
    options: {
      ...p,
      factor: FACTOR,
      concurrencyCap: concurrency,
      maxWaitMs: MAX_WAIT_MS,
      clientRpm: rpm,
      clientTimeoutMs: boundMs,
    },
    processes: [
      `fake provider: first byte log-normal median 80 / p95 150 ms, 4 deltas 10 ms apart (\`${FAKE_ARGS.join(' ')}\`)`,
      "redis-server (throwaway): the gateway's REDIS_URL (rate-limit buckets live there)",
      `gateway: JobQueue off (in-process scheduler), interactive concurrency ${concurrency}, maxWaitMs ${MAX_WAIT_MS}; RateLimit on, client ${num(rpm)} rpm (2× the steady rate); Cache and Dedup off`,
      'harness: open loop, small unique requests, every other one streamed',
    ],
    targets,
    findings,
    tables: [
      {
        title: 'Phases',
        markdown: mdTable(
          [
            'phase',
            'sent',
            'complete',
            '429',
            '503',
            'shed with retry-after',
            'errors',
            'complete p50 / p95 / p99 ms',
            'shed answers p50 / p95 / p99 ms',
          ],
          rows,
        ),
        note: 'By scheduled send time. Latency from the scheduled send to the end of the answer (or of the 429 / 503).',
      },
      {
        title: 'After the spike, per second',
        markdown: mdTable(
          [
            'seconds after the spike',
            'requests',
            'p95 ms',
            'shed',
            'errors',
            'good (p95 ≤ threshold, none shed)',
          ],
          rec.windows.map((w) => [
            `${w.fromS}–${w.fromS + 1}`,
            w.n,
            fmtMs(w.p95),
            w.shed,
            w.errors,
            w.good ? 'yes' : 'no',
          ]),
        ),
        note: `Threshold = max(1.25 × steady p95, steady p95 + 25 ms) = ${fmtMs(rec.thresholdMs)} ms; recovered = the first of two consecutive good windows.`,
      },
    ],
    charts: [
      tl.latencyChart('latency', `Latency through a ${FACTOR}× spike`, {
        labels: ['gateway'],
        percentiles: ['p50', 'p95', 'p99'],
        refs: [{ y: rec.thresholdMs, label: 'recovery threshold' }],
        logY: true,
      }),
      tl.throughputChart('throughput', 'Sent, answered and shed per second', {
        kinds: ['sent', 'ok', 'shed', 'errors'],
      }),
      memoryChart(ctx, 'memory', 'Gateway memory', ctx.monitor.series(), tl.marks),
      lagChart(ctx, 'lag', 'Gateway event-loop lag', ctx.monitor.series(), tl.marks),
    ],
    notes: [],
    data: {
      outcomes: all,
      phases: phases.map((x) => ({ name: x.name, ...x.oc })),
      recovery: rec,
      otherLoadCores,
    },
  };
}

export const spike: ScenarioDef = {
  name: 'spike',
  title: 'A 10× traffic spike',
  summary:
    'Steady traffic, then ten times as much for a while, then steady again: the gateway must not crash or hang, must shed the excess with 429 / 503 and retry-after, and must return to its steady latency quickly.',
  goals: [
    'no crash, no hang',
    'the excess answered 429 / 503 with retry-after',
    `recovery to the steady p95 within ${RECOVERY_LIMIT_S} s (time reported)`,
  ],
  durations:
    'smoke 6 s + 5 s spike + 12 s at 20 req/s; short 30 s + 30 s + 40 s at 40 req/s; long 60 s + 60 s + 60 s',
  method: `One open-loop schedule: steady rate R, then 10 R for the spike, then R again (small unique Anthropic requests, every
other one streamed; client timeout maxWaitMs + 15 s, so "no hang" is checkable). The gateway is set up to shed load the
ways docs/scaling.md and docs/ratelimit.md describe: the in-process scheduler (JobQueue off) caps the interactive class
at ~3× the steady in-flight count, a request that waits longer than \`maxWaitMs\` (1 s) is answered 503
\`overloaded_error\` with \`retry-after\`; the client rate limit (GCRA, 2× the steady rate per minute, burst = one
minute) answers 429 with \`retry-after\` once the spike has drained its bucket (in a short smoke spike the bucket never
empties, so only 503s appear). Steady p95 = p95 of the complete answers sent before the spike (first 2 s left out).
Recovery: per second of send time after the spike, p95 of the complete answers ≤ max(1.25 × steady p95, steady p95 +
25 ms) and nothing shed; the recovery time is the start of the first of two consecutive such seconds.`,
  run,
};
