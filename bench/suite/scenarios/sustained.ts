/**
 * sustained: a steady mixed load for 10 min (short) or 1 h (long): RSS and heap after GC flat (linear-fit slope
 * in MB/hour under a threshold), file descriptors flat, p99 drift < 10% (first vs last window), and the object
 * types that grew between heap snapshots taken at the start and the end.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CacheWorkload } from '../../lib/cache-workload';
import type { ScheduledRequest } from '../../lib/open-loop';
import * as px from '../../lib/processes';
import { gatewayConfig, type GatewayProc, type SuiteCtx } from '../context';
import { heapGrowth, summarizeHeapSnapshot } from '../heap';
import { fmtMs, num } from '../md';
import { monitorCommand } from '../monitor';
import type { ScenarioDef, ScenarioOutput } from '../scenario';
import { Timeline } from '../timeline';
import {
  DRIFT_LIMIT,
  HEAP_LIMIT_MB_H,
  report,
  RSS_LIMIT_MB_H,
  type SustainedParams,
} from './sustained-report';

const PARAMS: Record<'smoke' | 'short' | 'long', SustainedParams> = {
  smoke: { rate: 20, warmS: 3, durationS: 20, gcEveryS: 4, windowS: 5, bucketS: 1, prefillMax: 400 },
  short: { rate: 30, warmS: 30, durationS: 600, gcEveryS: 30, windowS: 60, bucketS: 10, prefillMax: 40_000 },
  long: { rate: 30, warmS: 60, durationS: 3600, gcEveryS: 60, windowS: 300, bucketS: 30, prefillMax: 40_000 },
};
const FAKE_ARGS = ['--profile', '30,80', '--chunks', '6', '--gap-ms', '10'];
const MB = 1024 * 1024;

/** The mix: 70% unique small requests (half streamed), 20% repeats of recent ones, 10% ~75 KB Claude Code turns (40 variants). */
function* workload(
  rate: number,
  seconds: number,
  tag: string,
  cc: string[],
  ccPath: string,
): Generator<ScheduledRequest> {
  const n = Math.round(rate * seconds);
  const recent: ScheduledRequest[] = [];
  const json = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
  for (let i = 0; i < n; i++) {
    const atMs = (i * 1000) / rate;
    const k = i % 10;
    if (k === 9) {
      const v = Math.floor(i / 10) % cc.length;
      yield { atMs, path: ccPath, body: cc[v], headers: json, stream: true, tag: 'cc', id: `cc:${v}` };
    } else if ((k === 3 || k === 7) && recent.length > 0) {
      const r = recent[(i * 7) % recent.length];
      yield { ...r, atMs, tag: 'repeat' };
    } else {
      const stream = i % 2 === 0;
      const body = JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 256,
        stream,
        system: 'You are a concise assistant.',
        messages: [{ role: 'user', content: `${tag} request ${i}: say hello in one short sentence.` }],
      });
      const r: ScheduledRequest = {
        atMs,
        path: '/v1/messages',
        body,
        headers: json,
        stream,
        tag: 'unique',
        id: `${tag}:${i}`,
      };
      recent.push(r);
      if (recent.length > 50) {
        recent.shift();
      }
      yield r;
    }
  }
}

interface Prefill {
  requests: number;
  memoryMb: number;
  maxMb: number;
}

/**
 * Brings a gateway's bounded caches to their caps before anything is measured: the workload's own requests,
 * closed loop (16 at a time), until the response cache's memory tier holds ≥ 95% of its byte cap (checked every
 * 200 answers; at most `maxRequests`). A cache growing to its cap during the measured window would otherwise look
 * like a leak; its steady state (evicting as much as it stores) is what a long-running gateway lives in.
 */
