/**
 * redis-outage: Redis killed (SIGKILL) in the middle of a steady load, then restarted on the same port: no request
 * hangs, overhead p99 ≤ 10 ms vs direct while degraded, and the gateway returns to its Redis modes by itself (timed
 * from /health/ready).
 */
import { fixedRate, stats, type ScheduledRequest } from '../../lib/open-loop';
import * as px from '../../lib/processes';
import { gatewayConfig, type SuiteCtx } from '../context';
import { added, fmtMs, mdTable, trio } from '../md';
import type { ScenarioDef, ScenarioOutput } from '../scenario';
import { between, outcomes, type Point } from '../series';
import { memoryChart, Timeline } from '../timeline';
import type { Target } from '../types';

const PARAMS = {
  smoke: { rate: 30, warmS: 2, preS: 4, outageS: 6, postS: 8 },
  short: { rate: 100, warmS: 5, preS: 20, outageS: 20, postS: 30 },
  long: { rate: 100, warmS: 10, preS: 60, outageS: 60, postS: 60 },
};
const FAKE_ARGS = ['--first-byte-ms', '20', '--chunks', '4', '--gap-ms', '0'];
const BOUND_MS = 5000;
const OVERHEAD_LIMIT_MS = 10;
/** Left out of the degraded window after the kill: the gateway's watchdog (500 ms) notices and flips to local. */
const SETTLE_MS = 1000;

interface ReadyPoll {
  t: number;
  status: number;
  mode: string;
  redisSubsystems: number;
  subsystems: Record<string, string>;
}

function schedule(rate: number, seconds: number, tag: string): ScheduledRequest[] {
  const json = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
  return fixedRate(rate, seconds, (i) => {
    // One in five repeats a request sent a second earlier (a cache hit with Redis, a memory-tier hit without).
    let k = i;
    if (i % 5 === 4) {
      for (k = Math.max(0, i - rate); k > 0 && k % 5 === 4; k--) {
        // the repeated request must be an original, not itself a repeat
      }
    }
    const stream = k % 2 === 0;
    const body = JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      stream,
      system: 'You are a concise assistant.',
      messages: [{ role: 'user', content: `${tag} request ${k}: say hello in one short sentence.` }],
    });
    return { path: '/v1/messages', body, headers: json, stream, tag, id: `${tag}:${k}` };
  });
}

