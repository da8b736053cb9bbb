import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `~/.switchyard`: the history database, and the pid and log files of background gateways. */
export function switchyardHome(env: NodeJS.ProcessEnv): string {
  return join(env.HOME || homedir(), '.switchyard');
}

export interface BackgroundFiles {
  dir: string;
  pidFile: string;
  logFile: string;
}

/** One background gateway per port, so two configurations on two ports do not share a pid file. */
export function backgroundFiles(env: NodeJS.ProcessEnv, port: number): BackgroundFiles {
  const dir = switchyardHome(env);
  return { dir, pidFile: join(dir, `gateway-${port}.pid`), logFile: join(dir, `gateway-${port}.log`) };
}

/** What `switchyard start --pid-file` records once it listens. */
export interface PidRecord {
  pid: number;
  url: string;
  startedAt: string;
}

export function readPidFile(file: string): PidRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<PidRecord>;
    return typeof parsed.pid === 'number' && typeof parsed.url === 'string'
      ? (parsed as PidRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

export function writePidFile(file: string, record: PidRecord): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record)}\n`);
}

/** Removes the pid file only while it still names `pid` (a newer gateway may have taken it over). */
export function removePidFile(file: string, pid?: number): void {
  if (pid !== undefined && readPidFile(file)?.pid !== pid) {
    return;
  }
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/** The log of a background gateway is appended to; past this size the old one is kept as `.1` and a new one begun. */
const MAX_LOG_BYTES = 10 * 1024 * 1024;

export function rotateLog(file: string): void {
  if (existsSync(file) && statSync(file).size > MAX_LOG_BYTES) {
    renameSync(file, `${file}.1`);
  }
}

/** The last lines of a log, for an error message. */
export function tailOf(file: string, lines = 20): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Whether `pid` runs; a zombie (exited, not yet reaped by a parent that never waits) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Linux: the state letter follows the command name in parentheses.
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
