import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { CliUsageError, EXIT, integerOption, parseCommandArgs, type CliContext } from './cli-context';
import { localUrl } from './gateway-address';
import { removePidFile, writePidFile } from './switchyard-home';
import { START_USAGE } from './cli-usage';

const ROLES = ['api', 'worker', 'all'];

/** Resolves once the gateway listens; the process then runs until a stop signal. */
export async function runStart(args: string[], ctx: CliContext): Promise<number | 'running'> {
  const { values } = parseCommandArgs(args, {
    role: { type: 'string' },
    config: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'pid-file': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    ctx.io.stdout(START_USAGE);
    return EXIT.ok;
  }
  if (values.role !== undefined && !ROLES.includes(values.role)) {
    throw new CliUsageError(`--role must be api, worker or all (got "${values.role}")`);
  }
  const port = integerOption('port', values.port);
  const env: NodeJS.ProcessEnv = { ...ctx.env };
  if (values.config !== undefined) {
    env.SWITCHYARD_CONFIG = resolve(ctx.cwd, values.config);
  }
  if (port !== undefined) {
    env.PORT = String(port);
  }
  if (values.host !== undefined) {
    env.HOST = values.host;
  }

  // Loaded here, not at the top: the other commands must not pay for Nest and every module.
  const { bootstrap } = await import('../main');
  const app = await bootstrap({ env, role: values.role });
  const pidFile = values['pid-file'];
  if (pidFile !== undefined) {
    const file = resolve(ctx.cwd, pidFile);
    const address = app.getHttpServer().address() as AddressInfo;
    writePidFile(file, {
      pid: process.pid,
      url: localUrl(address.address, address.port),
      startedAt: new Date().toISOString(),
    });
    // The server closes during the graceful shutdown, before Nest re-raises the signal (no 'exit' event then).
    const cleanup = (): void => removePidFile(file, process.pid);
    app.getHttpServer().once('close', cleanup);
    process.once('exit', cleanup);
  }
  return 'running';
}
