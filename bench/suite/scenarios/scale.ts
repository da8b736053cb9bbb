/**
 * scale: 1, 2 and 3 gateway instances behind nginx on one Redis: peak throughput per instance count (closed loop),
 * and the cache and coalescing shared cluster-wide — one upstream call per unique request, counted per body at the
 * fake provider.
 */
import { stats, type ScheduledRequest } from '../../lib/open-loop';
import { fakeConfigure, fakeReset } from '../../lib/gateway';
import { callsPerMarker, closedLoop, JSON_HEADERS, smallBody } from '../closed-loop';
import * as px from '../../lib/processes';
import { gatewayConfig, type GatewayProc, type SuiteCtx } from '../context';
import { fmtMs, mdTable, num, pct, trio } from '../md';
import { ensureNginx, nginxVersion, startNginx } from '../nginx';
import type { ScenarioDef, ScenarioOutput } from '../scenario';
import { outcomes } from '../series';
import { memoryChart, Timeline } from '../timeline';
import type { Target } from '../types';

const PARAMS = {
  smoke: { counts: [1, 2, 3], warmS: 1, loadS: 3, connections: 32, unique: 10, copies: 6 },
  short: { counts: [1, 2, 3], warmS: 3, loadS: 15, connections: 64, unique: 50, copies: 10 },
  long: { counts: [1, 2, 3], warmS: 5, loadS: 60, connections: 64, unique: 100, copies: 10 },
};
const FAKE_ARGS = ['--first-byte-ms', '0', '--chunks', '4', '--gap-ms', '0'];
const COALESCE_FIRST_BYTE_MS = 300;
interface Level {
  instances: number;
  rps: number;
  sent: number;
  errors: number;
  total: ReturnType<typeof stats>;
  gatewayCores: number[];
  nginxCores: number;
  otherLoadCores: number;
  share: {
    unique: number;
    copies: number;
    requests: number;
    complete: number;
    upstreamCalls: number;
    maxPerBody: number;
    bodiesWithMoreThanOne: number;
    hits: number;
    followers: number;
    sequentialUpstream: number;
  };
}

async function level(
  ctx: SuiteCtx,
  tl: Timeline,
  nginxBin: string,
  n: number,
  fake: { origin: string; port: number },
  redisUrl: string,
): Promise<Level> {
  const p = PARAMS[ctx.mode];
  const config = gatewayConfig([{ name: 'fake', port: fake.port }], {
    Cache: { enabled: true },
    Dedup: { enabled: true },
  });
  const gws: GatewayProc[] = [];
  for (let i = 0; i < n; i++) {
    gws.push(await ctx.gateway(`n${n}-${String.fromCharCode(97 + i)}`, config, { REDIS_URL: redisUrl }));
  }
  const lb = await startNginx(
    ctx,
    nginxBin,
    gws.map((g) => g.port),
    `n${n}`,
  );
  ctx.monitor.watch(`nginx n${n}`, lb.child.pid);
  await closedLoop(lb.origin, p.connections, p.warmS, `warm-${n}`);
  await Promise.all(gws.map((g) => px.waitIdle(g.child.pid)));
  await ctx.quiet();
  const cpu0 = gws.map((g) => px.cpuMicros(g.child.pid));
  const nginx0 = px.cpuMicros(lb.child.pid);
  const meter = ctx.meter();
  tl.mark(`${n} instance${n > 1 ? 's' : ''}`);
  const { samples, t0 } = await closedLoop(lb.origin, p.connections, p.loadS, `load-${n}`);
  const wall = (performance.now() - t0) * 1000;
  const otherLoadCores = meter.stop();
  tl.add(`${n}×`, t0, samples);
  const oc = outcomes(samples);
  const gatewayCores = gws.map((g, i) => (px.cpuMicros(g.child.pid) - cpu0[i]) / wall);
  const nginxCores = (px.cpuMicros(lb.child.pid) - nginx0) / wall;

  // Shared cache and coalescing: `copies` identical requests per unique body at once (round robin spreads them over
  // the instances), then the same again once answered (cache hits from the shared Redis tier).
  await fakeConfigure(fake.origin, { firstByteDelayMs: COALESCE_FIRST_BYTE_MS });
  const marker = `scale${n}u${Date.now()}`;
  const burst = (round: number): ScheduledRequest[] =>
    Array.from({ length: p.unique * p.copies }, (_, j) => {
      const u = j % p.unique;
      const stream = u % 2 === 0;
      return {
        atMs: u * 20 + Math.floor(j / p.unique),
        path: '/v1/messages',
        body: smallBody(`Shared cache check ${marker}-${u}: say hello.`, stream),
        headers: JSON_HEADERS,
        stream,
        tag: `round${round}`,
        id: `${marker}-${u}`,
      };
    }).sort((a, b) => a.atMs - b.atMs);
  const first = await tl.send(null, lb.origin, burst(1), { timeoutMs: 30_000 });
  const afterFirst = await callsPerMarker(fake.origin, marker);
  const second = await tl.send(null, lb.origin, burst(2), { timeoutMs: 30_000 });
  const calls = await callsPerMarker(fake.origin, marker);
  await fakeConfigure(fake.origin, { firstByteDelayMs: 0 });
  const all = [...first.samples, ...second.samples];
  const counts = [...calls.values()];
  const share = {
    unique: p.unique,
    copies: p.copies,
    requests: all.length,
    complete: all.filter((s) => s.ok).length,
    upstreamCalls: counts.reduce((a, b) => a + b, 0),
    maxPerBody: Math.max(0, ...counts),
    bodiesWithMoreThanOne: counts.filter((c) => c > 1).length,
    hits: all.filter((s) => s.cache === 'HIT').length,
    followers: all.filter((s) => s.dedup === 'follower').length,
    sequentialUpstream:
      counts.reduce((a, b) => a + b, 0) - [...afterFirst.values()].reduce((a, b) => a + b, 0),
  };
  ctx.log(
    `${n} instance(s): ${num(oc.ok / (wall / 1e6))} req/s, p99 ${fmtMs(stats(samples.filter((s) => s.ok).map((s) => s.totalMs)).p99)} ms; shared: ${share.upstreamCalls} upstream calls for ${share.unique} unique × ${share.copies} × 2 rounds`,
  );
  for (const g of gws) {
    ctx.monitor.unwatch(g.child.pid);
  }
  ctx.monitor.unwatch(lb.child.pid);
  await px.stopChild(lb.child);
  await Promise.all(gws.map((g) => px.stopChild(g.child)));
  return {
    instances: n,
    rps: oc.ok / (wall / 1e6),
    sent: oc.sent,
    errors: oc.sent - oc.ok,
    total: stats(samples.filter((s) => s.ok).map((s) => s.totalMs)),
    gatewayCores,
    nginxCores,
    otherLoadCores,
    share,
  };
}

