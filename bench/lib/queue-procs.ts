/**
 * The processes of the queue benchmark: gateway configs per mode, gateway groups (one `all` process, or an
 * `api` + `worker` pair) started through bench/lib/gateway.ts with the event-loop-lag preload, marks (a
 * connection to the preload's Unix socket) that snapshot the lag of a window, an RSS sampler, and a fake provider that keeps request bodies (the
 * priority test reads its tags from them).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { getJson, startGatewayWith } from './gateway';
import * as px from './processes';
import type { ServiceOptions } from './services';

export const MODEL = 'm';
/** The provider of the load phases (no concurrency limit) and the one of the priority test (limited). */
export const FAST_PROVIDER = 'fake';
export const SLOW_PROVIDER = 'limited';

/**
 * - `direct`: JobQueue off (the in-process scheduler), Redis on with the same settings as the queue modes, so
 *   that the difference to them is the queue layer alone;
 * - `direct-noredis`: JobQueue off and no Redis at all (reference row of the latency phase only);
 * - `queue`: JobQueue on (BullMQ + Redis Stream relay), one `all` process;
 * - `queue-split`: JobQueue on, an `api` process (takes the requests) and a `worker` process (runs the jobs).
 */
export type ModeName = 'direct' | 'direct-noredis' | 'queue' | 'queue-split';

export const MODE_LABEL: Record<ModeName, string> = {
  direct: 'direct (JobQueue off, Redis on)',
  'direct-noredis': 'direct, no Redis',
  queue: 'queue, 1 process (role all)',
  'queue-split': 'queue, api + worker processes',
};

export interface ConfigInput {
  mode: ModeName;
  fakePort: number;
  slowPort: number;
  redisUrl: string;
  concurrency: number;
  providerLimit: number;
  /** JobQueue.queues.interactive.concurrency (default: defaultInteractiveConcurrency). */
  interactiveConcurrency: number;
}

/**
 * Headroom of the default JobQueue.queues.interactive.concurrency over the burst's concurrency: what a deployment
 * sized for N concurrent clients would configure (N + a little), so the burst is never held back by the class
 * limit while the limit still means something. (The first runs needed 1,000,000 here: answered requests kept
 * their class slot — product issue 1, fixed in 324dea3.)
 */
export const INTERACTIVE_HEADROOM = 64;

export function defaultInteractiveConcurrency(concurrency: number): number {
  return concurrency + INTERACTIVE_HEADROOM;
}

/** Distinct key prefixes: the gateways share one redis-server but never each other's queues, slots or keys. */
export const PREFIX: Record<ModeName, string> = { direct: 'bqd:', 'direct-noredis': 'bqn:', queue: 'bqa:', 'queue-split': 'bqs:' };

export function gatewayConfig(i: ConfigInput): Record<string, unknown> {
  const t = `${FAST_PROVIDER},${MODEL}`;
  const queue = i.mode === 'queue' || i.mode === 'queue-split';
  return {
    Providers: [
      {
        name: FAST_PROVIDER,
        api_base_url: `http://127.0.0.1:${i.fakePort}/v1/chat/completions`,
        api_key: 'bench',
        models: [MODEL],
        // Every one of the concurrent streams holds an upstream socket for its whole answer: the default elastic
        // pool (Pools.maxConnections 256) would make the rest wait in undici's queue, which is not what this
        // benchmark measures (see the method section of docs/benchmarks/queue.md).
        pool: { connections: i.concurrency + 64 },
      },
      { name: SLOW_PROVIDER, api_base_url: `http://127.0.0.1:${i.slowPort}/v1/chat/completions`, api_key: 'bench', models: [MODEL] },
    ],
    Router: { default: t, background: t, think: t, longContext: t, webSearch: t, image: t },
    // Every request must reach the worker: no cache hit, no coalescing.
    Cache: { enabled: false },
    Dedup: { enabled: false },
    Failover: { health: { enabled: false } },
    Pools: { healthPingMs: 0 },
    ...(i.mode === 'direct-noredis' ? {} : { Redis: { enabled: true, url: i.redisUrl, keyPrefix: PREFIX[i.mode] } }),
    JobQueue: {
      enabled: queue,
      queues: {
        interactive: { concurrency: Math.max(i.interactiveConcurrency, i.concurrency), maxWaitMs: 300_000 },
        background: { maxWaitMs: 600_000 },
      },
      providerConcurrency: { [SLOW_PROVIDER]: i.providerLimit },
      // No cluster-wide repeatable jobs (health probes, pruning, warm-up) running into a measurement.
      scheduled: { healthProbeMs: 0, pruneMs: 0, warmupMs: 0 },
    },
  };
}

