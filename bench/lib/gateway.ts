/**
 * Generic process starters for the scenario benchmarks (cache, failover): a fake provider with any CLI flags
 * and a gateway with any config object and environment, plus the fake's control endpoints.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as px from './processes';
import type { ServiceOptions } from './services';

/**
 * `node --import tsx scripts/fake-provider.ts --port P --no-bodies --max-recorded 1000000 …args`. The request
 * log must hold every request of the run: `/__fake/stats` counts what the log holds.
 */
export async function startFakeWith(o: ServiceOptions, name: string, port: number, args: string[]): Promise<px.Child> {
  const all = ['--import', 'tsx', 'scripts/fake-provider.ts', '--port', String(port), '--no-bodies', '--max-recorded', '1000000', ...args];
  const fake = px.spawnChild(name, process.execPath, all, {
    cwd: o.root,
    env: { ...process.env, NODE_ENV: 'production' },
    logFile: join(o.tmp, `${name.replace(/\W+/g, '-')}.log`),
  });
  await px.waitForHttp(`http://127.0.0.1:${port}/__fake/health`, fake);
  return fake;
}

export interface GatewaySpec {
  /** Used for the config and log file names. */
  name: string;
  port: number;
  config: Record<string, unknown>;
  logLevel?: string;
  /** Extra environment (e.g. REDIS_URL); REDIS_URL and SWITCHYARD_API_KEY are removed unless given here. */
  env?: Record<string, string>;
}

/** `node dist/main.js`, NODE_ENV=production, HOME and SWITCHYARD_CONFIG in the temp dir; waits for /health/ready. */
export async function startGatewayWith(o: ServiceOptions, spec: GatewaySpec): Promise<px.Child> {
  const configFile = join(o.tmp, `config-${spec.name}.json`);
  writeFileSync(configFile, JSON.stringify(spec.config, null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', LOG_LEVEL: spec.logLevel ?? 'warn' };
  delete env.REDIS_URL;
  delete env.SWITCHYARD_API_KEY;
  Object.assign(env, { PORT: String(spec.port), HOST: '127.0.0.1', SWITCHYARD_CONFIG: configFile, HOME: o.tmp }, spec.env ?? {});
  const gw = px.spawnChild(`gateway (${spec.name})`, process.execPath, [o.gatewayEntry ?? 'dist/main.js'], {
    cwd: o.root,
    env,
    logFile: join(o.tmp, `gateway-${spec.name}.log`),
  });
  await px.waitForHttp(`http://127.0.0.1:${spec.port}/health/ready`, gw);
  return gw;
}

export async function getJson<T>(url: string, timeoutMs = 5000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  }
  return JSON.parse(text) as T;
}

export async function postJson<T>(url: string, body: unknown, timeoutMs = 5000): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`POST ${url}: ${res.status} ${text.slice(0, 200)}`);
  }
  return JSON.parse(text) as T;
}

/** GET /__fake/stats of the fake provider. */
export interface FakeStats {
  requests: number;
  openai: number;
  anthropic: number;
  inFlight: number;
  maxInFlight: number;
  refusedConnections: number;
}

export const fakeStats = (origin: string) => getJson<FakeStats>(`${origin}/__fake/stats`);
export const fakeConfigure = (origin: string, behaviour: Record<string, unknown>) =>
  postJson<Record<string, unknown>>(`${origin}/__fake/configure`, behaviour);
export const fakeReset = (origin: string) => postJson<Record<string, unknown>>(`${origin}/__fake/reset`, {});

/**
 * CPU used by processes other than ours (the children in `pids` and this harness) while the meter runs, in
 * cores: other sessions' builds and tests on a shared box. `stop()` returns the average since `start`.
 */
export function otherLoadMeter(pids: number[]): { stop: () => number } {
  const ours = () => {
    const u = process.cpuUsage();
    let sum = u.user + u.system;
    for (const pid of pids) {
      try {
        sum += px.cpuMicros(pid);
      } catch {
        // exited meanwhile
      }
    }
    return sum;
  };
  const [m0, o0, t0] = [px.machineBusyMicros(), ours(), performance.now()];
  return {
    stop: () => Math.max(0, (px.machineBusyMicros() - m0 - (ours() - o0)) / ((performance.now() - t0) * 1000)),
  };
}
