/** The processes under test: the build check, the fake provider and the gateway (config, env, health). */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as px from './processes';

export interface ServiceOptions {
  root: string;
  /** Temp dir: gateway HOME, config file, child logs. */
  tmp: string;
  model: string;
  /** Run the gateway under `node --cpu-prof` writing into this dir. */
  cpuProfDir?: string;
  /** The gateway's entry point (default `dist/main.js` under root), e.g. a copy of the build taken at start. */
  gatewayEntry?: string;
  log: (s: string) => void;
}

/** Builds when dist/main.js is missing; warns (and returns a note) when src/ is newer than the build. */
export function ensureBuild(o: ServiceOptions): string | undefined {
  const main = join(o.root, 'dist/main.js');
  if (!existsSync(main)) {
    o.log('dist/main.js missing: npm run build');
    if (spawnSync('npm', ['run', 'build'], { cwd: o.root, stdio: 'inherit' }).status !== 0) {
      throw new Error('npm run build failed');
    }
  } else if (px.newestMtime(join(o.root, 'src'), ['.ts']) > statSync(main).mtimeMs) {
    const msg = 'src/ has files newer than dist/main.js: the numbers are for the last build';
    o.log(`warning: ${msg}`);
    return msg;
  }
  return undefined;
}

/** Zero first-byte latency, 4 deltas, no gaps; bodies not kept, request log of 16 entries. */
export async function startFake(o: ServiceOptions, port: number): Promise<px.Child> {
  const args = ['--import', 'tsx', 'scripts/fake-provider.ts', '--port', String(port), '--no-bodies'];
  args.push('--max-recorded', '16', '--chunks', '4', '--first-byte-ms', '0', '--gap-ms', '0');
  const fake = px.spawnChild('fake provider', process.execPath, args, {
    cwd: o.root,
    env: { ...process.env, NODE_ENV: 'production' },
    logFile: join(o.tmp, 'fake.log'),
  });
  await px.waitForHttp(`http://127.0.0.1:${port}/__fake/health`, fake);
  return fake;
}

/** `node dist/main.js` with one OpenAI-kind provider on the fake and every Router slot pointing at it. */
export async function startGateway(o: ServiceOptions, port: number, fakePort: number, logLevel: string): Promise<px.Child> {
  const target = `fake,${o.model}`;
  const config = {
    Providers: [
      {
        name: 'fake',
        api_base_url: `http://127.0.0.1:${fakePort}/v1/chat/completions`,
        api_key: 'bench',
        models: [o.model],
      },
    ],
    Router: { default: target, background: target, think: target, longContext: target, webSearch: target, image: target },
    // The load repeats one body: with the cache or coalescing on, this would measure cache hits, not the
    // proxy path. bench:cache measures those features; here every request goes upstream.
    Cache: { enabled: false },
    Dedup: { enabled: false },
    Failover: { health: { enabled: false } },
    Pools: { healthPingMs: 0 },
  };
  const configFile = join(o.tmp, 'config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', LOG_LEVEL: logLevel, PORT: String(port) };
  Object.assign(env, { HOST: '127.0.0.1', SWITCHYARD_CONFIG: configFile, HOME: o.tmp });
  delete env.REDIS_URL;
  delete env.SWITCHYARD_API_KEY;
  const nodeArgs = o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : [];
  const gw = px.spawnChild(`gateway (LOG_LEVEL=${logLevel})`, process.execPath, [...nodeArgs, 'dist/main.js'], {
    cwd: o.root,
    env,
    logFile: join(o.tmp, `gateway-${logLevel}.log`),
  });
  await px.waitForHttp(`http://127.0.0.1:${port}/health/ready`, gw);
  return gw;
}

/** A bare node:http server that reads and parses the JSON body and answers 11 bytes: the box's floor. */
const BASELINE_SERVER =
  "require('node:http').createServer((q, s) => { const c = []; q.on('data', (d) => c.push(d)); " +
  "q.on('end', () => { JSON.parse(Buffer.concat(c).toString() || '{}'); " +
  "s.setHeader('content-type', 'application/json'); s.end('{\"ok\":true}'); }); })" +
  ".listen(Number(process.env.PORT), '127.0.0.1');";

export async function startBaseline(o: ServiceOptions, port: number): Promise<px.Child> {
  const child = px.spawnChild('baseline http server', process.execPath, ['-e', BASELINE_SERVER], {
    cwd: o.root,
    env: { ...process.env, PORT: String(port) },
    logFile: join(o.tmp, 'baseline.log'),
  });
  await px.waitForHttp(`http://127.0.0.1:${port}/`, child);
  return child;
}