export interface GatewayProc {
  /** `all`, `api` or `worker`. */
  role: string;
  child: px.Child;
  port: number;
  origin: string;
  /** The preload's control socket. */
  lagSocket: string;
}

export interface GatewayGroup {
  mode: ModeName;
  /** Where the clients send requests (the `all` or `api` process). */
  origin: string;
  procs: GatewayProc[];
  config: Record<string, unknown>;
}

export interface GroupOptions {
  svc: ServiceOptions;
  preload: string;
  /** Profile each mark-to-mark window (inspector in the preload) into this dir. */
  cpuProfDir?: string;
}

async function startProc(o: GroupOptions, mode: ModeName, role: string, config: Record<string, unknown>): Promise<GatewayProc> {
  const port = await px.freePort();
  const name = `${mode}-${role}`;
  const lagSocket = join(o.svc.tmp, `lag-${name}.sock`);
  const env: Record<string, string> = {
    NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', `--require ${o.preload}`].join(' ').trim(),
    SWITCHYARD_BENCH_LAG_SOCKET: lagSocket,
    SWITCHYARD_ROLE: role,
  };
  if (o.cpuProfDir) {
    mkdirSync(o.cpuProfDir, { recursive: true });
    env.SWITCHYARD_BENCH_CPU_PROF = o.cpuProfDir;
  }
  const child = await startGatewayWith(o.svc, { name, port, config, env });
  return { role, child, port, origin: `http://127.0.0.1:${port}`, lagSocket };
}

interface QueueView {
  mode: string;
  role: string;
}

