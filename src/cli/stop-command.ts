import { CliError, EXIT, integerOption, parseCommandArgs, type CliContext } from './cli-context';
import { probeGateway } from './background-gateway';
import { loadCliConfig } from './gateway-address';
import { backgroundFiles, isAlive, readPidFile, removePidFile } from './switchyard-home';
import { STOP_USAGE } from './cli-usage';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runStop(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(args, {
    port: { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    ctx.io.stdout(STOP_USAGE);
    return EXIT.ok;
  }
  const port = integerOption('port', values.port, 1) ?? loadCliConfig(ctx.env).config.PORT;
  const timeoutMs = integerOption('timeout', values.timeout, 1) ?? 60_000;
  const { pidFile } = backgroundFiles(ctx.env, port);
  const record = readPidFile(pidFile);
  if (!record || !isAlive(record.pid)) {
    removePidFile(pidFile);
    ctx.io.stdout(`switchyard: no background gateway is running on port ${port}\n`);
    return EXIT.ok;
  }
  // A pid file can outlive its process (a crash, a reboot) and the pid be reused: only a gateway that
  // reports this very pid on the recorded URL is signalled.
  const probe = await probeGateway(record.url, 5000);
  if (probe.state !== 'switchyard' || probe.pid !== record.pid) {
    throw new CliError(
      `${pidFile} names pid ${record.pid}, but ${record.url} does not answer as that gateway; not stopping it.\n` +
        `If it is a stuck gateway, stop it yourself (kill ${record.pid}) and remove ${pidFile}.`,
    );
  }
  process.kill(record.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(record.pid)) {
    if (Date.now() > deadline) {
      throw new CliError(`the gateway (pid ${record.pid}) is still running ${timeoutMs} ms after SIGTERM`);
    }
    await sleep(100);
  }
  removePidFile(pidFile, record.pid);
  ctx.io.stdout(`switchyard: stopped the background gateway on ${record.url} (pid ${record.pid})\n`);
  return EXIT.ok;
}
