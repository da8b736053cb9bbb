import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { builtEntry, E2E_BUILD_DIR } from '../support/gateway-build';

/**
 * The repository root; the CLI runs from the e2e run's build of src/, else from its TypeScript source, as
 * `node -r ts-node/register … switchyard.ts`.
 */
export const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'src', 'cli', 'switchyard.ts');
const TS_NODE = require.resolve('ts-node/register/transpile-only');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  done: Promise<CliRun>;
}

/** A private HOME: no ~/.claude-code-router, ~/.switchyard or ~/.claude of the developer is ever seen. */
export const tempHome = (): string => mkdtempSync(join(tmpdir(), 'sy-cli-home-'));

/**
 * The environment a CLI run gets: this process's PATH and the like, nothing of the developer's Claude Code or
 * Switchyard settings, NODE_ENV=test, and Claude Code kept off the network (no telemetry, no auto-update).
 */
export function cliEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const dropped =
    /^(ANTHROPIC_|CLAUDE_|SWITCHYARD_|TS_NODE_)|^(PORT|HOST|REDIS_URL|LOG_LEVEL|NODE_ENV|NO_PROXY|no_proxy)$/;
  for (const [key, value] of Object.entries(process.env)) {
    if (!dropped.test(key)) {
      env[key] = value;
    }
  }
  Object.assign(env, {
    HOME: home,
    NODE_ENV: 'test',
    // ts-node looks for tsconfig.json from the working directory, which is a temp folder in most tests.
    TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
  });
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) {
      delete env[key];
    } else {
      env[key] = value;
    }
  }
  return env;
}

export function spawnCli(args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): CliProcess {
  // The e2e run's JavaScript build when there is one (test/support/gateway-build.ts): the CLI and the gateways it
  // starts in the background (the same script again) then skip ts-node's transpile of src/ on every start.
  const built = builtEntry() ? join(E2E_BUILD_DIR, 'cli', 'switchyard.js') : undefined;
  const child = spawn(process.execPath, built ? [built, ...args] : ['-r', TS_NODE, CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: options.env,
  });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const done = new Promise<CliRun>((resolveRun, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolveRun({ code, signal, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs the CLI to completion; a run that outlives `timeoutMs` is killed (and shows as signal SIGKILL). */
export async function runCli(
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number },
): Promise<CliRun> {
  const run = spawnCli(args, options);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  try {
    return await run.done;
  } finally {
    clearTimeout(timer);
  }
}

/** For failure messages: the end of what a run printed. */
export const transcript = (run: CliRun): CliRun => ({
  ...run,
  stdout: run.stdout.slice(-3000),
  stderr: run.stderr.slice(-3000),
});

export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await Promise.resolve(check()).catch(() => false)) {
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function isLive(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(3000) })).status === 200;
  } catch {
    return false;
  }
}