async function run(ctx: SuiteCtx): Promise<ScenarioOutput> {
  const p = PARAMS[ctx.mode];
  const nginxBin = ensureNginx(ctx.log);
  const version = nginxVersion(nginxBin);
  const tl = new Timeline(ctx);
  const redis = await ctx.redis();
  const fake = await ctx.fakeWithBodies('fake', FAKE_ARGS, 2_000_000);
  ctx.monitor.start();
  const levels: Level[] = [];
  for (const n of p.counts) {
    await redis.flush();
    await fakeReset(fake.origin);
    levels.push(await level(ctx, tl, nginxBin, n, fake, redis.url));
  }
  await ctx.monitor.stop();
  const grows = levels.every((l, i) => i === 0 || l.rps > levels[i - 1].rps * 1.05);
  const cores = levels.map((l) => l.gatewayCores.reduce((a, b) => a + b, 0) + l.nginxCores);
  const targets: Target[] = [
    {
      target: 'throughput grows with the number of instances (each step > +5%)',
      measured: levels.map((l) => `${l.instances}: ${num(l.rps)} req/s`).join(', '),
      met: grows,
      why: grows
        ? undefined
        : `the machine has ${px.machineInfo().cores} cores for everything: gateways + nginx used ${cores.map((c) => c.toFixed(2)).join(' / ')} cores at 1 / 2 / 3 instances, next to the load generator, the fake and Redis (other load up to ${Math.max(...levels.map((l) => l.otherLoadCores)).toFixed(2)} cores); once the cores are busy another instance adds contention, not capacity — more instances scale on more cores`,
    },
    {
      target: 'cache and coalescing shared: one upstream call per unique request cluster-wide',
      measured: levels
        .map(
          (l) =>
            `${l.instances}: ${l.share.upstreamCalls} calls / ${l.share.unique} unique (max ${l.share.maxPerBody} per body)`,
        )
        .join(', '),
      met: levels.every((l) => l.share.upstreamCalls === l.share.unique && l.share.maxPerBody === 1),
      why: levels.some((l) => l.share.maxPerBody > 1)
        ? `bodies that reached the fake more than once: ${levels.map((l) => `${l.instances} instance(s): ${l.share.bodiesWithMoreThanOne}`).join(', ')} — a copy that reached an instance before the leader's lock was visible, or after the leader finished but before its cache entry was stored, makes its own call`
        : undefined,
    },
    {
      target: '0 errors',
      measured: levels
        .map((l) => `${l.instances}: ${l.errors + (l.share.requests - l.share.complete)}`)
        .join(', '),
      met: levels.every((l) => l.errors === 0 && l.share.requests === l.share.complete),
    },
  ];
  return {
    options: { ...p, nginx: version, fakeFirstByteMsForCoalescing: COALESCE_FIRST_BYTE_MS },
    processes: [
      `fake provider (request bodies kept, so upstream calls can be counted per body): \`${FAKE_ARGS.join(' ')}\`; ${COALESCE_FIRST_BYTE_MS} ms first byte during the shared-cache check`,
      'redis-server (throwaway, flushed between instance counts): one for every instance',
      'gateway instances: `node dist/main.js` each, the same config (Cache and Dedup on, cross-instance coalescing), REDIS_URL the same server',
      `nginx ${version}: temp prefix, \`daemon off\`, 1 worker, \`upstream\` = the instances (round robin) with \`keepalive 128\`, HTTP/1.1 to the upstreams, \`proxy_buffering off\` (SSE)`,
      `harness: closed loop of ${p.connections} connections through nginx (peak throughput), then the shared-cache bursts open loop`,
    ],
    targets,
    findings: [
      `Peak throughput through nginx: ${levels.map((l) => `${l.instances} instance(s) ${num(l.rps)} req/s (p99 ${fmtMs(l.total.p99)} ms)`).join(', ')}.`,
      `Shared state: ${levels.map((l) => `${l.instances} instance(s): ${l.share.requests} requests for ${l.share.unique} unique bodies → ${l.share.upstreamCalls} upstream calls (${l.share.hits} cache hits, ${l.share.followers} coalesced followers; ${l.share.sequentialUpstream} calls in the second round)`).join('; ')}.`,
    ],
    tables: [
      {
        title: 'Instances',
        markdown: mdTable(
          [
            'instances',
            'req/s',
            'requests',
            'errors',
            'latency p50 / p95 / p99 ms',
            'CPU cores per gateway',
            'nginx cores',
            'other load, cores',
          ],
          levels.map((l) => [
            l.instances,
            num(l.rps),
            l.sent,
            l.errors,
            trio(l.total),
            l.gatewayCores.map((c) => c.toFixed(2)).join(' / '),
            l.nginxCores.toFixed(2),
            l.otherLoadCores.toFixed(2),
          ]),
        ),
        note: `Closed loop, ${p.connections} connections, unique small requests (half streamed), ${p.loadS} s per instance count after a ${p.warmS} s warm-up. A closed loop finds the peak; its latency is queueing at that peak, not a latency target.`,
      },
      {
        title: 'Shared cache and coalescing',
        markdown: mdTable(
          [
            'instances',
            'unique bodies',
            'copies per body per round',
            'requests (2 rounds)',
            'complete',
            'upstream calls (fake log)',
            'max calls for one body',
            'HIT answers',
            'coalesced followers',
            'calls in round 2',
          ],
          levels.map((l) => [
            l.instances,
            l.share.unique,
            l.share.copies,
            l.share.requests,
            l.share.complete,
            l.share.upstreamCalls,
            l.share.maxPerBody,
            l.share.hits,
            l.share.followers,
            l.share.sequentialUpstream,
          ]),
        ),
        note: `Round 1: the copies of each body are sent within a few ms of each other through nginx, so round robin hands them to different instances while the first is still upstream (the fake waits ${COALESCE_FIRST_BYTE_MS} ms): they must coalesce across instances. Round 2 repeats everything after round 1 completed: every answer must come from the shared cache. Upstream calls are counted per body from the fake's request log.`,
      },
    ],
    charts: [
      tl.latencyChart('latency', 'Latency at peak load per instance count (closed loop)', {
        percentiles: ['p50', 'p99'],
        logY: true,
      }),
      tl.throughputChart('throughput', 'Answers per second per instance count'),
      memoryChart(ctx, 'memory', 'Gateway and nginx memory', ctx.monitor.series(), tl.marks),
      ctx.barChart('instances', {
        title: 'Peak throughput by instance count',
        yName: 'req/s',
        categories: levels.map((l) => `${l.instances} instance${l.instances > 1 ? 's' : ''}`),
        bars: [{ name: 'req/s', values: levels.map((l) => l.rps) }],
      }),
    ],
    notes: [],
    data: {
      levels,
      nginx: version,
      upstreamShare: levels.map((l) => pct(l.share.upstreamCalls / Math.max(1, l.share.requests))),
    },
  };
}

