import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, type CliContext } from './cli-context';
import type { GatewayAddress } from './gateway-address';
import { backgroundFiles, rotateLog, tailOf } from './switchyard-home';

export type Probe =
  | { state: 'switchyard'; pid?: number }
  /** Something answers on the port, but not a Switchyard liveness probe (CCR still running, say). */
  | { state: 'other'; detail: string }
  | { state: 'none'; detail: string };

/** Asks `GET /health/live` (public, no key). */
export async function probeGateway(url: string, timeoutMs: number): Promise<Probe> {
  let res: Response;
  try {
    res = await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') {
      return { state: 'other', detail: `no answer within ${timeoutMs} ms` };
    }
    return { state: 'none', detail: e.cause?.code ?? e.cause?.message ?? e.message };
  }
  const body = (await res.json().catch(() => undefined)) as
    { status?: string; info?: { process?: { pid?: number } } } | undefined;
  if (res.status === 200 && body?.info?.process) {
    return { state: 'switchyard', pid: body.info.process.pid };
  }
  return { state: 'other', detail: `GET /health/live answered HTTP ${res.status}` };
}

export interface EnsureResult {
  started: boolean;
  pid?: number;
  logFile?: string;
}

export interface EnsureOptions {
  /** How long a freshly started gateway may take to answer its liveness probe. */
  startTimeoutMs: number;
  /** Progress lines (stderr): claude's own output stays alone on stdout. */
  say: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Makes sure a gateway answers at `address`: reuses one that does, else starts `switchyard start` detached
 * (its own session, so Ctrl-C in this terminal does not reach it; logs appended to ~/.switchyard/gateway-<port>.log;
 * pid file beside it) and waits until it is live.
 */
export async function ensureGateway(
  ctx: CliContext,
  address: GatewayAddress,
  options: EnsureOptions,
): Promise<EnsureResult> {
  const first = await probeGateway(address.url, 5000);
  if (first.state === 'switchyard') {
    return { started: false, pid: first.pid };
  }
  if (first.state === 'other') {
    throw new CliError(
      `${address.url} is taken by something that is not a Switchyard gateway (${first.detail}).\n` +
        'Is Claude Code Router still running there? Stop it (`ccr stop`) or give Switchyard another PORT.',
    );
  }
  if (address.port === 0) {
    throw new CliError(
      'PORT is 0 (any free port): `switchyard code` needs a fixed port to find the gateway.',
    );
  }

  const files = backgroundFiles(ctx.env, address.port);
  mkdirSync(files.dir, { recursive: true });
  rotateLog(files.logFile);
  const log = openSync(files.logFile, 'a');
  const env: NodeJS.ProcessEnv = { ...ctx.env };
  if (env.SWITCHYARD_CONFIG) {
    env.SWITCHYARD_CONFIG = resolve(ctx.cwd, env.SWITCHYARD_CONFIG);
  }
  // A gateway nobody watches logs JSON at info level to its file, not development's pretty debug output.
  env.NODE_ENV ||= 'production';
  let exited: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  let child: ChildProcess;
  try {
    writeSync(
      log,
      `\n--- ${new Date().toISOString()} switchyard code: starting the gateway on ${address.url}\n`,
    );
    child = spawn(
      ctx.self.execPath,
      [...ctx.self.execArgv, ctx.self.script, 'start', '--pid-file', files.pidFile],
      { cwd: ctx.cwd, env, detached: true, stdio: ['ignore', log, log] },
    );
  } finally {
    closeSync(log);
  }
  child.once('exit', (code, signal) => (exited = { code, signal }));
  child.once('error', (error) => (exited = { code: null, signal: null, error }));
  child.unref();
  options.say(`switchyard: starting the gateway in the background (log: ${files.logFile})`);

  const deadline = Date.now() + options.startTimeoutMs;
  for (;;) {
    const probe = await probeGateway(address.url, 2000);
    if (probe.state === 'switchyard') {
      // Another `switchyard code` may have won the race for the port: its gateway serves us just as well.
      options.say(`switchyard: gateway ready at ${address.url} (pid ${probe.pid ?? child.pid})`);
      return { started: true, pid: probe.pid ?? child.pid, logFile: files.logFile };
    }
    if (exited) {
      const how = exited.error
        ? exited.error.message
        : exited.signal
          ? `signal ${exited.signal}`
          : `exit code ${exited.code}`;
      throw new CliError(
        `the gateway stopped (${how}) before it answered on ${address.url}.\n` +
          `log: ${files.logFile}\n${indent(tailOf(files.logFile))}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new CliError(
        `the gateway did not answer on ${address.url} within ${options.startTimeoutMs} ms; stopped it.\n` +
          `log: ${files.logFile}\n${indent(tailOf(files.logFile))}`,
      );
    }
    await sleep(200);
  }
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map((l) => `  | ${l}`)
    .join('\n');
