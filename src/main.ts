import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { createApp } from './app.factory';
import { startIdleGc } from './common/idle-gc';
import { ListenError, listenError, probeListen } from './common/listen-probe';
import { ConfigError, loadConfig, type LoadedConfig } from './config/load-config';

/** `--role api|worker|all` on the command line wins over SWITCHYARD_ROLE and the config files. */
function roleArgument(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--role') {
      return argv[i + 1];
    }
    if (argv[i].startsWith('--role=')) {
      return argv[i].slice('--role='.length);
    }
  }
  return undefined;
}

/** A configuration error or an address that cannot be bound is one line and exit code 1; others rethrow. */
function failStartup(err: unknown): never {
  if (err instanceof ConfigError || err instanceof ListenError) {
    process.stderr.write(`switchyard: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

export interface BootstrapOptions {
  /** The environment the configuration layers read (default: process.env); `switchyard start` passes its own. */
  env?: NodeJS.ProcessEnv;
  /** `--role` from the command line. */
  role?: string;
}

/**
 * Boots the gateway in this process and listens: `node dist/main.js`, `nest start` and `switchyard start`
 * all come through here. An invalid configuration exits with code 1 and the loader's message.
 */
export async function bootstrap(options: BootstrapOptions = {}): Promise<NestFastifyApplication> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({ env: options.env, role: options.role });
  } catch (err) {
    failStartup(err);
  }
  await probeListen(loaded.config.HOST ?? '127.0.0.1', loaded.config.PORT).catch(failStartup);
  const app = await createApp({ loaded });
  const logger = app.get(Logger);
  const { config } = loaded;
  for (const warning of loaded.warnings) {
    logger.warn(warning, 'config');
  }
  logger.log(`configuration layers: ${loaded.sources.join(' → ')} → environment`, 'config');
  if (config.Providers.length === 0) {
    logger.warn(
      'no providers configured yet: running on embedded defaults (in-memory everything). ' +
        'Set SWITCHYARD_CONFIG or create ~/.claude-code-router/config.json to add providers.',
      'config',
    );
  }
  const host = config.HOST ?? '127.0.0.1';
  if (!config.APIKEY && host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    logger.warn(
      `APIKEY is not set but HOST is ${host}: the gateway is reachable without authentication`,
      'auth',
    );
  }
  // Shutdown finishes in-flight work within the grace period; should anything (a Redis that went away
  // under a BullMQ connection, say) still hold the process after it, it exits anyway.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        logger.warn(
          `shutdown did not finish ${config.Server.shutdownGraceMs + 5000} ms after ${signal}: exiting`,
          'main',
        );
        process.exit(1);
      }, config.Server.shutdownGraceMs + 5000).unref();
    });
  }
  // SIGUSR2 (profilers, diagnostics) and SIGHUP (a closed terminal) would terminate the process by default:
  // they are logged and ignored; SIGTERM / SIGINT are the stop signals.
  for (const signal of ['SIGUSR2', 'SIGHUP'] as const) {
    process.on(signal, () =>
      logger.log(`${signal} received: ignored (SIGTERM or SIGINT stop the gateway)`, 'main'),
    );
  }
  // V8 runs no major GC while idle: a burst's garbage would stay in RSS until the next burst adds its own.
  startIdleGc(config.Server.idleGcMb * 1024 * 1024);
  // The probe above leaves a window: a port taken since then fails here, with the same line.
  await app
    .listen({ port: config.PORT, host })
    .catch((err: unknown) => failStartup(listenError(err, host, config.PORT)));
  logger.log(
    `Switchyard listening on http://${host}:${(app.getHttpServer().address() as { port?: number } | null)?.port ?? config.PORT}`,
    'main',
  );
  return app;
}

// Run only as the entry point: the `switchyard` CLI imports bootstrap() without starting anything.
if (require.main === module) {
  bootstrap({ role: roleArgument(process.argv.slice(2)) }).catch((err: unknown) => {
    process.stderr.write(`switchyard: failed to start: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
