/**
 * Queue benchmark: the gateway in direct mode (JobQueue off, the in-process scheduler) and in queue mode
 * (JobQueue on: BullMQ jobs run by a worker, answers relayed over a Redis Stream), with one `all` process or
 * an `api` + `worker` pair, against a private redis-server and fake providers in their own processes:
 *
 *  1. N (default 1,000) concurrent streaming requests (~2 s answers) sent at once: errors, peak RSS,
 *     event-loop lag (a preload in each gateway process), TTFB and duration; also straight to the fake;
 *  2. added latency of the queue: closed loop at c=1 and c=8, small non-stream requests, fast fake;
 *  3. priority inversions behind a provider limited by JobQueue.providerConcurrency.
 *
 *   npm run bench:queue -- [--concurrency 1000] [--topology all,split] [--latency-requests 1000] …
 *
 * Writes bench/results/queue-latest.json and docs/benchmarks/queue.md. See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { formatProfileSummary, summarizeProfile } from './profile-summary';
import { fakeConfigure, fakeReset, fakeStats, getJson, otherLoadMeter, startFakeWith } from './lib/gateway';
import { stats } from './lib/open-loop';
import * as px from './lib/processes';
import { writeQueueDoc } from './lib/queue-doc';
import { ANTHROPIC_HEADERS, burst, clientPool, closedLoop, type RequestSpec } from './lib/queue-load';
import { priorityRun } from './lib/queue-priority';
import {
  gatewayConfig,
  defaultInteractiveConcurrency,
  INTERACTIVE_HEADROOM,
  leakView,
  logMessages,
  mark,
  profileReady,
  sampleRss,
  startGroup,
  startRecordingFake,
  stopGroup,
  type GatewayGroup,
  type LagWindow,
  type ModeName,
  type RedisLookups,
} from './lib/queue-procs';
import {
  queueConsoleReport,
  summariseBurst,
  TARGET_LABEL,
  type BurstCell,
  type LatencyCell,
  type QueueRunResult,
  type Target,
} from './lib/queue-report';
import { startRedis, type BenchRedis } from './lib/redis';
import { writeJson } from './lib/report';
import { ensureBuild, type ServiceOptions } from './lib/services';

const ROOT = resolve(__dirname, '..');
const RESULTS = join(ROOT, 'bench/results');
const LATEST = join(RESULTS, 'queue-latest.json');
const DOC = join(ROOT, 'docs/benchmarks/queue.md');
const PRELOAD = join(__dirname, 'lib/queue-lag-preload.cjs');

const { values: args } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '1000' },
    topology: { type: 'string', default: 'all,split' },
    'no-redis-reference': { type: 'boolean', default: false },
    phases: { type: 'string', default: 'burst,latency,priority' },
    'latency-requests': { type: 'string', default: '1000' },
    'latency-concurrency': { type: 'string', default: '1,8' },
    rounds: { type: 'string', default: '5' },
    'first-byte-ms': { type: 'string', default: '200' },
    chunks: { type: 'string', default: '20' },
    'gap-ms': { type: 'string', default: '90' },
    'priority-n': { type: 'string', default: '100' },
    'provider-limit': { type: 'string', default: '5' },
    'grace-ms': { type: 'string', default: '50' },
    'stall-s': { type: 'string', default: '8' },
    'interactive-concurrency': { type: 'string', default: '' },
    'quiet-wait': { type: 'string', default: '5' },
    'cpu-prof': { type: 'boolean', default: false },
    'stress-cores': { type: 'string', default: '0' },
    'burst-timeout-s': { type: 'string', default: '30' },
    'keep-tmp': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const USAGE = `npm run bench:queue -- [options]     (builds first; or: npx tsx bench/queue.ts)
  --concurrency N          streaming requests sent at once in the burst phase (default 1000)
  --topology LIST          queue mode as one 'all' process and/or api + worker: all | split | all,split (default)
  --no-redis-reference     skip the "direct, no Redis" reference mode
  --phases LIST            burst,latency,priority (default all three, in that order)
  --latency-requests N     measured requests per target and concurrency in the latency phase (default 1000)
  --latency-concurrency L  closed-loop concurrencies (default 1,8)
  --rounds N               the latency requests are split in N rounds, targets interleaved (default 5)
  --first-byte-ms N        burst phase fake: first-byte delay (default 200)
  --chunks N, --gap-ms N   burst phase fake: deltas per answer and the gap between them (default 20 × 90 ms)
  --priority-n N           background and interactive requests of the priority burst, each (default 100)
  --provider-limit N       JobQueue.providerConcurrency of the limited provider (default 5)
  --grace-ms N             priority: an interactive request counts once it has been at the gateway this long (default 50)
  --stall-s S              priority: abort the test when nothing reaches the provider for S s (default 8)
  --interactive-concurrency N  JobQueue.queues.interactive.concurrency (default: --concurrency + ${INTERACTIVE_HEADROOM}, what a
                           deployment sized for that many concurrent clients would set; never below --concurrency)
  --quiet-wait S           wait up to S s for other processes to go quiet before each measurement (default 5)
  --burst-timeout-s S      client timeout of each burst request (default 30; the answers take ~2 s plus queueing)
  --cpu-prof               profile the gateway processes during each burst and latency level (a diagnostic run: its
                           numbers are not written; the profiles are added to queue-latest.json, the doc regenerated)
  --stress-cores N         run N busy-loop processes during the run (another tenant's CPU): a diagnostic run whose
                           bursts, leak indicators and log warnings are added to queue-latest.json as \`stress\`
  --keep-tmp               keep the temp dir (configs, gateway logs, profiles)`;

const CONCURRENCY = Number(args.concurrency);
const INTERACTIVE = args['interactive-concurrency'] === '' ? defaultInteractiveConcurrency(CONCURRENCY) : Number(args['interactive-concurrency']);
const PROVIDER_LIMIT = Number(args['provider-limit']);
const PHASES = new Set(args.phases.split(','));
const PROFILE = args['cpu-prof'];
const STRESS = Number(args['stress-cores']);
const DIAGNOSTIC = PROFILE || STRESS > 0;
const tmp = mkdtempSync(join(os.tmpdir(), 'switchyard-bench-queue-'));
const removeTmp = () => {
  if (!args['keep-tmp']) {
    rmSync(tmp, { recursive: true, force: true });
  }
};
px.installCleanup(removeTmp);
const log = (s: string) => console.error(`[bench:queue ${new Date().toISOString().slice(11, 19)}] ${s}`);
const svc: ServiceOptions = { root: ROOT, tmp, model: 'm', log };
const STREAM_FAKE_ARGS = ['--first-byte-ms', args['first-byte-ms'], '--chunks', args.chunks, '--gap-ms', args['gap-ms']];
const FAST = { firstByteDelayMs: 0, firstByteProfile: null, chunkCount: 3, chunkGapMs: 0 };
const PROFILE_DIR = join(tmp, 'profiles');

function modesFromArgs(): ModeName[] {
  const topo = args.topology.split(',').map((s) => s.trim());
  for (const t of topo) {
    if (t !== 'all' && t !== 'split') {
      throw new Error(`--topology: "${t}" is neither all nor split`);
    }
  }
  const modes: ModeName[] = ['direct'];
  if (!args['no-redis-reference']) {
    modes.push('direct-noredis');
  }
  if (topo.includes('all')) {
    modes.push('queue');
  }
  if (topo.includes('split')) {
    modes.push('queue-split');
  }
  return modes;
}

/** The commit measured: HEAD, "-dirty" when src/ has uncommitted changes (read-only git commands). */
function codeVersion(): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return undefined;
  }
}

