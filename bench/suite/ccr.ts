/**
 * Claude Code Router (@musistudio/claude-code-router 1.x, the project Switchyard rewrites) as a comparison
 * target: found in node_modules, in bench/.ccr (`npm run bench:ccr-install`), or at $SWITCHYARD_BENCH_CCR (its
 * dist/cli.js); configured for the same fake provider through ~/.claude-code-router/config.json in a temp HOME;
 * run in the foreground with `ccr start` (its server entry: `node dist/cli.js start`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as px from '../lib/processes';
import { MODEL, type Service, type SuiteCtx } from './context';

export const CCR_INSTALL =
  'npm run bench:ccr-install   (= npm install --prefix bench/.ccr --no-save --no-package-lock @musistudio/claude-code-router@1.0.73)';

export function findCcr(root: string): { cli: string; version: string } | { missing: string } {
  const candidates = [
    process.env.SWITCHYARD_BENCH_CCR,
    join(root, 'node_modules/@musistudio/claude-code-router/dist/cli.js'),
    join(root, 'bench/.ccr/node_modules/@musistudio/claude-code-router/dist/cli.js'),
  ].filter((x): x is string => typeof x === 'string' && x !== '');
  for (const cli of candidates) {
    if (existsSync(cli)) {
      let version = '?';
      try {
        version = (
          JSON.parse(readFileSync(join(dirname(cli), '../package.json'), 'utf8')) as { version: string }
        ).version;
      } catch {
        // a cli.js without its package.json: version unknown
      }
      return { cli, version };
    }
  }
  return {
    missing: `Claude Code Router is not installed (looked in ${candidates.join(', ')}); install it with: ${CCR_INSTALL}`,
  };
}

export interface CcrProc extends Service {
  version: string;
}

/** Starts CCR on a free port with every Router slot on the fake (OpenAI format, like the gateway's config). */
export async function startCcr(
  ctx: SuiteCtx,
  cli: string,
  version: string,
  fakePort: number,
): Promise<CcrProc> {
  const port = await px.freePort();
  const home = join(ctx.tmp, 'ccr-home');
  mkdirSync(join(home, '.claude-code-router'), { recursive: true });
  const t = `fake,${MODEL}`;
  const config = {
    PORT: port,
    HOST: '127.0.0.1',
    // No request logging, as the gateway runs at LOG_LEVEL=warn.
    LOG: false,
    API_TIMEOUT_MS: 600000,
    Providers: [
      {
        name: 'fake',
        api_base_url: `http://127.0.0.1:${fakePort}/v1/chat/completions`,
        api_key: 'bench',
        models: [MODEL],
      },
    ],
    Router: {
      default: t,
      background: t,
      think: t,
      longContext: t,
      longContextThreshold: 60000,
      webSearch: t,
    },
  };
  writeFileSync(join(home, '.claude-code-router/config.json'), JSON.stringify(config, null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, NODE_ENV: 'production' };
  delete env.SERVICE_PORT;
  const child = ctx.track(
    px.spawnChild('claude-code-router', process.execPath, [cli, 'start'], {
      cwd: home,
      env,
      logFile: join(ctx.tmp, 'ccr.log'),
    }),
  );
  await px.waitForHttp(`http://127.0.0.1:${port}/health`, child, 30_000);
  ctx.monitor.watch(`CCR ${version}`, child.pid);
  return { child, port, origin: `http://127.0.0.1:${port}`, version };
}
