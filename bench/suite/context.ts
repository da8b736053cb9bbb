/**
 * What a scenario of the proof suite works with: its temp dir and clock, the processes it starts (fake
 * providers, redis-server, gateways with the monitor preload — all registered with bench/lib/processes.ts, so
 * they are stopped at the end, on errors and on Ctrl-C), the resource monitor, the other-load meter and the chart
 * writer. One context per scenario; `close()` stops everything and checks that nothing it started is left.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fakeStats, otherLoadMeter, startFakeWith, startGatewayWith } from '../lib/gateway';
import * as px from '../lib/processes';
import { startRedis, type BenchRedis } from '../lib/redis';
import type { ServiceOptions } from '../lib/services';
import { barChart, lineChart, type BarChartSpec, type LineChartSpec } from './charts';
import { descendants, monitorCommand, ProcessMonitor } from './monitor';
import type { Chart, DurationMode, ProcSeries, ScenarioName } from './types';

export const MODEL = 'fake-model';
const PRELOAD = join(__dirname, '../lib/suite-monitor-preload.cjs');

export interface RunOptions {
  root: string;
  mode: DurationMode;
  compareCcr: boolean;
  quietWaitS: number;
  keepTmp: boolean;
  /** The gateway entry point: a copy of dist/ taken when the run started (see snapshotBuild). */
  gatewayEntry?: string;
}

export interface Service {
  child: px.Child;
  port: number;
  origin: string;
}

export interface GatewayProc extends Service {
  name: string;
  /** The monitor preload's control socket. */
  socket: string;
  series: ProcSeries;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Recursive merge of plain objects (arrays and scalars of `b` replace those of `a`). */
export function merge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = isObject(v) && isObject(out[k]) ? merge(out[k], v) : v;
  }
  return out;
}

/**
 * A gateway config: OpenAI-kind providers on fake ports (model `fake-model`), every Router slot on `route`
 * (a target or a failover chain), no health probes or idle pings (they would hit the fake during the
 * measurement), then `overrides` merged in.
 */
export function gatewayConfig(
  providers: { name: string; port: number }[],
  overrides: Json = {},
  route?: string | string[],
): Json {
  const t = route ?? `${providers[0].name},${MODEL}`;
  return merge(
    {
      Providers: providers.map((p) => ({
        name: p.name,
        api_base_url: `http://127.0.0.1:${p.port}/v1/chat/completions`,
        api_key: 'bench',
        models: [MODEL],
      })),
      Router: { default: t, background: t, think: t, longContext: t, webSearch: t, image: t },
      Failover: { health: { enabled: false } },
      Pools: { healthPingMs: 0 },
    },
    overrides,
  );
}

/**
 * A private copy of the build (dist/ copied; config/, node_modules/ and package.json linked), so that a rebuild of
 * the working tree during a long run cannot pull the gateway's code from under it. Returns the entry point and a
 * cleanup function.
 */