async function quiet(): Promise<number> {
  const load = await px.waitQuiet(Number(args['quiet-wait']) * 1000);
  if (load >= 0.25) {
    log(`machine busy (${load.toFixed(2)} cores used by other processes): measuring anyway`);
  }
  return load;
}

const smallBody = (tag: string, stream: boolean) =>
  JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 256,
    stream,
    system: 'You are a concise assistant.',
    messages: [{ role: 'user', content: `${tag}: say hello in one short sentence.` }],
  });

interface Ctx {
  r: QueueRunResult;
  groups: Map<ModeName, GatewayGroup>;
  fake: px.Child;
  fakeOrigin: string;
  redis: BenchRedis;
  ourPids: number[];
  /** Requests sent to each group so far (for the leak indicators). */
  served: Map<ModeName, number>;
}

async function withRedis<T>(redis: BenchRedis, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

function lookups(redis: BenchRedis): RedisLookups {
  return {
    countKeys: (pattern) =>
      withRedis(redis, async (c) => {
        let n = 0;
        let cursor = '0';
        do {
          const [next, keys] = await c.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          n += keys.length;
        } while (cursor !== '0');
        return n;
      }),
    // BullMQ keys: <Redis.keyPrefix><JobQueue.prefix = bull>:<queue>:failed (ids) and :<queue>:<id> (job hash).
    failedReasons: (prefix, queue) =>
      withRedis(redis, async (c) => {
        const ids = await c.zrange(`${prefix}bull:${queue}:failed`, 0, -1);
        const out: string[] = [];
        for (const id of ids) {
          out.push((await c.hget(`${prefix}bull:${queue}:${id}`, 'failedReason')) ?? '?');
        }
        return out;
      }),
  };
}

async function redisCommandStats(redis: BenchRedis): Promise<Record<string, number>> {
  const c = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const text = await c.info('commandstats');
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      out[m[1]] = Number(m[2]);
    }
    return out;
  } finally {
    c.disconnect();
  }
}