async function run(ctx: SuiteCtx): Promise<ScenarioOutput> {
  const p = PARAMS[ctx.mode];
  const tl = new Timeline(ctx);
  let redis = await ctx.redis();
  const fake = await ctx.fake('fake', FAKE_ARGS);
  const config = gatewayConfig([{ name: 'fake', port: fake.port }], {
    Cache: { enabled: true },
    Dedup: { enabled: true },
    // Limits far above the load: the guard runs (one Redis script per request) but never refuses.
    RateLimit: { enabled: true, client: { rpm: 1_000_000, tpm: 0 } },
  });
  const gw = await ctx.gateway('outage', config, { REDIS_URL: redis.url });
  ctx.monitor.start();
  await tl.send(null, gw.origin, schedule(p.rate, p.warmS, 'warm'));
  await tl.send(null, fake.origin, schedule(p.rate, p.warmS, 'warm'));
  await px.waitIdle(gw.child.pid);
  await ctx.quiet();

  const polls: ReadyPoll[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const t = ctx.clock();
      try {
        const res = await fetch(`${gw.origin}/health/ready`, { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as {
          details?: { redis?: { mode?: string; subsystems?: Record<string, string> } };
        };
        const r = body.details?.redis ?? {};
        const subsystems = r.subsystems ?? {};
        polls.push({
          t,
          status: res.status,
          mode: r.mode ?? '?',
          redisSubsystems: Object.values(subsystems).filter((m) => m === 'redis').length,
          subsystems,
        });
      } catch (err) {
        polls.push({
          t,
          status: 0,
          mode: `poll failed: ${(err as Error).message}`,
          redisSubsystems: NaN,
          subsystems: {},
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const total = p.preS + p.outageS + p.postS;
  const meter = ctx.meter();
  const t0 = performance.now() + 50;
  const gwRun = tl.send(
    'gateway',
    gw.origin,
    schedule(p.rate, total, 'load'),
    { timeoutMs: BOUND_MS * 4 },
    t0 - performance.now(),
  );
  // Direct: the same bodies half a period later, so the two loads do not hit the fake in lockstep.
  const directRun = tl.send(
    'direct',
    fake.origin,
    schedule(p.rate, total, 'load'),
    { timeoutMs: BOUND_MS * 4 },
    t0 + 500 / p.rate - performance.now(),
  );
  const sleepUntil = (s: number) =>
    new Promise((r) => setTimeout(r, Math.max(0, t0 + s * 1000 - performance.now())));
  await sleepUntil(p.preS);
  const killedAt = ctx.clock();
  const subsystemsBefore = polls[polls.length - 1]?.subsystems ?? {};
  tl.mark('Redis killed');
  redis.child.proc.kill('SIGKILL');
  await redis.child.exited;
  ctx.log(`redis-server killed at ${killedAt.toFixed(1)} s`);
  await sleepUntil(p.preS + p.outageS);
  redis = await ctx.redis(redis.port);
  const restartedAt = ctx.clock();
  tl.mark('Redis restarted');
  ctx.log(`redis-server restarted on :${redis.port} at ${restartedAt.toFixed(1)} s`);
  const [g, d] = await Promise.all([gwRun, directRun]);
  polling = false;
  await poller;
  const otherLoadCores = meter.stop();
  await ctx.monitor.stop();

  const degradedAt = polls.find((x) => x.t >= killedAt && x.mode === 'degraded')?.t ?? null;
  const wanted = Object.values(subsystemsBefore).filter((m) => m === 'redis').length;
  const recoveredAt =
    polls.find((x) => x.t >= restartedAt && x.mode === 'redis' && x.redisSubsystems >= wanted)?.t ?? null;
  if (recoveredAt !== null) {
    tl.mark('back to redis', recoveredAt);
  }
  // Windows on the runs' own clock (ms after t0).
  const off = (s: number) => (s - ctx.offset(t0)) * 1000;
  const win = {
    healthy: [0, off(killedAt)],
    degraded: [off(killedAt) + SETTLE_MS, off(restartedAt)],
    recovered: [off(recoveredAt ?? restartedAt), total * 1000],
  } as const;
  const rows = (['healthy', 'degraded', 'recovered'] as const).map((w) => {
    const gs = between(g.samples, win[w][0], win[w][1]);
    const ds = between(d.samples, win[w][0], win[w][1]);
    const go = outcomes(gs);
    const gl = stats(gs.filter((s) => s.ok).map((s) => s.totalMs));
    const dl = stats(ds.filter((s) => s.ok).map((s) => s.totalMs));
    return { w, go, gl, dl, hits: gs.filter((s) => s.cache === 'HIT').length };
  });
  const all = outcomes(g.samples);
  const worst = Math.max(...g.samples.map((s) => (Number.isFinite(s.totalMs) ? s.totalMs : Infinity)));
  const deg = rows[1];
  const overhead = deg.gl.p99 - deg.dl.p99;
  const targets: Target[] = [
    {
      target: `no request hangs: every request answered within ${BOUND_MS / 1000} s`,
      measured: `slowest ${fmtMs(worst)} ms, ${all.timeouts} timeouts`,
      met: worst <= BOUND_MS && all.timeouts === 0,
      why:
        worst > BOUND_MS
          ? 'some requests waited on Redis commands longer than the bound: see the latency chart around the kill'
          : undefined,
    },
    {
      target: '0 errors through the outage',
      measured: `${all.errors + all.shed} of ${all.sent}`,
      met: all.errors + all.shed === 0,
      why: all.errors > 0 ? all.errorSamples.join('; ') : undefined,
    },
    {
      target: `degraded mode: overhead p99 ≤ ${OVERHEAD_LIMIT_MS} ms vs direct`,
      measured: `${fmtMs(overhead)} ms (gateway ${fmtMs(deg.gl.p99)}, direct ${fmtMs(deg.dl.p99)})`,
      met: Number.isFinite(overhead) ? overhead <= OVERHEAD_LIMIT_MS : null,
      why:
        overhead > OVERHEAD_LIMIT_MS
          ? `compare with the healthy window (${fmtMs(rows[0].gl.p99 - rows[0].dl.p99)} ms): what is added is the gateway's own per-request cost on 2 shared cores (see the overhead scenario), not waiting for Redis`
          : undefined,
    },
    {
      target: 'automatic recovery: /health/ready back to mode redis (every subsystem that was on Redis)',
      measured:
        recoveredAt === null
          ? 'not within the run'
          : `${fmtMs((recoveredAt - restartedAt) * 1000)} ms after the restart`,
      met: recoveredAt !== null,
      why:
        recoveredAt === null
          ? 'the gateway did not report Redis mode again before the end of the run'
          : undefined,
    },
  ];
  const modeLine: Point[] = polls
    .filter((x) => Number.isFinite(x.redisSubsystems))
    .map((x) => [x.t, x.redisSubsystems]);
  return {
    options: { ...p, boundMs: BOUND_MS, settleMs: SETTLE_MS },
    processes: [
      `fake provider: first byte 20 ms, 4 deltas (\`${FAKE_ARGS.join(' ')}\`)`,
      'redis-server: killed with SIGKILL mid-run, restarted empty on the same port',
      'gateway: Cache, Dedup and RateLimit (limits far above the load) on, Redis through REDIS_URL, Redis.required false (the default: degraded, not down)',
      'harness: two open loops at the same rate — the gateway and the fake directly (same bodies, half a period apart); GET /health/ready every 100 ms',
    ],
    targets,
    findings: [
      `Redis killed at ${killedAt.toFixed(1)} s: /health/ready reported \`degraded\` ${degradedAt === null ? 'never' : `${fmtMs((degradedAt - killedAt) * 1000)} ms`} later; restarted at ${restartedAt.toFixed(1)} s, back to \`redis\` ${recoveredAt === null ? 'never' : `${fmtMs((recoveredAt - restartedAt) * 1000)} ms`} later.`,
      `${all.sent} requests through the gateway: ${all.ok} complete, ${all.errors} errors, slowest ${fmtMs(worst)} ms. While degraded the gateway added ${added(deg.gl.p50, deg.dl.p50)} ms at p50 and ${added(deg.gl.p99, deg.dl.p99)} ms at p99 over direct (healthy: ${added(rows[0].gl.p99, rows[0].dl.p99)} ms at p99).`,
    ],
    tables: [
      {
        title: 'Healthy, degraded, recovered',
        markdown: mdTable(
          [
            'window',
            'requests',
            'complete',
            'errors',
            'gateway p50 / p95 / p99 ms',
            'direct p50 / p95 / p99 ms',
            'added p50 / p99 ms',
            'cache HIT answers',
          ],
          rows.map((r) => [
            r.w,
            r.go.sent,
            r.go.ok,
            r.go.errors + r.go.shed,
            trio(r.gl),
            trio(r.dl),
            `${added(r.gl.p50, r.dl.p50)} / ${added(r.gl.p99, r.dl.p99)}`,
            r.hits,
          ]),
        ),
        note: `Windows by scheduled send time: healthy = before the kill; degraded = from ${SETTLE_MS} ms after the kill to the restart; recovered = from /health/ready reporting redis again to the end.`,
      },
      {
        title: '/health/ready over time',
        markdown: mdTable(
          ['t (s)', 'HTTP', 'redis mode', 'subsystems'],
          polls
            .filter(
              (x, i) =>
                i === 0 || x.mode !== polls[i - 1].mode || x.redisSubsystems !== polls[i - 1].redisSubsystems,
            )
            .map((x) => [
              x.t.toFixed(1),
              x.status,
              x.mode,
              Object.entries(x.subsystems)
                .map(([k, v]) => `${k}: ${v}`)
                .join(', '),
            ]),
        ),
        note: 'Only the polls where something changed.',
      },
    ],
    charts: [
      tl.latencyChart('latency', 'Latency through a Redis outage: gateway vs direct', {
        percentiles: ['p50', 'p99'],
        logY: true,
      }),
      tl.throughputChart('throughput', 'Answers per second'),
      memoryChart(ctx, 'memory', 'Gateway memory', ctx.monitor.series(), tl.marks),
      ctx.lineChart(
        'modes',
        {
          title: 'Subsystems on Redis (/health/ready)',
          yName: 'subsystems in redis mode',
          lines: [{ name: 'redis-mode subsystems', points: modeLine }],
          marks: tl.marks,
        },
        'Polled every 100 ms.',
      ),
    ],
    notes: [],
    data: {
      killedAt,
      restartedAt,
      degradedAt,
      recoveredAt,
      windows: rows.map((r) => ({ window: r.w, outcomes: r.go, gateway: r.gl, direct: r.dl })),
      polls,
      otherLoadCores,
    },
  };
}

export const redisOutage: ScenarioDef = {
  name: 'redis-outage',
  title: 'Redis outage and recovery',
  summary:
    'Redis is killed in the middle of a steady load and restarted later: no request may hang, the degraded gateway must stay within 10 ms of direct at p99, and it must go back to Redis by itself.',
  goals: [
    'no request hangs (all answered within 5 s)',
    `overhead p99 ≤ ${OVERHEAD_LIMIT_MS} ms in degraded mode (vs direct)`,
    'automatic recovery to the Redis modes (timed)',
  ],
  durations: 'smoke 4 + 6 + 8 s at 30 req/s; short 20 + 20 + 30 s at 100 req/s; long 60 + 60 + 60 s',
  method: `Two open loops run side by side at the same rate: one through the gateway, one to the fake directly (same bodies, half a
period apart), so the gateway's overhead is measured against the same machine state at every moment. One request in five
repeats one sent a second earlier (cache hits). Cache, coalescing and rate limiting (far above the load, so it never
refuses) are on, all backed by Redis. After the healthy part the harness kills redis-server with SIGKILL (a crash: no
FIN, no goodbye), waits, and starts a fresh one on the same port. \`GET /health/ready\` is polled every 100 ms: its
\`redis\` detail gives the mode (\`redis\` / \`degraded\`) and each subsystem's form. Detection = kill → first
\`degraded\`; recovery = restart → first poll with mode \`redis\` and as many subsystems on Redis as before the kill.
"Hang" bound: 5 s per request (the client timeout is 20 s, so a hang would show as a slow answer or a timeout).`,
  run,
};
