/**
 * Cache + coalescing benchmark: a replay workload of Claude Code-shaped sessions (≥ 65% exact repeats) at a
 * fixed arrival rate against the fake provider with a realistic latency profile, run twice in one go —
 * cache and coalescing off, then on (with a throwaway Redis) — plus cache-hit latency at c=64 and 100
 * identical concurrent requests.
 *
 *   npm run bench:cache -- [--rate 30] [--duration 60] [--sessions 8] [--seed 1] [--profile 800,1200]
 *
 * Writes bench/results/cache-latest.json and docs/benchmarks/cache.md. See bench/README.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeCacheDoc } from './lib/cache-doc';
import { cacheConsoleReport, summarisePhase, type CacheRunResult, type CacheStatsView, type CoalesceResult, type HitCell, type PhaseResult } from './lib/cache-report';
import { CacheWorkload } from './lib/cache-workload';
import { fakeStats, getJson, otherLoadMeter, startFakeWith, startGatewayWith } from './lib/gateway';
import { runLoad } from './lib/load';
import { runOpenLoop, stats } from './lib/open-loop';
import * as px from './lib/processes';
import { startRedis, type BenchRedis } from './lib/redis';
import { writeJson } from './lib/report';
import { ensureBuild, type ServiceOptions } from './lib/services';

const ROOT = resolve(__dirname, '..');
const RESULTS = join(ROOT, 'bench/results');
const MODEL = 'fake-model';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '30' },
    duration: { type: 'string', default: '60' },
    sessions: { type: 'string', default: '8' },
    seed: { type: 'string', default: '1' },
    profile: { type: 'string', default: '800,1200' },
    'hit-duration': { type: 'string', default: '5' },
    'quiet-wait': { type: 'string', default: '10' },
    'keep-tmp': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const USAGE = `npm run bench:cache -- [options]     (builds first; or: npx tsx bench/cache.ts)
  --rate N            arrival rate of the replay workload, req/s (default 30)
  --duration S        seconds of workload per run (default 60; cache off, then on)
  --sessions N        concurrently active Claude Code sessions (default 8)
  --seed N            workload PRNG seed (default 1)
  --profile MED,P95   fake provider first-byte latency profile, ms (default 800,1200)
  --hit-duration S    seconds per cache-hit autocannon cell (default 5)
  --quiet-wait S      wait up to S s for other processes to go quiet before each measurement (default 10)
  --keep-tmp          keep the temp dir (configs, logs)`;

const tmp = mkdtempSync(join(os.tmpdir(), 'switchyard-bench-cache-'));
const removeTmp = () => {
  if (!args['keep-tmp']) {
    rmSync(tmp, { recursive: true, force: true });
  }
};
px.installCleanup(removeTmp);
const log = (s: string) => console.error(`[bench:cache ${new Date().toISOString().slice(11, 19)}] ${s}`);
const svc: ServiceOptions = { root: ROOT, tmp, model: MODEL, log };
const FAKE_ARGS = ['--profile', args.profile, '--chunks', '10', '--gap-ms', '10', '--text-bytes', '1200'];

function gatewayConfig(fakePort: number, on: boolean): Record<string, unknown> {
  const t = `fake,${MODEL}`;
  return {
    Providers: [{ name: 'fake', api_base_url: `http://127.0.0.1:${fakePort}/v1/chat/completions`, api_key: 'bench', models: [MODEL] }],
    Router: { default: t, background: t, think: t, longContext: t, webSearch: t, image: t },
    Cache: { enabled: on },
    Dedup: { enabled: on },
  };
}

/** Waits (bounded) until other processes on the box are quiet; returns their load (cores). */
async function quiet(): Promise<number> {
  const load = await px.waitQuiet(Number(args['quiet-wait']) * 1000);
  if (load >= 0.25) {
    log(`machine busy (${load.toFixed(2)} cores used by other processes): measuring anyway`);
  }
  return load;
}

const ourPids = new Set<number>();

async function cacheStats(origin: string): Promise<CacheStatsView> {
  return getJson<CacheStatsView>(`${origin}/api/cache/stats`);
}