/** Commands the harness' own INFO/SCAN and the processes' idle timers send: not part of a request. */
const IDLE_COMMANDS = new Set(['info', 'scan', 'ping', 'bzpopmin', 'client|setname', 'client|setinfo', 'client|list', 'subscribe', 'select', 'hello', 'config|get']);

/**
 * Redis commands per request of each mode, on processes that have served nothing yet: `n` sequential small
 * non-stream requests, INFO commandstats before and after (the other groups are idle meanwhile).
 */
async function redisProbe(ctx: Ctx, n: number): Promise<void> {
  await fakeConfigure(ctx.fakeOrigin, FAST);
  const spec: RequestSpec = { path: '/v1/messages', headers: ANTHROPIC_HEADERS, body: smallBody('redis probe', false), stream: false };
  for (const [mode, g] of ctx.groups) {
    if (mode === 'direct-noredis') {
      continue;
    }
    const pool = clientPool(g.origin, 1);
    await closedLoop(pool, spec, 1, 20); // first requests open connections, load scripts
    await new Promise((r) => setTimeout(r, 300));
    const a = await redisCommandStats(ctx.redis);
    const res = await closedLoop(pool, spec, 1, n);
    await new Promise((r) => setTimeout(r, 300)); // the worker's last writes, the relay's DEL
    const b = await redisCommandStats(ctx.redis);
    await pool.close();
    ctx.served.set(mode, (ctx.served.get(mode) ?? 0) + 20 + n);
    const perRequest: Record<string, number> = {};
    for (const [cmd, calls] of Object.entries(b)) {
      const d = (calls - (a[cmd] ?? 0)) / n;
      if (!IDLE_COMMANDS.has(cmd) && d >= 0.05) {
        perRequest[cmd] = Math.round(d * 100) / 100;
      }
    }
    const total = Object.values(perRequest).reduce((x, y) => x + y, 0);
    ctx.r.redisCommands.push({ mode, requests: n, errors: res.errors, perRequest, total: Math.round(total * 10) / 10 });
    log(`redis commands per request, ${TARGET_LABEL[mode]}: ${total.toFixed(1)} (${Object.entries(perRequest).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  }
  await fakeReset(ctx.fakeOrigin);
}

/** Redis SETs per second and each gateway process' CPU over `ms` with nothing sent: the cost of what leaked. */
async function idleCost(ctx: Ctx, ms: number): Promise<void> {
  const pids = [...ctx.groups.values()].flatMap((g) => g.procs.map((p) => ({ mode: g.mode, role: p.role, pid: p.child.pid })));
  const cpu0 = pids.map((p) => px.cpuMicros(p.pid));
  const redisCpu0 = px.cpuMicros(ctx.redis.child.pid);
  const a = await redisCommandStats(ctx.redis);
  await new Promise((r) => setTimeout(r, ms));
  const b = await redisCommandStats(ctx.redis);
  ctx.r.idle = {
    seconds: ms / 1000,
    redisSetPerS: ((b.set ?? 0) - (a.set ?? 0)) / (ms / 1000),
    redisCpuPct: ((px.cpuMicros(ctx.redis.child.pid) - redisCpu0) / (ms * 1000)) * 100,
    procs: pids.map((p, i) => ({ mode: p.mode, role: p.role, cpuPct: ((px.cpuMicros(p.pid) - cpu0[i]) / (ms * 1000)) * 100 })),
  };
  log(
    `idle ${ms / 1000} s: redis ${ctx.r.idle.redisSetPerS.toFixed(0)} SET/s, ${ctx.r.idle.redisCpuPct.toFixed(1)}% CPU; gateways ` +
      ctx.r.idle.procs.map((p) => `${p.mode}/${p.role} ${p.cpuPct.toFixed(1)}%`).join(', '),
  );
}

/**
 * Whether a gateway process survives SIGUSR2 and SIGHUP (6f0b2c2 limited the shutdown hooks to SIGTERM/SIGINT):
 * one signal to one process each, at the very end of the run (nothing is measured after it), then: still alive and
 * answering GET /api/queue 1.5 s later?
 */
async function signalCheck(ctx: Ctx): Promise<void> {
  const order = (['direct-noredis', 'direct', 'queue', 'queue-split'] as ModeName[]).filter((m) => ctx.groups.has(m));
  const picks: [NodeJS.Signals, ModeName | undefined][] = [
    ['SIGUSR2', order[0]],
    ['SIGHUP', order[1]],
  ];
  ctx.r.signals = [];
  for (const [signal, mode] of picks) {
    const g = mode ? ctx.groups.get(mode) : undefined;
    if (!g || !mode) {
      continue;
    }
    const p = g.procs.find((x) => x.role !== 'worker') as GatewayGroup['procs'][number];
    process.kill(p.child.pid, signal);
    await new Promise((r) => setTimeout(r, 1500));
    const answered = p.child.alive ? await getJson(`${p.origin}/api/queue`).then(() => true, () => false) : false;
    const exit = p.child.alive ? undefined : await p.child.exited;
    ctx.r.signals.push({ signal, mode, role: p.role, survived: p.child.alive, answered, exit });
    log(`${signal} to ${TARGET_LABEL[mode]} (${p.role}, pid ${p.child.pid}): ${p.child.alive ? `alive, ${answered ? '' : 'NOT '}answering` : `GONE (exit: ${exit})`}`);
  }
}

/** /api/queue of every group while nothing is in flight: the leak indicators (see the doc). */
async function snapshotLeaks(ctx: Ctx, phase: string): Promise<void> {
  // The egress gives a finished answer's chain back right after its terminal event, and closes whatever is still
  // open at the latest 1 s later (TAIL_MS in src/gateway/egress-writer.ts): a snapshot taken sooner would count
  // requests that are ending, not leaks.
  await new Promise((r) => setTimeout(r, 1500));
  const redis = lookups(ctx.redis);
  for (const [mode, g] of ctx.groups) {
    const view = await leakView(g, redis);
    ctx.r.leaks.push({ phase, mode, served: ctx.served.get(mode) ?? 0, ...view });
    log(
      `after ${phase}, ${TARGET_LABEL[mode]} (${ctx.served.get(mode)} requests served, none in flight): interactive class slots held ` +
        `${view.interactiveRunning}, background ${view.backgroundRunning}, relay handles ${view.relayedInFlight}, provider slots held ` +
        `${view.slotsHeld}, requester keys on Redis ${view.waitingKeys ?? '–'}` +
        (view.failedJobs && Object.keys(view.failedJobs).length > 0 ? `; BullMQ failed jobs ${JSON.stringify(view.failedJobs)}` : ''),
    );
  }
}

async function collectProfiles(ctx: Ctx, g: GatewayGroup, lag: Record<string, LagWindow>, window: string, target: Target, requests: number): Promise<void> {
  for (const p of g.procs) {
    const file = await profileReady(lag[p.role]?.profile);
    if (!file) {
      log(`no profile from ${target} ${p.role}`);
      continue;
    }
    const summary = { ...summarizeProfile(file, 20), cell: `${TARGET_LABEL[target]} (${p.role}), ${window}` };
    ctx.r.profiles ??= [];
    ctx.r.profiles.push({ target, role: p.role, window, requests, summary });
    console.log(`\n### CPU profile: ${summary.cell}\n\n${formatProfileSummary(summary)}\n`);
  }
}

// ---- phase 1: N concurrent streams ----

function burstSpecs(target: Target, n: number, tag: string): RequestSpec[] {
  return Array.from({ length: n }, (_, i) => ({ path: '/v1/messages', headers: ANTHROPIC_HEADERS, body: smallBody(`${tag} ${target} ${i}`, true), stream: true }));
}

async function burstCell(ctx: Ctx, target: Target, origin: string, group: GatewayGroup | undefined): Promise<BurstCell> {
  const warmN = Math.min(200, CONCURRENCY);
  const warm = await burst(origin, burstSpecs(target, warmN, 'warm-up'), 'warm-up', Number(args['burst-timeout-s']) * 1000);
  const warmupErrors = warm.samples.filter((s) => !s.ok).length;
  if (warmupErrors > 0) {
    log(`${TARGET_LABEL[target]}: ${warmupErrors} warm-up errors, first: ${warm.samples.find((s) => !s.ok)?.error}`);
  }
  const pids = group ? group.procs.map((p) => p.child.pid) : [];
  for (const pid of pids) {
    await px.waitIdle(pid, 5000);
  }
  await fakeReset(ctx.fakeOrigin); // the request log and the in-flight high-water mark start from zero
  await quiet();
  if (group) {
    await mark(group); // the lag window (and profile) starts here
  }
  const rssBefore = new Map(pids.map((pid) => [pid, px.memInfo(pid).rssMb]));
  const cpu0 = new Map(pids.map((pid) => [pid, px.cpuMicros(pid)]));
  const meter = otherLoadMeter(ctx.ourPids);
  const rss = sampleRss(pids);
  const w0 = performance.now();
  const res = await burst(origin, burstSpecs(target, CONCURRENCY, 'burst'), 'burst', Number(args['burst-timeout-s']) * 1000);
  const wallUs = (performance.now() - w0) * 1000;
  const rssSeen = rss.stop();
  const otherLoadCores = meter.stop();
  const lag = group ? await mark(group) : undefined;
  const fake = await fakeStats(ctx.fakeOrigin);
  if (group) {
    ctx.served.set(group.mode, (ctx.served.get(group.mode) ?? 0) + warmN + CONCURRENCY);
  }
  // TTFB of the requests by position in the send loop (tenths): a ramp means they were started one after another.
  const deciles = Array.from({ length: 10 }, (_, d) => {
    const part = res.samples.slice((d * res.samples.length) / 10, ((d + 1) * res.samples.length) / 10).filter((s) => s.ok);
    return stats(part.map((s) => s.ttfbMs)).p50;
  });
  const cell: BurstCell = {
    target,
    concurrency: CONCURRENCY,
    ...summariseBurst(res.samples),
    ttfbByDecile: deciles,
    sendSpreadMs: res.sendSpreadMs,
    clientLagP99Ms: res.clientLagP99Ms,
    clientLagMaxMs: res.clientLagMaxMs,
    providerMaxInFlight: fake.maxInFlight,
    procs: (group?.procs ?? []).map((p) => {
      const pid = p.child.pid;
      const { timeline, profile: _profile, ...window } = (lag as Record<string, LagWindow>)[p.role];
      return {
        role: p.role,
        pid,
        rssBeforeMb: rssBefore.get(pid) ?? NaN,
        peakRssMb: rssSeen[pid]?.peakMb ?? NaN,
        hwmMb: rssSeen[pid]?.hwmMb ?? NaN,
        rssSamples: rssSeen[pid]?.samples ?? 0,
        cpuCores: (px.cpuMicros(pid) - (cpu0.get(pid) ?? 0)) / wallUs,
        lag: window,
        lagTimeline: timeline.map((t) => Math.round(t.maxMs * 10) / 10),
      };
    }),
    otherLoadCores,
    warmupErrors,
  };
  const gw = cell.procs.map((p) => `${p.role}: peak RSS ${p.peakRssMb.toFixed(0)} MB, lag p99 ${p.lag.p99Ms.toFixed(1)} ms, ${p.cpuCores.toFixed(2)} cores`).join('; ');
  log(
    `burst ${TARGET_LABEL[target]}: ${cell.ok}/${cell.sent} ok, TTFB p50/p99 ${cell.ttfb.p50.toFixed(0)}/${cell.ttfb.p99.toFixed(0)} ms, ` +
      `total p50/p99 ${cell.total.p50.toFixed(0)}/${cell.total.p99.toFixed(0)} ms, provider max in flight ${cell.providerMaxInFlight}` +
      (gw ? `; ${gw}` : '') +
      ` (client lag p99 ${res.clientLagP99Ms.toFixed(1)} ms, other load ${otherLoadCores.toFixed(2)} cores)`,
  );
  if (cell.errors > 0) {
    log(`  errors: ${JSON.stringify(cell.errorKinds)}`);
  }
  if (PROFILE && group && lag) {
    await collectProfiles(ctx, group, lag, `${CONCURRENCY} concurrent streams`, target, CONCURRENCY);
  }
  return cell;
}

// ---- phase 2: added latency ----

async function latencyPhase(ctx: Ctx): Promise<void> {
  const targets: { target: Target; origin: string; pids: Record<string, number> }[] = [{ target: 'fake', origin: ctx.fakeOrigin, pids: {} }];
  for (const [mode, g] of ctx.groups) {
    targets.push({ target: mode, origin: g.origin, pids: Object.fromEntries(g.procs.map((p) => [p.role === 'all' || p.role === 'api' ? 'gateway' : p.role, p.child.pid])) });
  }
  await fakeConfigure(ctx.fakeOrigin, FAST);
  const n = Number(args['latency-requests']);
  const rounds = Math.max(1, Number(args.rounds));
  const perRound = Math.ceil(n / rounds);
  const spec: RequestSpec = { path: '/v1/messages', headers: ANTHROPIC_HEADERS, body: smallBody('latency probe', false), stream: false };
  const levels = args['latency-concurrency'].split(',').map(Number);
  for (const c of levels) {
    // Profiles only at the highest level: one window per process is enough to see where the time goes.
    const profileThis = PROFILE && c === Math.max(...levels);
    const cells = targets.map((t) => ({ ...t, pool: clientPool(t.origin, c), lat: [] as number[], errors: 0, firstError: undefined as string | undefined, ms: 0, cpu: {} as Record<string, number> }));
    const warmN = Math.max(100, Math.min(300, Math.round(n / 4)));
    for (const x of cells) {
      const w = await closedLoop(x.pool, spec, c, warmN);
      if (x.target !== 'fake') {
        ctx.served.set(x.target as ModeName, (ctx.served.get(x.target as ModeName) ?? 0) + warmN);
      }
      if (w.errors > 0) {
        throw new Error(`latency warm-up on ${TARGET_LABEL[x.target]}: ${w.errors} errors, first: ${w.firstError}`);
      }
    }
    for (const pid of ctx.ourPids) {
      await px.waitIdle(pid, 3000);
    }
    await quiet();
    if (profileThis) {
      for (const g of ctx.groups.values()) {
        await mark(g);
      }
    }
    const meter = otherLoadMeter(ctx.ourPids);
    for (let round = 0; round < rounds; round++) {
      // Rotate the order every round: no target always runs first (or right after another one).
      for (const x of cells.map((_, i) => cells[(i + round) % cells.length])) {
        // CPU of every process involved, per target: where a request's time goes.
        const who: Record<string, number> = { ...x.pids, redis: ctx.redis.child.pid, fake: ctx.fake.pid };
        const before = Object.fromEntries(Object.entries(who).map(([k, pid]) => [k, px.cpuMicros(pid)]));
        const harness0 = process.cpuUsage();
        const res = await closedLoop(x.pool, spec, c, perRound);
        for (const [k, pid] of Object.entries(who)) {
          x.cpu[k] = (x.cpu[k] ?? 0) + px.cpuMicros(pid) - before[k];
        }
        const h = process.cpuUsage(harness0);
        x.cpu.harness = (x.cpu.harness ?? 0) + h.user + h.system;
        x.lat.push(...res.latencies);
        x.errors += res.errors;
        x.firstError ??= res.firstError;
        x.ms += res.elapsedMs;
        if (x.target !== 'fake') {
          ctx.served.set(x.target as ModeName, (ctx.served.get(x.target as ModeName) ?? 0) + perRound);
        }
      }
    }
    ctx.r.latencyOtherLoad[`c=${c}`] = meter.stop();
    for (const x of cells) {
      const done = x.lat.length + x.errors;
      const cell: LatencyCell = {
        target: x.target,
        concurrency: c,
        n: x.lat.length,
        errors: x.errors,
        firstError: x.firstError,
        stats: stats(x.lat),
        rps: done / (x.ms / 1000),
        cpuUsPerReq: Object.fromEntries(Object.entries(x.cpu).map(([k, v]) => [k, v / Math.max(1, done)])),
      };
      ctx.r.latency.push(cell);
      const cpu = Object.entries(cell.cpuUsPerReq).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
      log(`latency c=${c} ${TARGET_LABEL[x.target]}: p50 ${cell.stats.p50.toFixed(2)} p95 ${cell.stats.p95.toFixed(2)} ms, ${cell.errors} errors; CPU µs/req: ${cpu}`);
      await x.pool.close();
    }
    if (profileThis) {
      for (const [mode, g] of ctx.groups) {
        await collectProfiles(ctx, g, await mark(g), `latency phase c=${c}`, mode, rounds * perRound);
      }
    }
  }
}

// ---- phase 3: priority ----

async function priorityPhase(ctx: Ctx, slowOrigin: string): Promise<void> {
  for (const [mode, g] of ctx.groups) {
    await quiet();
    const p = await priorityRun({
      mode,
      origin: g.origin,
      fakeOrigin: slowOrigin,
      n: Number(args['priority-n']),
      limit: PROVIDER_LIMIT,
      holdMs: 1500,
      burstHoldMs: 40,
      graceMs: Number(args['grace-ms']),
      stallMs: Number(args['stall-s']) * 1000,
    });
    ctx.served.set(mode, (ctx.served.get(mode) ?? 0) + p.sent);
    ctx.r.priority.push(p);
    log(
      `priority ${TARGET_LABEL[mode]}: ${p.inversions} inversions (strict ${p.inversionsStrict}), ${p.errors} errors, ` +
        `${p.reachedProvider}/${p.sent} at the provider, max in flight ${p.providerMaxInFlight}, order ${p.order}` +
        (p.stalled ? `; STALLED: ${p.stuck} requests never got a provider slot` : ''),
    );
  }
}

async function main(): Promise<void> {
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const modes = modesFromArgs();
  const result: QueueRunResult = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    commit: codeVersion(),
    machine: { ...px.machineInfo(), cpus: os.cpus().map((c) => `${c.model} @ ${c.speed} MHz`) },
    options: {
      concurrency: CONCURRENCY,
      firstByteMs: Number(args['first-byte-ms']),
      chunks: Number(args.chunks),
      gapMs: Number(args['gap-ms']),
      topology: args.topology,
      phases: [...PHASES],
      latencyRequests: Number(args['latency-requests']),
      latencyConcurrency: args['latency-concurrency'],
      rounds: Number(args.rounds),
      priorityN: Number(args['priority-n']),
      providerLimit: PROVIDER_LIMIT,
      graceMs: Number(args['grace-ms']),
      stallS: Number(args['stall-s']),
      interactiveConcurrency: Math.max(INTERACTIVE, CONCURRENCY),
    },
    modes,
    fake: {
      stream: `first byte ${args['first-byte-ms']} ms, ${args.chunks} deltas ${args['gap-ms']} ms apart (\`${STREAM_FAKE_ARGS.join(' ')}\`)`,
      fast: 'first byte 0 ms, 3 deltas, no gaps (`POST /__fake/configure`)',
      priority: "a second fake, request bodies kept; each request's hold time set by a `[[fake:{…}]]` directive in its text",
    },
    config: {},
    latency: [],
    latencyOtherLoad: {},
    bursts: [],
    priority: [],
    leaks: [],
    redisCommands: [],
    idle: null,
    logWarnings: [],
    notes: [],
  };
  const stale = ensureBuild(svc);
  if (stale) {
    result.notes.push(stale);
  }
  const redis = await startRedis(tmp);
  const [fakePort, slowPort] = [await px.freePort(), await px.freePort()];
  const fake = await startFakeWith(svc, 'fake provider', fakePort, STREAM_FAKE_ARGS);
  const slow = await startRecordingFake(svc, 'fake limited provider', slowPort, ['--chunks', '4']);
  const fakeOrigin = `http://127.0.0.1:${fakePort}`;
  const slowOrigin = `http://127.0.0.1:${slowPort}`;
  log(`redis-server pid ${redis.child.pid} :${redis.port}, fake pid ${fake.pid} :${fakePort}, limited fake pid ${slow.pid} :${slowPort}, tmp ${tmp}`);

  const groupOpts = { svc, preload: PRELOAD, cpuProfDir: PROFILE ? PROFILE_DIR : undefined };
  const cfg = (mode: ModeName) =>
    gatewayConfig({
      mode,
      fakePort,
      slowPort,
      redisUrl: redis.url,
      concurrency: CONCURRENCY,
      providerLimit: PROVIDER_LIMIT,
      interactiveConcurrency: Math.max(INTERACTIVE, CONCURRENCY),
    });
  result.config = cfg('queue');
  const groups = new Map<ModeName, GatewayGroup>();
  for (const mode of modes) {
    const g = await startGroup(groupOpts, mode, cfg(mode));
    groups.set(mode, g);
    log(`${TARGET_LABEL[mode]}: ${g.procs.map((p) => `${p.role} pid ${p.child.pid} :${p.port}`).join(', ')}`);
  }
  const gwPids = [...groups.values()].flatMap((g) => g.procs.map((p) => p.child.pid));
  const ctx: Ctx = { r: result, groups, fake, fakeOrigin, redis, ourPids: [...gwPids, fake.pid, slow.pid, redis.child.pid], served: new Map() };
  const burners: px.Child[] = [];
  for (let i = 0; i < STRESS; i++) {
    // Not in ourPids: their CPU counts as other load, which is what they stand for.
    burners.push(px.spawnChild(`cpu burner ${i}`, process.execPath, ['-e', 'for (;;) {}'], { cwd: tmp, env: process.env, logFile: join(tmp, `burner-${i}.log`) }));
  }
  if (STRESS > 0) {
    log(`${STRESS} busy-loop process(es) running: ${burners.map((b) => b.pid).join(', ')}`);
  }

  await redisProbe(ctx, 200);
  if (PHASES.has('burst')) {
    await fakeReset(fakeOrigin);
    result.bursts.push(await burstCell(ctx, 'fake', fakeOrigin, undefined));
    for (const [mode, g] of groups) {
      result.bursts.push(await burstCell(ctx, mode, g.origin, g));
    }
    await snapshotLeaks(ctx, 'burst');
  }
  if (PHASES.has('latency')) {
    await latencyPhase(ctx);
    await snapshotLeaks(ctx, 'latency');
  }
  if (PHASES.has('priority')) {
    await priorityPhase(ctx, slowOrigin);
  }
  for (const b of burners) {
    await px.stopChild(b, 1000);
  }
  // Longer than JobQueue.workerLostMs (5 s): a requester key still on Redis now is being kept alive.
  await new Promise((r) => setTimeout(r, 6000));
  await snapshotLeaks(ctx, 'the run (+6 s idle)');
  await idleCost(ctx, 5000);
  await signalCheck(ctx);

  for (const g of groups.values()) {
    await stopGroup(g);
    for (const p of g.procs) {
      const messages = logMessages(p);
      if (Object.keys(messages).length > 0) {
        result.logWarnings.push({ mode: g.mode, role: p.role, messages });
        log(`${TARGET_LABEL[g.mode]} (${p.role}) warnings/errors in its log: ${JSON.stringify(messages)}`);
      }
    }
  }
  await px.stopChild(fake);
  await px.stopChild(slow);
  await px.stopChild(redis.child);
  result.finishedAt = new Date().toISOString();
  const busy = Math.max(0, ...Object.values(result.latencyOtherLoad), ...result.bursts.map((b) => b.otherLoadCores));
  if (busy > 0.2) {
    result.notes.push(
      `other processes on the machine used up to ${busy.toFixed(1)} cores (of ${result.machine.cores}) during some measurements ` +
        '("other load"): those rows are noisier and slower than on a quiet box.',
    );
  }

  if (DIAGNOSTIC) {
    // A diagnostic run (profiler or CPU stress): only its profiles / stress results are kept, next to the last
    // measured numbers.
    console.log(queueConsoleReport(result));
    if (!existsSync(LATEST)) {
      throw new Error('--cpu-prof / --stress-cores: no bench/results/queue-latest.json to attach the results to; run without them first');
    }
    const latest = JSON.parse(readFileSync(LATEST, 'utf8')) as QueueRunResult;
    latest.leaks ??= [];
    latest.redisCommands ??= [];
    latest.idle ??= null;
    latest.logWarnings ??= [];
    if (PROFILE) {
      latest.profiles = result.profiles ?? [];
      latest.profiledAt = result.finishedAt;
      latest.profiledCommit = result.commit;
    }
    if (STRESS > 0) {
      // Kept as a list (the last 5): the failures under stress are intermittent, each run is evidence.
      latest.stress = [
        ...(latest.stress ?? []),
        { at: result.finishedAt, commit: result.commit, cores: STRESS, bursts: result.bursts, leaks: result.leaks, logWarnings: result.logWarnings },
      ].slice(-5);
    }
    writeJson(LATEST, latest);
    writeQueueDoc(DOC, latest);
    log('(diagnostic run: numbers above not saved as the run\'s own) results added to bench/results/queue-latest.json; docs/benchmarks/queue.md regenerated');
  } else {
    const previous = existsSync(LATEST) ? (JSON.parse(readFileSync(LATEST, 'utf8')) as QueueRunResult) : undefined;
    if (previous?.profiles && previous.profiles.length > 0) {
      result.profiles = previous.profiles;
      result.profiledAt = previous.profiledAt;
      result.profiledCommit = previous.profiledCommit;
    }
    if (previous?.stress) {
      result.stress = previous.stress;
    }
    writeJson(LATEST, result);
    console.log(queueConsoleReport(result));
    writeQueueDoc(DOC, result);
    log('wrote bench/results/queue-latest.json and docs/benchmarks/queue.md');
  }
  removeTmp();
}

main().catch(async (err: unknown) => {
  console.error(`bench:queue: ${(err as Error).stack ?? String(err)}`);
  await px.stopAll();
  removeTmp();
  process.exit(1);
});