export function snapshotBuild(root: string): { entry: string; remove: () => void } {
  const dir = mkdtempSync(join(os.tmpdir(), 'switchyard-suite-build-'));
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
  for (const name of ['config', 'node_modules', 'package.json']) {
    symlinkSync(join(root, name), join(dir, name));
  }
  return { entry: join(dir, 'dist/main.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export class SuiteCtx {
  readonly tmp: string;
  readonly svc: ServiceOptions;
  readonly monitor: ProcessMonitor;
  /** performance.now() at the scenario's start: every chart's x axis is seconds since then. */
  readonly t0 = performance.now();
  readonly notes: string[] = [];
  private readonly started: px.Child[] = [];
  private maxOtherLoad = 0;
  /** The harness' own helpers (tsx's esbuild service) that exist before the scenario starts anything. */
  private readonly baseline = new Set(descendants(process.pid).map((p) => p.pid));

  constructor(
    readonly scenario: ScenarioName,
    readonly o: RunOptions,
    readonly log: (s: string) => void,
    sampleIntervalMs = 1000,
  ) {
    this.tmp = mkdtempSync(join(os.tmpdir(), `switchyard-suite-${scenario}-`));
    this.svc = { root: o.root, tmp: this.tmp, model: MODEL, log, gatewayEntry: o.gatewayEntry };
    this.monitor = new ProcessMonitor(() => this.clock(), sampleIntervalMs);
  }

  get mode(): DurationMode {
    return this.o.mode;
  }

  /** Seconds since the scenario's t0. */
  clock(at = performance.now()): number {
    return (at - this.t0) / 1000;
  }

  /** Offset (s) of a run started at performance.now() = `runT0` on the scenario clock. */
  offset(runT0: number): number {
    return (runT0 - this.t0) / 1000;
  }

  track(child: px.Child): px.Child {
    this.started.push(child);
    return child;
  }

  async redis(port?: number): Promise<BenchRedis> {
    const r = await startRedis(this.tmp, port);
    this.track(r.child);
    return r;
  }

  /** A fake provider in its own process (bodies not kept, request log of 1,000,000 entries). */
  async fake(name: string, args: string[]): Promise<Service> {
    const port = await px.freePort();
    const child = this.track(await startFakeWith(this.svc, name, port, args));
    return { child, port, origin: `http://127.0.0.1:${port}` };
  }

  /** A fake provider that records request bodies (`/__fake/requests`), log capped at `maxRecorded`. */
  async fakeWithBodies(name: string, args: string[], maxRecorded: number): Promise<Service> {
    const port = await px.freePort();
    const all = [
      '--import',
      'tsx',
      'scripts/fake-provider.ts',
      '--port',
      String(port),
      '--max-recorded',
      String(maxRecorded),
      ...args,
    ];
    const child = this.track(
      px.spawnChild(name, process.execPath, all, {
        cwd: this.o.root,
        env: { ...process.env, NODE_ENV: 'production' },
        logFile: join(this.tmp, `${name.replace(/\W+/g, '-')}.log`),
      }),
    );
    await px.waitForHttp(`http://127.0.0.1:${port}/__fake/health`, child);
    return { child, port, origin: `http://127.0.0.1:${port}` };
  }

  /** `node dist/main.js` with `config`, the monitor preload, and whatever `env` adds (REDIS_URL …). */
  async gateway(
    name: string,
    config: Json,
    env: Record<string, string> = {},
    port?: number,
  ): Promise<GatewayProc> {
    port ??= await px.freePort();
    const socket = join(this.tmp, `mon-${name}.sock`);
    const child = this.track(
      await startGatewayWith(this.svc, {
        name,
        port,
        config,
        env: {
          NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', `--require ${PRELOAD}`].join(' ').trim(),
          SWITCHYARD_BENCH_MONITOR_SOCKET: socket,
          ...env,
        },
      }),
    );
    const series = this.monitor.watch(`gateway ${name}`, child.pid, socket);
    return { name, child, port, origin: `http://127.0.0.1:${port}`, socket, series };
  }

  /** Event-loop lag of a gateway since its previous mark (call once before a window, once after). */
  mark(gw: GatewayProc) {
    return monitorCommand<{
      lag: { samples: number; p50Ms: number; p99Ms: number; maxMs: number; meanMs: number };
    }>(gw.socket, 'mark').then((a) => a.lag);
  }

  fakeStats(origin: string) {
    return fakeStats(origin);
  }

  ourPids(): number[] {
    return this.started.filter((c) => c.alive).map((c) => c.pid);
  }

  /** Waits (bounded) for the machine to be quiet; logs when it is not. */
  async quiet(): Promise<number> {
    const load = await px.waitQuiet(this.o.quietWaitS * 1000);
    if (load >= 0.25) {
      this.log(`machine busy (${load.toFixed(2)} cores used by other processes): measuring anyway`);
    }
    return load;
  }

  /** CPU of other processes (not the harness or its children) while a phase runs; `stop()` returns cores. */
  meter(): { stop: () => number } {
    const m = otherLoadMeter(this.ourPids());
    return {
      stop: () => {
        const v = m.stop();
        this.maxOtherLoad = Math.max(this.maxOtherLoad, v);
        return v;
      },
    };
  }

  get otherLoadCores(): number {
    return this.maxOtherLoad;
  }

  private chartFile(name: string): { abs: string; rel: string } {
    const rel = `images/${this.scenario}-${name}.png`;
    return { abs: join(this.o.root, 'docs/benchmarks', rel), rel };
  }

  lineChart(name: string, spec: LineChartSpec, caption?: string): Chart {
    const f = this.chartFile(name);
    lineChart(spec, f.abs);
    return { title: spec.title, file: f.rel, caption };
  }

  barChart(name: string, spec: BarChartSpec, caption?: string): Chart {
    const f = this.chartFile(name);
    barChart(spec, f.abs);
    return { title: spec.title, file: f.rel, caption };
  }

  /**
   * Stops every process this scenario started; returns what was still running afterwards (then killed): any
   * descendant of the harness seen before the stop (children, and their children such as nginx workers or tsx's
   * esbuild service of a fake, which would be re-parented away if they outlived their parent) that is still alive.
   */
  async close(): Promise<string[]> {
    await this.monitor.stop();
    const seen = descendants(process.pid).filter((p) => !this.baseline.has(p.pid));
    await Promise.all(this.started.map((c) => px.stopChild(c, 10_000)));
    await px.stopAll();
    await new Promise((r) => setTimeout(r, 300)); // let grandchildren notice their parent is gone
    // Same pid and same command name (a pid reused meanwhile by someone else's process is not ours).
    const alive = (p: { pid: number; cmd: string }) => {
      try {
        const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
        return !/\) Z /.test(stat) && stat.includes(`(${p.cmd})`);
      } catch {
        return false;
      }
    };
    const left = [...seen, ...descendants(process.pid).filter((p) => !this.baseline.has(p.pid))].filter(
      (p, i, all) => all.findIndex((q) => q.pid === p.pid) === i && alive(p),
    );
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    if (!this.o.keepTmp) {
      rmSync(this.tmp, { recursive: true, force: true });
    }
    return left.map((p) => `${p.cmd} (pid ${p.pid})`);
  }
}