async function runPhase(
  on: boolean,
  wl: CacheWorkload,
  schedule: ReturnType<CacheWorkload['build']>['schedule'],
  redis: BenchRedis,
  fakeOrigin: string,
): Promise<{ phase: PhaseResult; gw: px.Child; origin: string }> {
  await redis.flush();
  const port = await px.freePort();
  const name = on ? 'on' : 'off';
  const gw = await startGatewayWith(svc, { name, port, config: gatewayConfig(Number(new URL(fakeOrigin).port), on), env: { REDIS_URL: redis.url } });
  const origin = `http://127.0.0.1:${port}`;
  // Sanity probe with a body that is not part of the workload.
  const probe = await fetch(`${origin}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: wl.backgroundBody(`probe ${name}`) });
  const probeText = await probe.text();
  if (probe.status !== 200) {
    throw new Error(`gateway (${name}) probe: ${probe.status} ${probeText.slice(0, 300)}`);
  }
  log(`cache ${name}: gateway pid ${gw.pid} on :${port}, probe x-switchyard-cache=${probe.headers.get('x-switchyard-cache')}`);
  ourPids.add(gw.pid);
  await px.waitIdle(gw.pid);
  await quiet();
  const s0 = await cacheStats(origin);
  const f0 = await fakeStats(fakeOrigin);
  const cpu0 = px.cpuMicros(gw.pid);
  const meter = otherLoadMeter([...ourPids]);
  let done = 0;
  const ticker = setInterval(() => log(`  ${name}: ${done}/${schedule.length} answered`), 15_000);
  const samples = await runOpenLoop(schedule, { origin, timeoutMs: 120_000, onSample: () => void done++ }).done;
  clearInterval(ticker);
  const cpu = px.cpuMicros(gw.pid) - cpu0;
  const otherLoadCores = meter.stop();
  await new Promise((r) => setTimeout(r, 300)); // let the last stores land before reading the stats
  const s1 = await cacheStats(origin);
  const f1 = await fakeStats(fakeOrigin);
  const d = (k: 'hits' | 'misses' | 'stores' | 'errors') => s1[k] - s0[k];
  const label = on ? 'cache + coalescing **on** (Redis)' : 'cache + coalescing off';
  const phase = summarisePhase(name, label, samples, {
    cacheStats: on ? { hits: d('hits'), misses: d('misses'), hitRate: d('hits') / Math.max(1, d('hits') + d('misses')), stores: d('stores'), errors: d('errors') } : null,
    cacheStatsEnd: on ? s1 : null,
    upstreamCalls: f1.openai - f0.openai,
    gatewayCpuUsPerReq: cpu / Math.max(1, samples.length),
    otherLoadCores,
  });
  phase.redisKeys = await redis.size();
  log(
    `cache ${name}: p50/p95/p99 ${phase.total.p50.toFixed(0)}/${phase.total.p95.toFixed(0)}/${phase.total.p99.toFixed(0)} ms, ` +
      `errors ${phase.errors}, other load ${otherLoadCores.toFixed(2)} cores, upstream ${phase.upstreamCalls}/${phase.sent}, HIT ${phase.headers.hit}, follower ${phase.headers.follower}` +
      (phase.cacheStats ? `, hit rate ${(phase.cacheStats.hitRate * 100).toFixed(1)}%` : ''),
  );
  return { phase, gw, origin };
}

/** Stores one request, checks the next answer is a HIT, then autocannon c=`c` on it. */
async function hitCell(origin: string, gw: px.Child, name: string, path: string, body: string, headers: Record<string, string>, stream: boolean, c: number): Promise<HitCell> {
  const send = async () => {
    const res = await fetch(origin + path, { method: 'POST', headers, body });
    await res.text();
    return res.headers.get('x-switchyard-cache') ?? '?';
  };
  const before = (await cacheStats(origin)).stores;
  await send();
  for (let i = 0; i < 50 && (await cacheStats(origin)).stores === before; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const probeCache = await send();
  await runLoad({ url: origin + path, body, headers, connections: c, durationS: 1 }); // warm-up
  await px.waitIdle(gw.pid);
  await quiet();
  const cpu0 = px.cpuMicros(gw.pid);
  const meter = otherLoadMeter([...ourPids]);
  const r = await runLoad({ url: origin + path, body, headers, connections: c, durationS: Number(args['hit-duration']) });
  const cpu = px.cpuMicros(gw.pid) - cpu0;
  const otherLoadCores = meter.stop();
  log(
    `cache hit ${name} c=${c}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms ` +
      `(probe ${probeCache}, other load ${otherLoadCores.toFixed(2)} cores)`,
  );
  return {
    body: name,
    bytes: Buffer.byteLength(body),
    stream,
    concurrency: c,
    rps: r.rps,
    p50: r.p50,
    p95: r.p95,
    p99: r.p99,
    max: r.max,
    errors: r.errors + r.timeouts + r.non2xx,
    cpuUsPerReq: cpu / Math.max(1, r.requests),
    probeCache,
    otherLoadCores,
  };
}

async function coalesce100(origin: string, wl: CacheWorkload, fakeOrigin: string): Promise<CoalesceResult> {
  const body = wl.mainBody(9999, [`Coalescing check ${Date.now()}: 100 identical requests at once.`]);
  const nonStream = JSON.stringify({ ...(JSON.parse(body) as object), stream: false });
  const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
  const schedule = Array.from({ length: 100 }, (_, i) => ({
    atMs: 0,
    path: '/v1/messages?beta=true',
    body: i % 2 === 0 ? body : nonStream,
    headers,
    stream: i % 2 === 0,
    tag: 'coalesce',
    id: 'coalesce',
  }));
  const f0 = await fakeStats(fakeOrigin);
  const samples = await runOpenLoop(schedule, { origin }).done;
  await new Promise((r) => setTimeout(r, 200));
  const f1 = await fakeStats(fakeOrigin);
  const s = stats(samples.map((x) => x.totalMs));
  const res: CoalesceResult = {
    requests: samples.length,
    stream: samples.filter((x) => x.stream).length,
    complete: samples.filter((x) => x.ok).length,
    upstreamCalls: f1.openai - f0.openai,
    leaders: samples.filter((x) => x.dedup === 'leader').length,
    followers: samples.filter((x) => x.dedup === 'follower').length,
    hits: samples.filter((x) => x.cache === 'HIT').length,
    p50: s.p50,
    max: s.max,
  };
  log(`100 identical concurrent requests: ${res.upstreamCalls} upstream call(s), ${res.complete} complete, ${res.leaders} leader / ${res.followers} follower`);
  return res;
}

async function main(): Promise<void> {
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const result: CacheRunResult = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    machine: px.machineInfo(),
    options: { rate: Number(args.rate), durationS: Number(args.duration), sessions: Number(args.sessions), seed: Number(args.seed), profile: args.profile, hitDurationS: Number(args['hit-duration']) },
    fakeProfile: `first byte log-normal median/p95 ${args.profile.replace(',', ' / ')} ms, 10 deltas 10 ms apart, 1,200-byte answers`,
    workload: undefined as unknown as CacheRunResult['workload'],
    phases: [],
    hitCells: [],
    coalesce: null,
    notes: [],
  };
  const stale = ensureBuild(svc);
  if (stale) {
    result.notes.push(stale);
  }
  const wl = new CacheWorkload(ROOT);
  const { schedule, summary } = wl.build({ rate: Number(args.rate), durationS: Number(args.duration), activeSessions: Number(args.sessions), seed: Number(args.seed) });
  result.workload = summary;
  log(`workload: ${summary.requests} requests, ${(summary.repeatShare * 100).toFixed(1)}% exact repeats (${summary.concurrentRepeats} concurrent, ${summary.sequentialRepeats} sequential)`);

  const redis = await startRedis(tmp);
  const fakePort = await px.freePort();
  const fake = await startFakeWith(svc, 'fake provider', fakePort, FAKE_ARGS);
  const fakeOrigin = `http://127.0.0.1:${fakePort}`;
  ourPids.add(redis.child.pid).add(fake.pid);
  log(`redis-server pid ${redis.child.pid} on :${redis.port}, fake provider pid ${fake.pid} on :${fakePort}, tmp ${tmp}`);

  const off = await runPhase(false, wl, schedule, redis, fakeOrigin);
  result.phases.push(off.phase);
  await px.stopChild(off.gw);
  const on = await runPhase(true, wl, schedule, redis, fakeOrigin);
  result.phases.push(on.phase);

  const cc = wl.mainBody(4242, ['Cached request for the hit-latency cells.']);
  const ccNonStream = JSON.stringify({ ...(JSON.parse(cc) as object), stream: false });
  const small = wl.backgroundBody('Cached request for the hit-latency cells.');
  const json = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
  result.hitCells.push(await hitCell(on.origin, on.gw, '~0.4 KB haiku background', '/v1/messages', small, json, false, 64));
  result.hitCells.push(await hitCell(on.origin, on.gw, '~0.4 KB haiku background', '/v1/messages', small, json, false, 1));
  result.hitCells.push(await hitCell(on.origin, on.gw, '~75 KB Claude Code', '/v1/messages?beta=true', ccNonStream, json, false, 64));
  result.hitCells.push(await hitCell(on.origin, on.gw, '~75 KB Claude Code', '/v1/messages?beta=true', cc, json, true, 64));
  result.coalesce = await coalesce100(on.origin, wl, fakeOrigin);

  await px.stopChild(on.gw);
  await px.stopChild(fake);
  await px.stopChild(redis.child);
  result.finishedAt = new Date().toISOString();
  const busy = [...result.phases.map((p) => p.otherLoadCores), ...result.hitCells.map((c) => c.otherLoadCores)];
  if (Math.max(...busy) > 0.2) {
    result.notes.push(
      `other processes on the machine used up to ${Math.max(...busy).toFixed(1)} cores (of ${result.machine.cores}) during ` +
        'some measurements (the "other load" columns): those rows are depressed and noisy.',
    );
  }
  writeJson(join(RESULTS, 'cache-latest.json'), result);
  console.log(cacheConsoleReport(result));
  writeCacheDoc(join(ROOT, 'docs/benchmarks/cache.md'), result);
  log('wrote bench/results/cache-latest.json and docs/benchmarks/cache.md');
  removeTmp();
}

main().catch(async (err: unknown) => {
  console.error(`bench:cache: ${(err as Error).stack ?? String(err)}`);
  await px.stopAll();
  removeTmp();
  process.exit(1);
});
