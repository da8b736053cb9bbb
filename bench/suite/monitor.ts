/**
 * Resource sampling of the processes under test: /proc (RSS, open file descriptors, CPU) for any process, and
 * for gateways the monitor preload (bench/lib/suite-monitor-preload.cjs: event-loop lag, heap, forced GC, heap
 * snapshots) over its Unix socket.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import * as px from '../lib/processes';
import type { ProcSample, ProcSeries } from './types';

/** One command to a gateway's monitor preload; resolves with its JSON answer. */
export function monitorCommand<T = Record<string, unknown>>(
  socket: string,
  cmd: string,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const sock = connect(socket);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`monitor ${cmd}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${cmd}\n`));
    sock.on('data', (d: string) => (buf += d));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        const out = JSON.parse(buf) as T & { error?: string };
        if (out.error) {
          reject(new Error(`monitor ${cmd}: ${out.error}`));
        } else {
          resolve(out);
        }
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

export interface LagWindow {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

interface SampleAnswer {
  lag: LagWindow;
  mem: { rss: number; heapUsed: number; heapTotal: number };
}

export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

interface Watched {
  series: ProcSeries;
  socket?: string;
  lastCpu: number;
  lastT: number;
}

const MB = 1024 * 1024;

/**
 * Samples every watched process each `intervalMs` on the scenario clock (`clock()` = seconds since t0). A
 * process that has exited is skipped silently (its series just ends).
 */
export class ProcessMonitor {
  private readonly watched = new Map<number, Watched>();
  /** Every series ever watched, in order (an unwatched process keeps its samples). */
  private readonly all: ProcSeries[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly clock: () => number,
    private readonly intervalMs: number,
  ) {}

  watch(name: string, pid: number, socket?: string): ProcSeries {
    const series: ProcSeries = { name, pid, samples: [] };
    let cpu = 0;
    try {
      cpu = px.cpuMicros(pid);
    } catch {
      // gone already
    }
    this.watched.set(pid, { series, socket, lastCpu: cpu, lastT: performance.now() });
    this.all.push(series);
    return series;
  }

  /** Stops sampling the process (its series is kept). */
  unwatch(pid: number): void {
    this.watched.delete(pid);
  }

  series(): ProcSeries[] {
    return [...this.all];
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Takes one sample of every process now (also called by the timer). */
  async tick(): Promise<void> {
    if (this.busy) {
      return;
    }
    this.busy = true;
    try {
      await Promise.all([...this.watched.values()].map((w) => this.sampleOne(w)));
    } finally {
      this.busy = false;
    }
  }

  private async sampleOne(w: Watched): Promise<void> {
    const pid = w.series.pid;
    let s: ProcSample;
    try {
      const now = performance.now();
      const cpu = px.cpuMicros(pid);
      s = {
        t: this.clock(),
        rssMb: px.memInfo(pid).rssMb,
        fds: fdCount(pid),
        cpuCores: (cpu - w.lastCpu) / Math.max(1, (now - w.lastT) * 1000),
      };
      w.lastCpu = cpu;
      w.lastT = now;
    } catch {
      return; // exited
    }
    if (w.socket) {
      try {
        const a = await monitorCommand<SampleAnswer>(w.socket, 'sample', 2000);
        s.heapUsedMb = a.mem.heapUsed / MB;
        s.heapTotalMb = a.mem.heapTotal / MB;
        s.lagP99Ms = a.lag.p99Ms;
        s.lagMaxMs = a.lag.maxMs;
      } catch {
        // busy or exiting: /proc numbers only for this sample
      }
    }
    w.series.samples.push(s);
  }
}

/** Every process whose ancestry leads to `root` (children, grandchildren …), from /proc. */
export function descendants(root: number): { pid: number; cmd: string }[] {
  const parent = new Map<number, number>();
  const cmd = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      if (fields[0] === 'Z') {
        continue; // a zombie is already dead; its parent just has not reaped it yet
      }
      parent.set(pid, Number(fields[1]));
      cmd.set(pid, stat.slice(stat.indexOf('(') + 1, close));
    } catch {
      // exited while listing
    }
  }
  const out: { pid: number; cmd: string }[] = [];
  for (const [pid] of parent) {
    let p = parent.get(pid);
    for (let hops = 0; p !== undefined && p > 1 && hops < 64; hops++) {
      if (p === root) {
        out.push({ pid, cmd: cmd.get(pid) ?? '?' });
        break;
      }
      p = parent.get(p);
    }
  }
  return out;
}
