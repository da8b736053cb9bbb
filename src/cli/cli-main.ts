import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, CliUsageError, EXIT, type CliContext } from './cli-context';
import {
  CODE_USAGE,
  ENV_USAGE,
  MIGRATE_CONFIG_USAGE,
  MIGRATE_REDIS_USAGE,
  START_USAGE,
  STATUS_USAGE,
  STOP_USAGE,
  USAGE,
} from './cli-usage';

type Run = (args: string[], ctx: CliContext) => number | 'running' | Promise<number | 'running'>;

interface Command {
  usage: () => string | Promise<string>;
  /** Each command's code is loaded on use: `env` must not pay for Nest, ioredis or SQLite. */
  load: () => Promise<Run>;
}

const text = (usage: string) => (): string => usage;

const COMMANDS: Record<string, Command> = {
  start: { usage: text(START_USAGE), load: async () => (await import('./start-command')).runStart },
  code: { usage: text(CODE_USAGE), load: async () => (await import('./code-command')).runCode },
  env: { usage: text(ENV_USAGE), load: async () => (await import('./env-command')).runEnv },
  status: { usage: text(STATUS_USAGE), load: async () => (await import('./status-command')).runStatus },
  stop: { usage: text(STOP_USAGE), load: async () => (await import('./stop-command')).runStop },
  report: {
    usage: async () => (await import('../history/report/report-command')).REPORT_USAGE,
    load: async () => {
      const { runReport } = await import('../history/report/report-command');
      return (args, ctx) => runReport(args, ctx.io);
    },
  },
  'migrate-config': {
    usage: text(MIGRATE_CONFIG_USAGE),
    load: async () => (await import('./migrate-config-command')).runMigrateConfig,
  },
  'migrate-to-redis': {
    usage: text(MIGRATE_REDIS_USAGE),
    load: async () => (await import('./migrate-redis-command')).runMigrateToRedis,
  },
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function help(topic: string | undefined, ctx: CliContext): Promise<number> {
  if (topic === undefined) {
    ctx.io.stdout(USAGE);
    return EXIT.ok;
  }
  const command = COMMANDS[topic];
  if (!command) {
    ctx.io.stderr(`switchyard: unknown command "${topic}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  ctx.io.stdout(await command.usage());
  return EXIT.ok;
}

/**
 * The `switchyard` command line: global options, then a command and its arguments. Returns the exit code,
 * or 'running' when the process must stay up (start).
 */
export async function runCli(argv: string[], ctx: CliContext): Promise<number | 'running'> {
  let i = 0;
  for (; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--config' || arg.startsWith('--config=')) {
      const value = arg === '--config' ? argv[++i] : arg.slice('--config='.length);
      if (!value) {
        ctx.io.stderr(`switchyard: --config needs a file\n\n${USAGE}`);
        return EXIT.usage;
      }
      // Written into the context's environment itself: for the CLI process that is process.env, so the
      // commands that read the configuration layers directly (report) see the file too.
      ctx.env.SWITCHYARD_CONFIG = resolve(ctx.cwd, value);
    } else {
      break;
    }
  }
  const [name, ...rest] = argv.slice(i);
  switch (name) {
    case undefined:
      ctx.io.stdout(USAGE);
      return EXIT.usage;
    case 'help':
    case '--help':
    case '-h':
      return help(rest[0], ctx);
    case '--version':
    case '-V':
    case 'version':
      ctx.io.stdout(`switchyard ${version()}\n`);
      return EXIT.ok;
    default:
      break;
  }
  const command = COMMANDS[name];
  if (!command) {
    ctx.io.stderr(`switchyard: unknown command "${name}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    return await (
      await command.load()
    )(rest, ctx);
  } catch (err) {
    if (err instanceof CliUsageError) {
      ctx.io.stderr(`switchyard ${name}: ${err.message}\n\n${await command.usage()}`);
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      ctx.io.stderr(`switchyard ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    ctx.io.stderr(`switchyard ${name}: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failure;
  }
}

/** The context of the real process. */
export function processContext(): CliContext {
  return {
    io: {
      stdout: (text) => void process.stdout.write(text),
      stderr: (text) => void process.stderr.write(text),
    },
    env: process.env,
    cwd: process.cwd(),
    self: { execPath: process.execPath, execArgv: process.execArgv, script: resolve(process.argv[1]) },
  };
}

/** Exit once stdout and stderr are flushed (pipes are asynchronous on some platforms). */
export function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = (): void => {
    pending -= 1;
    if (pending === 0) {
      process.exit(code);
    }
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