export const scale: ScenarioDef = {
  name: 'scale',
  title: 'Scaling out: 1, 2, 3 instances behind nginx',
  summary:
    'One, two and three gateway instances behind nginx on one Redis: throughput should grow with instances, and the response cache and request coalescing must work cluster-wide (one upstream call per unique request).',
  goals: [
    'throughput grows with instances',
    'cache and coalescing shared: one upstream call per unique request cluster-wide',
    '0 errors',
  ],
  durations: 'smoke 3 s per instance count; short 15 s; long 60 s',
  method: `For 1, 2 and 3 instances in turn (fresh processes, Redis flushed): N gateways on one redis-server and one fake, and an
nginx in front (temp prefix and config, run as the current user in the foreground, \`upstream\` = the instances,
round robin, keepalive, \`proxy_buffering off\` for SSE). Peak throughput: a closed loop of 64 connections sending unique
small requests (half streamed) through nginx — a closed loop on purpose here: it measures how much the cluster can serve,
not a latency under a fixed rate. Shared state: K unique bodies, each sent M times at once through nginx (round robin
spreads the copies over the instances) with the fake slowed to a 300 ms first byte so the copies overlap the first one's
upstream call (cross-instance coalescing through Redis), then the same K × M again after round 1 completed (cache hits
from the shared Redis tier). The fake keeps request bodies, so the upstream calls are counted per body: the target is
exactly one per unique body over both rounds, whatever the instance count.`,
  run,
};
