/** Runs the final stage as the container would, and checks what the image promises. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { HealthcheckSpec } from './dockerfile';
import {
  DryRunError,
  argvOf,
  baseEnv,
  inStage,
  report,
  sleep,
  tail,
  timed,
  type Options,
  type StageState,
} from './dryrun-context';

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}

export function duSize(dir: string): string {
  const out = spawnSync('du', ['-sh', dir], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.split('\t')[0] : '?';
}

function checkPrunedDevDependencies(state: StageState, opts: Options): void {
  const lock = JSON.parse(readFileSync(join(opts.context, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const app = inStage(state, '.');
  const devPaths = Object.entries(lock.packages)
    .filter(([path, meta]) => path.startsWith('node_modules/') && meta.dev === true)
    .map(([path]) => path);
  const present = devPaths.filter((p) => existsSync(join(app, p)));
  if (present.length > 0) {
    throw new DryRunError(`dev dependencies left in the final image: ${present.slice(0, 10).join(', ')}`);
  }
  const prod = readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.')).length;
  report.checks.push(
    `no dev dependency in the final image (${devPaths.length} dev packages in the lockfile, ${prod} top-level entries kept)`,
  );
}

async function runHealthcheck(
  spec: HealthcheckSpec,
  cwd: string,
  env: Record<string, string>,
  logFile: string,
): Promise<boolean> {
  const argv = argvOf(spec.command);
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', fd, fd] });
    const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs);
    try {
      const code = await new Promise<number | null>((res) => {
        child.once('error', () => res(null));
        child.once('exit', (c) => res(c));
      });
      return code === 0;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    closeSync(fd);
  }
}

export async function runFinalImage(state: StageState, opts: Options, work: string): Promise<void> {
  if (state.user === 'root' || state.user === '0') {
    throw new DryRunError('the final stage runs as root: add a USER');
  }
  report.checks.push(`final stage declares USER ${state.user} (non-root)`);
  report.notes.push(
    `USER ${state.user} cannot be switched to here: the CMD and HEALTHCHECK ran as the invoking user`,
  );
  const command = [
    ...(state.entrypoint ? argvOf(state.entrypoint) : []),
    ...(state.cmd ? argvOf(state.cmd) : []),
  ];
  if (command.length === 0) {
    throw new DryRunError('the final stage has no CMD or ENTRYPOINT');
  }
  if ((state.cmd && 'shell' in state.cmd) || (state.entrypoint && 'shell' in state.entrypoint)) {
    throw new DryRunError(
      'shell-form CMD/ENTRYPOINT: /bin/sh would be PID 1 and SIGTERM would not reach the app',
    );
  }
  report.checks.push(`exec-form command (${command.join(' ')}): the app itself receives ${state.stopSignal}`);
  const health = state.healthcheck;
  if (!health || health === 'NONE') {
    throw new DryRunError('the final stage has no HEALTHCHECK');
  }
  if (state.env.NODE_ENV !== 'production') {
    throw new DryRunError(`NODE_ENV is ${state.env.NODE_ENV ?? 'unset'} in the final stage, not production`);
  }
  checkPrunedDevDependencies(state, opts);

  const cwd = inStage(state, '.');
  const port = await freePort();
  // `docker run -e PORT=… -e HOST=127.0.0.1`: a free port, nothing bound beyond loopback; HOME is the image
  // user's (empty) home inside the stage root, so no configuration of this machine's user is read.
  const env: Record<string, string> = { ...baseEnv(state), PORT: String(port), HOST: '127.0.0.1' };
  delete env.npm_config_prefix;
  report.notes.push(
    `run with PORT=${port} HOST=127.0.0.1 (the image says PORT=${state.env.PORT ?? '-'} HOST=${state.env.HOST ?? '-'})`,
  );

  const native = spawnSync(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], {
    cwd,
    env,
    encoding: 'utf8',
  });
  if (native.status !== 0) {
    throw new DryRunError(
      `better-sqlite3's native addon does not load in the final image:\n${native.stderr}`,
    );
  }
  report.checks.push('better-sqlite3 native addon loads from the final image');

  const appLog = join(work, 'app.log');
  const healthLog = join(work, 'healthcheck.log');
  const fd = openSync(appLog, 'a');
  let child: ChildProcess | undefined;
  try {
    child = spawn(command[0], command.slice(1), { cwd, env, stdio: ['ignore', fd, fd] });
    const proc = child;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exited = new Promise<void>((res) =>
      proc.once('exit', (code, signal) => {
        exit = { code, signal };
        res();
      }),
    );
    // Docker's budget before the container counts as unhealthy: start period plus `retries` intervals.
    const budget = health.startPeriodMs + health.intervalMs * health.retries;
    const healthyMs = await timed(
      `start ${command.join(' ')} and run the HEALTHCHECK until it passes`,
      async () => {
        const started = Date.now();
        while (Date.now() - started < budget) {
          if (exit) {
            throw new DryRunError(
              `the app exited (${exit.code ?? exit.signal}) before it was healthy\n${tail(appLog)}`,
            );
          }
          if (await runHealthcheck(health, cwd, env, healthLog)) {
            return Date.now() - started;
          }
          await sleep(250);
        }
        throw new DryRunError(
          `HEALTHCHECK did not pass within ${budget} ms\n${tail(appLog)}\n${tail(healthLog)}`,
        );
      },
    );
    report.checks.push(
      `HEALTHCHECK command passed ${(healthyMs / 1000).toFixed(1)} s after start (budget ${budget / 1000} s)`,
    );

    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    report.checks.push(`GET /health/ready → ${ready.status}`);
    const layersLine = readFileSync(appLog, 'utf8')
      .split('\n')
      .find((l) => l.includes('configuration layers'));
    let layers: { msg?: string } = {};
    try {
      layers = JSON.parse(layersLine ?? '') as { msg?: string };
    } catch {
      throw new DryRunError(
        `the boot log is not JSON lines (production logging): ${layersLine ?? tail(appLog)}`,
      );
    }
    if (!/config\/production\.json/.test(layers.msg ?? '')) {
      throw new DryRunError(`the configuration layers do not include config/production.json: ${layers.msg}`);
    }
    report.checks.push(
      'logs are JSON lines and the config layers include config/production.json (NODE_ENV=production)',
    );

    const stopStarted = Date.now();
    await timed(
      `send ${state.stopSignal} and wait for a clean exit (stop timeout ${opts.stopTimeoutMs / 1000} s)`,
      async () => {
        proc.kill(state.stopSignal);
        const timeout = sleep(opts.stopTimeoutMs).then(() => 'timeout' as const);
        if ((await Promise.race([exited, timeout])) === 'timeout') {
          throw new DryRunError(
            `no exit within ${opts.stopTimeoutMs} ms of ${state.stopSignal}\n${tail(appLog)}`,
          );
        }
      },
    );
    if (exit?.code !== 0) {
      const signal = exit?.signal ? (osConstants.signals[exit.signal] ?? 0) : 0;
      const why =
        exit?.signal === state.stopSignal
          ? ` (killed by its own ${exit.signal} after shutting down: Nest's enableShutdownHooks re-raises the` +
            ' signal unless it is given { useProcessExit: true })'
          : '';
      throw new DryRunError(
        `${state.stopSignal} did not end in exit code 0: Docker would report ${exit?.code ?? 128 + signal}${why}` +
          `\n${tail(appLog, 5)}`,
      );
    }
    report.checks.push(
      `${state.stopSignal} → exit code 0 after ${((Date.now() - stopStarted) / 1000).toFixed(1)} s`,
    );
    if (await runHealthcheck(health, cwd, env, healthLog)) {
      throw new DryRunError('the HEALTHCHECK still passes with the app stopped: it checks nothing');
    }
    report.checks.push('HEALTHCHECK fails once the app is gone');
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    closeSync(fd);
  }
}
