/**
 * Child processes of the benchmark (fake provider, gateway): spawn, wait for health, stop, and make sure
 * none outlives the harness (normal end, error, Ctrl-C). Plus the /proc readers (CPU ticks, RSS).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<string>;
  alive: boolean;
}

const live = new Set<Child>();

export interface SpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr go to this file (a pipe nobody reads would block the child). */
  logFile: string;
}

export function spawnChild(name: string, command: string, args: string[], opts: SpawnOptions): Child {
  const fd = openSync(opts.logFile, 'a');
  const proc = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (proc.pid === undefined) {
    throw new Error(`could not start ${name}: ${command} ${args.join(' ')}`);
  }
  const child: Child = { name, pid: proc.pid, proc, logFile: opts.logFile, alive: true, exited: Promise.resolve('') };
  child.exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      child.alive = false;
      live.delete(child);
      resolve(signal ?? String(code));
    });
  });
  live.add(child);
  return child;
}

export function logTail(child: Child, lines = 30): string {
  try {
    return readFileSync(child.logFile, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process is gone. */
export async function stopChild(child: Child, graceMs = 8000): Promise<string> {
  if (!child.alive) {
    return child.exited;
  }
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.alive && child.proc.kill('SIGKILL'), graceMs);
  const how = await child.exited;
  clearTimeout(timer);
  return how;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c, 3000)));
}

function killAllNow(): void {
  for (const c of live) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * On Ctrl-C / SIGTERM: stop the children, run `extra` (temp dir removal), exit 130/143. On any exit path
 * (including a crash) the children that are still alive get a synchronous SIGKILL.
 */
export function installCleanup(extra: () => void): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      killAllNow();
      process.exit(1);
    }
    stopping = true;
    console.error(`\n${signal}: stopping child processes…`);
    void stopAll().finally(() => {
      extra();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    killAllNow();
    extra();
  });
}

/** A port that was free a moment ago (bind to 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `url` until it answers 2xx; fails early (with the log tail) if the child exits. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.alive) {
      throw new Error(`${child.name} exited during start-up:\n${logTail(child)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms:\n${logTail(child)}`);
}

// ---- /proc readers ----

let clkTck: number | undefined;

export function clockTicksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: split after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU time of a process in microseconds. */
export function cpuMicros(pid: number): number {
  return (cpuTicks(pid) * 1e6) / clockTicksPerSecond();
}

/** Busy CPU time of the whole machine (all cores, /proc/stat: user+nice+system+irq+softirq+steal), µs. */
export function machineBusyMicros(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
  return (busy * 1e6) / clockTicksPerSecond();
}

/**
 * Waits (up to `maxMs`) until the machine is quiet: less than `cores` of CPU busy over a 500 ms window while
 * our own children are idle — other users' builds and tests would otherwise run inside a measurement.
 * Returns the load seen last (cores).
 */
export async function waitQuiet(maxMs: number, cores = 0.25): Promise<number> {
  const deadline = Date.now() + maxMs;
  let load = 0;
  do {
    const a = machineBusyMicros();
    const t = performance.now();
    await sleep(500);
    load = (machineBusyMicros() - a) / ((performance.now() - t) * 1000);
  } while (load >= cores && Date.now() < deadline);
  return load;
}

export interface MemInfo {
  rssMb: number;
  /** VmHWM: peak resident set size since the process started. */
  peakRssMb: number;
}

export function memInfo(pid: number): MemInfo {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** Waits until the process burns (almost) no CPU for two consecutive polls, so cells do not overlap. */
export async function waitIdle(pid: number, maxMs = 5000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let prev = cpuTicks(pid);
  let quiet = 0;
  while (Date.now() < deadline && quiet < 2) {
    await sleep(100);
    const now = cpuTicks(pid);
    quiet = now - prev <= 1 ? quiet + 1 : 0;
    prev = now;
  }
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  kernel: string;
  clockTicks: number;
}

export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // not Linux
  }
  return {
    cpuModel,
    cores: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    clockTicks: clockTicksPerSecond(),
  };
}

/** mtime of the newest file under `dir` with one of `exts` (0 when none). */
export function newestMtime(dir: string, exts: string[]): number {
  let newest = 0;
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = `${d}/${entry.name}`;
      if (entry.isDirectory()) {
        walk(p);
      } else if (exts.some((e) => entry.name.endsWith(e))) {
        newest = Math.max(newest, statSync(p).mtimeMs);
      }
    }
  };
  walk(dir);
  return newest;
}