/** Starts the process(es) of a mode and waits until the queue layer is in the expected mode. */
export async function startGroup(o: GroupOptions, mode: ModeName, config: Record<string, unknown>): Promise<GatewayGroup> {
  const roles = mode === 'queue-split' ? ['worker', 'api'] : ['all'];
  const procs: GatewayProc[] = [];
  for (const role of roles) {
    procs.push(await startProc(o, mode, role, config));
  }
  const expected = mode === 'queue' || mode === 'queue-split' ? 'bullmq' : 'local';
  // A `worker` process serves no /api routes; it is proven by the api process' requests being answered
  // (an `api` process has no processors: nothing else could run its jobs).
  for (const p of procs.filter((x) => x.role !== 'worker')) {
    const deadline = Date.now() + 15_000;
    let view: QueueView | undefined;
    for (;;) {
      view = await getJson<QueueView>(`${p.origin}/api/queue`).catch(() => undefined);
      if (view?.mode === expected) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`${mode} ${p.role}: /api/queue mode is ${view?.mode ?? '?'}, expected ${expected}:\n${px.logTail(p.child)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const front = procs.find((p) => p.role !== 'worker') as GatewayProc;
  return { mode, origin: front.origin, procs, config };
}

export async function stopGroup(g: GatewayGroup): Promise<void> {
  // The api side first: it stops taking requests before its worker goes.
  for (const p of [...g.procs].reverse()) {
    await px.stopChild(p.child);
  }
}

// ---- event-loop lag marks ----

export interface LagWindow {
  seq: number;
  pid: number;
  from: number;
  to: number;
  resolutionMs: number;
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  timeline: { t: number; maxMs: number }[];
  /** The CPU profile of the window (with SWITCHYARD_BENCH_CPU_PROF). */
  profile?: string;
}

function askLag(p: GatewayProc, timeoutMs: number): Promise<LagWindow> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(p.lagSocket);
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as LagWindow);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

/**
 * A mark on every process of the group: each answers with the lag statistics of the window since its
 * previous mark and starts a new window. Resolves with the answers by role.
 */
export async function mark(g: GatewayGroup): Promise<Record<string, LagWindow>> {
  const out: Record<string, LagWindow> = {};
  await Promise.all(
    g.procs.map(async (p) => {
      try {
        out[p.role] = await askLag(p, 30_000);
      } catch (err) {
        throw new Error(`${g.mode} ${p.role}: lag mark failed (${(err as Error).message}; is the preload loaded?)\n${px.logTail(p.child)}`);
      }
    }),
  );
  return out;
}

/** Waits (up to 15 s) for a profile file named by a mark. */
export async function profileReady(file: string | undefined): Promise<string | undefined> {
  const deadline = Date.now() + 15_000;
  while (file && Date.now() < deadline) {
    if (existsSync(file)) {
      return file;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

// ---- RSS sampling ----

export interface RssSampler {
  /** Peak VmRSS seen per pid (MB), VmHWM at stop (MB), and the number of samples. */
  stop(): Record<number, { peakMb: number; hwmMb: number; samples: number; series: number[] }>;
}

/** Reads /proc/<pid>/status VmRSS of every pid every `everyMs` (default 100 ms). */
export function sampleRss(pids: number[], everyMs = 100): RssSampler {
  const state = new Map(pids.map((pid) => [pid, { peakMb: 0, samples: 0, series: [] as number[] }]));
  const read = () => {
    for (const [pid, s] of state) {
      try {
        const rss = px.memInfo(pid).rssMb;
        s.peakMb = Math.max(s.peakMb, rss);
        s.samples += 1;
        s.series.push(Math.round(rss * 10) / 10);
      } catch {
        // exited
      }
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      read();
      const out: Record<number, { peakMb: number; hwmMb: number; samples: number; series: number[] }> = {};
      for (const [pid, s] of state) {
        let hwmMb = NaN;
        try {
          hwmMb = px.memInfo(pid).peakRssMb;
        } catch {
          // exited
        }
        out[pid] = { ...s, hwmMb };
      }
      return out;
    },
  };
}

// ---- a fake provider that keeps request bodies ----

/** Like startFakeWith, but the request log keeps bodies (the priority test's tags are in the user text). */
export async function startRecordingFake(o: ServiceOptions, name: string, port: number, args: string[]): Promise<px.Child> {
  const all = ['--import', 'tsx', 'scripts/fake-provider.ts', '--port', String(port), '--max-recorded', '1000000', ...args];
  const fake = px.spawnChild(name, process.execPath, all, {
    cwd: o.root,
    env: { ...process.env, NODE_ENV: 'production' },
    logFile: join(o.tmp, `${name.replace(/\W+/g, '-')}.log`),
  });
  await px.waitForHttp(`http://127.0.0.1:${port}/__fake/health`, fake);
  return fake;
}

// ---- leak indicators ----

interface QueueState {
  mode: string;
  depth: Record<string, Record<string, number>>;
  relayedInFlight: number;
  providerSlots: Record<string, { heldHere: number; waitingHere: number }>;
}

/**
 * What the front process reports in GET /api/queue while the harness has nothing in flight: every count
 * here should be 0 then. `waitingKeys` = requester liveness keys (`…:waiting`) of the group on Redis.
 */
export interface LeakView {
  interactiveRunning: number;
  backgroundRunning: number;
  relayedInFlight: number;
  slotsHeld: number;
  waitingKeys: number | null;
  /** BullMQ jobs in the `failed` state (queue modes), by failedReason. */
  failedJobs: Record<string, number> | null;
}

export interface RedisLookups {
  countKeys: (pattern: string) => Promise<number>;
  /** failedReason of every job in `<prefix>bull:<queue>:failed`. */
  failedReasons: (prefix: string, queue: string) => Promise<string[]>;
}

export async function leakView(g: GatewayGroup, redis: RedisLookups): Promise<LeakView> {
  const front = g.procs.find((p) => p.role !== 'worker') as GatewayProc;
  const q = await getJson<QueueState>(`${front.origin}/api/queue`);
  const slots = Object.values(q.providerSlots ?? {});
  const usesRedis = g.mode !== 'direct-noredis';
  return {
    interactiveRunning: q.depth.interactive?.local_running ?? 0,
    backgroundRunning: q.depth.background?.local_running ?? 0,
    relayedInFlight: q.relayedInFlight,
    slotsHeld: slots.reduce((n, s) => n + s.heldHere, 0),
    waitingKeys: usesRedis ? await redis.countKeys(`${PREFIX[g.mode]}*waiting*`) : null,
    failedJobs: g.mode === 'queue' || g.mode === 'queue-split' ? await failedJobs(g, redis) : null,
  };
}

async function failedJobs(g: GatewayGroup, redis: RedisLookups): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const queue of ['interactive', 'background', 'batch']) {
    for (const reason of await redis.failedReasons(PREFIX[g.mode], queue)) {
      const k = `${queue}: ${reason.slice(0, 100)}`;
      out[k] = (out[k] ?? 0) + 1;
    }
  }
  return out;
}

/** Warn/error messages in a process' log (pino JSON lines, level ≥ 40), counted by message. */
export function logMessages(p: GatewayProc): Record<string, number> {
  const out: Record<string, number> = {};
  let text = '';
  try {
    text = readFileSync(p.child.logFile, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) {
      continue;
    }
    try {
      const rec = JSON.parse(line) as { level?: number; msg?: string; err?: unknown };
      if ((rec.level ?? 0) >= 40) {
        const err = typeof rec.err === 'string' ? ` (${rec.err.slice(0, 80)})` : '';
        const k = `${rec.msg ?? '?'}${err}`;
        out[k] = (out[k] ?? 0) + 1;
      }
    } catch {
      // not JSON
    }
  }
  return out;
}
