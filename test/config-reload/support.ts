import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeProvider, type FakeBehaviour, type FakeProvider } from '../fake-provider';
import { startTestApp, type TestApp } from '../support/test-app';

/** Secrets configured in every rig: no answer of the gateway may contain any of them. */
export const SECRETS = {
  gateway: 'gw-secret-key-0001',
  alpha: 'sk-alpha-secret-0002',
  beta: 'sk-beta-secret-0003',
  header: 'hdr-secret-0004',
  redis: 'redis-pass-secret-0005',
  tracing: 'otel-secret-0006',
  client: 'client-limit-secret-0007',
} as const;

export type UserConfig = Record<string, unknown>;

export interface ReloadRig extends TestApp {
  /** Providers `alpha` (model a-model) and `beta` (model b-model), each its own fake upstream. */
  alpha: FakeProvider;
  beta: FakeProvider;
  /** The user config file the gateway was started with (SWITCHYARD_CONFIG). */
  file: string;
  /** The configuration the rig started with, plus `extra` (shallow, top level). */
  config(extra?: UserConfig): UserConfig;
  /** Saves the file the way editors do: a new file renamed over the old one. */
  save(config: UserConfig | string): void;
  /** A request with the gateway key. */
  api(method: 'GET' | 'POST', path: string, key?: string | null): Promise<Response>;
  /** One non-stream /v1/messages call with the gateway key (never a cache hit). */
  message(model?: string): Promise<Response>;
  stop(): Promise<void>;
}

export interface RigOptions {
  watch?: boolean;
  alpha?: Partial<FakeBehaviour>;
  beta?: Partial<FakeBehaviour>;
  /** Merged over the base user configuration (top level). */
  extra?: UserConfig;
}

export function provider(name: string, fake: FakeProvider, model: string, key: string): UserConfig {
  return { name, api_base_url: `${fake.url}/v1/chat/completions`, api_key: key, models: [model] };
}

/** A gateway whose user config file the test owns and rewrites, over two fake upstreams. */
export async function startReloadRig(options: RigOptions = {}): Promise<ReloadRig> {
  const alpha = await startFakeProvider({ defaults: options.alpha });
  const beta = await startFakeProvider({ defaults: options.beta });
  const dir = mkdtempSync(join(tmpdir(), 'sy-reload-'));
  const file = join(dir, 'config.json');
  const base: UserConfig = {
    APIKEY: SECRETS.gateway,
    Providers: [
      { ...provider('alpha', alpha, 'a-model', SECRETS.alpha), headers: { 'x-custom-auth': SECRETS.header } },
      provider('beta', beta, 'b-model', SECRETS.beta),
    ],
    Router: { default: 'alpha,a-model', longContextThreshold: 60000 },
    Server: { pingIntervalMs: 10_000 },
    Redis: { password: SECRETS.redis },
    Tracing: { headers: { authorization: `Bearer ${SECRETS.tracing}` } },
    RateLimit: { keys: { [SECRETS.client]: { rpm: 100 } } },
    Reload: { watch: options.watch ?? false, debounceMs: 50 },
    ...(options.extra ?? {}),
  };
  const save = (config: UserConfig | string): void => {
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
    renameSync(tmp, file);
  };
  save(base);
  let sent = 0;
  const app = await startTestApp({ env: { SWITCHYARD_CONFIG: file } });
  const api = (
    method: 'GET' | 'POST',
    path: string,
    key: string | null = SECRETS.gateway,
  ): Promise<Response> => fetch(`${app.url}${path}`, { method, headers: key ? { 'x-api-key': key } : {} });
  return {
    ...app,
    alpha,
    beta,
    file,
    config: (extra = {}) => ({ ...structuredClone(base), ...extra }),
    save,
    api,
    message: (model = 'claude-sonnet-4') =>
      fetch(`${app.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.gateway },
        // A new text every time: the response cache must not answer in place of the upstream.
        body: JSON.stringify({
          model,
          max_tokens: 50,
          messages: [{ role: 'user', content: `Hi ${++sent}` }],
        }),
      }),
    stop: async () => {
      await app.close();
      await Promise.all([alpha.close(), beta.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sums `switchyard_config_reloads_total` for one result from the Prometheus text. */
export async function reloadCount(
  rig: TestApp,
  result: 'applied' | 'unchanged' | 'rejected',
): Promise<number> {
  const text = await (await fetch(`${rig.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`switchyard_config_reloads_total{result="${result}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}