async function prefill(gw: GatewayProc, cc: string[], ccPath: string, maxRequests: number): Promise<Prefill> {
  const items = workload(1000, maxRequests / 1000, 'prefill', cc, ccPath);
  const stats = async () =>
    ((await (await fetch(`${gw.origin}/api/cache/stats`)).json()) as {
      tiers: { memory: { bytes: number; maxBytes: number } };
    }).tiers.memory;
  let requests = 0;
  let full = false;
  const worker = async (): Promise<void> => {
    while (!full) {
      const next = items.next();
      if (next.done) {
        return;
      }
      const r = next.value;
      const res = await fetch(`${gw.origin}${r.path}`, { method: 'POST', body: r.body, headers: r.headers });
      await res.arrayBuffer();
      if (++requests % 200 === 0) {
        const m = await stats();
        full ||= m.bytes >= 0.95 * m.maxBytes;
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const m = await stats();
  return { requests, memoryMb: m.bytes / MB, maxMb: m.maxBytes / MB };
}

async function snapshot(gw: GatewayProc, file: string): Promise<{ ms: number; bytes: number }> {
  const a = await monitorCommand<{ ms: number }>(gw.socket, `snapshot ${file}`, 300_000);
  return { ms: a.ms, bytes: statSync(file).size };
}

async function run(ctx: SuiteCtx): Promise<ScenarioOutput> {
  const p = PARAMS[ctx.mode];
  const tl = new Timeline(ctx);
  const wl = new CacheWorkload(ctx.o.root);
  const cc = Array.from({ length: 40 }, (_, i) =>
    wl.mainBody(7000 + i, [`Sustained run prompt ${i}: what does this repository do?`]),
  );
  const ccPath = '/v1/messages?beta=true';
  const fake = await ctx.fake('fake', FAKE_ARGS);
  // Twins: the same config and the same traffic; each its own redis-server, so neither sees the other's cache
  // entries or coalesces with it. A small memory tier: it fills during the warm-up, so its growth to the cap is not
  // mistaken for a leak.
  const config = gatewayConfig([{ name: 'fake', port: fake.port }], {
    Cache: { enabled: true, maxMemoryBytes: 4 * MB },
    Dedup: { enabled: true },
  });
  const [redisA, redisB] = [await ctx.redis(), await ctx.redis()];
  const gw = await ctx.gateway('measured', config, { REDIS_URL: redisA.url });
  const twin = await ctx.gateway('forensics', config, { REDIS_URL: redisB.url });
  ctx.monitor.start();
  const filled = await Promise.all([gw, twin].map((g) => prefill(g, cc, ccPath, p.prefillMax)));
  for (const [i, f] of filled.entries()) {
    ctx.notes.push(
      `Prefill (${i === 0 ? 'measured' : 'forensics'}): ${f.requests} requests brought the cache's memory tier to ${num(f.memoryMb, 2)} of ${num(f.maxMb, 0)} MB before the warm-up.`,
    );
    ctx.log(ctx.notes[ctx.notes.length - 1]);
  }
  await Promise.all([
    tl.send(null, gw.origin, workload(p.rate, p.warmS, 'warm', cc, ccPath)),
    tl.send(null, twin.origin, workload(p.rate, p.warmS, 'warm', cc, ccPath)),
  ]);
  await Promise.all([px.waitIdle(gw.child.pid), px.waitIdle(twin.child.pid)]);
  const snapStart = join(ctx.tmp, 'start.heapsnapshot');
  const s0 = await snapshot(twin, snapStart);
  ctx.log(`start heap snapshot (forensics twin): ${num(s0.bytes / MB, 1)} MB in ${fmtMs(s0.ms)} ms`);
  await ctx.quiet();
  twin.series.heapAfterGc = [];
  const measuredFrom = ctx.clock();
  tl.mark('measured load');
  const gcTimer = setInterval(() => {
    void monitorCommand<{ gcMs: number; mem: { heapUsed: number } }>(twin.socket, 'gc', 10_000)
      .then((a) => twin.series.heapAfterGc?.push({ t: ctx.clock(), mb: a.mem.heapUsed / MB, gcMs: a.gcMs }))
      .catch(() => undefined);
  }, p.gcEveryS * 1000);
  let done = 0;
  const progress = setInterval(
    () => ctx.log(`${done} answered, ${num((ctx.clock() - measuredFrom) / 60, 1)} min`),
    60_000,
  );
  const meter = ctx.meter();
  const t0 = performance.now() + 50;
  const [measured] = await Promise.all([
    tl.send(
      'gateway',
      gw.origin,
      workload(p.rate, p.durationS, 'load', cc, ccPath),
      { timeoutMs: 60_000, onSample: () => void done++ },
      t0 - performance.now(),
    ),
    tl.send(
      'twin',
      twin.origin,
      workload(p.rate, p.durationS, 'load', cc, ccPath),
      { timeoutMs: 60_000 },
      t0 - performance.now(),
    ),
  ]);
  const otherLoadCores = meter.stop();
  clearInterval(gcTimer);
  clearInterval(progress);
  const measuredTo = ctx.clock();
  await px.waitIdle(twin.child.pid);
  const snapEnd = join(ctx.tmp, 'end.heapsnapshot');
  const s1 = await snapshot(twin, snapEnd);
  await ctx.monitor.stop();
  const growth = heapGrowth(summarizeHeapSnapshot(snapStart), summarizeHeapSnapshot(snapEnd), 15);
  return report(
    ctx,
    tl,
    gw,
    twin,
    {
      samples: measured.samples,
      otherLoadCores,
      measuredFrom,
      measuredTo,
      growth,
      snaps: [s0, s1],
    },
    p,
    FAKE_ARGS,
  );
}

export const sustained: ScenarioDef = {
  name: 'sustained',
  title: 'Sustained load: leaks and drift',
  summary:
    'A steady mixed load for 10 minutes (short) or an hour (long): memory, file descriptors and tail latency must stay flat; heap snapshots at the start and the end list what grew.',
  goals: [
    `RSS and heap after GC flat (slope ≤ ${RSS_LIMIT_MB_H} / ≤ ${HEAP_LIMIT_MB_H} MB/hour)`,
    'file descriptors flat',
    `p99 drift < ${DRIFT_LIMIT * 100}% (first vs last window)`,
    'top growing object types listed',
  ],
  durations: 'smoke 20 s; short 10 min; long 1 h (each after a warm-up)',
  sampleMs: (mode) => (mode === 'smoke' ? 1000 : 5000),
  method: `Open loop at a fixed rate: 70% unique small requests (half streamed), 20% repeats of one of the last 50 (cache hits and
coalescing), 10% a ~75 KB Claude Code turn (40 variants, streamed), against a fake answering in ~30–80 ms. The gateways
run with the cache on and a 4 MB memory tier. Before the warm-up each gateway is **prefilled**: the same mix, closed loop
(16 at a time), until the memory tier holds ≥ 95% of its cap (the run's notes say how many requests it took), so the
caches are in their steady state (evicting as much as they store) when the measured window starts, and a cache
growing to its cap is not mistaken for a leak. (The first runs had no prefill: small entries are ~400 compressed
bytes, so the 4 MB tier was still filling at the end of a 10-minute run and its growth showed as a heap slope.)

Two gateway processes get the same schedule at the same time, each with its own redis-server (no shared cache or
coalescing between them). The **measured** one is only observed from outside: RSS and open file descriptors from \`/proc\`,
event-loop lag and heap used from the preload every 5 s, and every answer's latency. The **forensics** twin is the one
whose heap is opened: every 30 s (long: 60 s) the preload forces two full GCs and reads \`process.memoryUsage().heapUsed\`
(heap after GC: what survives collection, without the garbage not yet collected), and it writes a heap snapshot
(\`v8.writeHeapSnapshot\`, a full GC first) after the warm-up and another after the load drained; the harness parses both
(\`bench/suite/heap.ts\`) and lists the constructors whose count and self size grew. The twin exists because taking a
heap snapshot in a process costs it a lot of resident memory that V8 keeps afterwards (a 85 MB heap → +1.1 GB RSS here,
with glibc and with jemalloc), and forced GCs pause it: either would distort the RSS and latency trends of the process
they happen in.

Slopes are least-squares fits over the measured window, in MB (or descriptors) per hour, judged only when the window is
at least 5 minutes long; p99 drift compares the first and the last window (60 s short, 5 min long) of the measured
gateway.`,
  run,
};
