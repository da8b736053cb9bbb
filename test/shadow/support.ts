import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { AppConfigService } from '../../src/config/config.service';
import type { SwitchyardConfig } from '../../src/config/config.schema';
import type { ShadowView } from '../../src/shadow/shadow.service';
import { startFakeProvider, type FakeBehaviour, type FakeProvider } from '../fake-provider';
import { DEFAULT_ROUTER, eventually, fakeProviders } from '../support/gateway';
import { startTestApp, type TestApp } from '../support/test-app';

export { eventually };

export const KEY = 'shadow-test-key';
export const TRIAL = 'trial,trial-fake';

type ShadowSettings = SwitchyardConfig['Shadow'];

export interface ShadowRig extends TestApp {
  /** Serves every primary target. */
  fake: FakeProvider;
  /** Serves only the shadow target `trial,trial-fake`. */
  trial: FakeProvider;
  anthropic: Anthropic;
  openai: OpenAI;
  view(query?: string): Promise<ShadowView>;
  /** Swaps the Shadow section at runtime, the way a hot reload does. */
  setShadow(changes: Partial<ShadowSettings>): void;
  api(method: string, path: string, opts?: { key?: string | null; body?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * A gateway with two fake providers: the usual one behind every routed target and a second one behind the
 * trial target the copies go to, so each side's traffic and faults are separate. Health probes are off (they
 * would show up in the fakes' logs), the event-loop gate is wide (the test machine is busy), and every route
 * needs the API key.
 */
export async function startShadowRig(
  opts: {
    shadow?: Partial<ShadowSettings>;
    config?: Record<string, unknown>;
    trial?: Partial<FakeBehaviour>;
  } = {},
): Promise<ShadowRig> {
  const fake = await startFakeProvider();
  const trial = await startFakeProvider({ defaults: opts.trial });
  const shadow: ShadowSettings = {
    enabled: true,
    share: 1,
    target: TRIAL,
    features: {},
    maxConcurrent: 16,
    maxLagMs: 60_000,
    keep: 50,
    timeoutMs: 10_000,
    ...opts.shadow,
  };
  const app = await startTestApp({
    userConfig: {
      APIKEY: KEY,
      Providers: [
        ...fakeProviders(fake.url),
        {
          name: 'trial',
          api_base_url: `${trial.url}/v1/chat/completions`,
          api_key: 'sk-trial',
          models: ['trial-fake'],
        },
      ],
      Router: DEFAULT_ROUTER,
      Server: { pingIntervalMs: 10_000 },
      Failover: { health: { enabled: false } },
      Shadow: shadow,
      ...(opts.config ?? {}),
    },
  });
  const api: ShadowRig['api'] = (method, path, o = {}) =>
    fetch(`${app.url}${path}`, {
      method,
      headers: {
        ...(o.key === null ? {} : { 'x-api-key': o.key ?? KEY }),
        ...(o.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
  const config = app.app.get(AppConfigService);
  return {
    ...app,
    fake,
    trial,
    anthropic: new Anthropic({ baseURL: app.url, apiKey: KEY, maxRetries: 0 }),
    openai: new OpenAI({ baseURL: `${app.url}/v1`, apiKey: KEY, maxRetries: 0 }),
    api,
    view: async (query = '') => (await (await api('GET', `/api/shadow${query}`)).json()) as ShadowView,
    setShadow: (changes) =>
      config.replace({
        ...config.meta,
        config: { ...config.all, Shadow: { ...config.get('Shadow'), ...changes } },
      }),
    stop: async () => {
      await app.close();
      await Promise.all([fake.close(), trial.close()]);
    },
  };
}

/** Waits until `n` comparisons are recorded; returns the view. */
export async function comparisons(rig: ShadowRig, n: number, timeoutMs = 15_000): Promise<ShadowView> {
  let view: ShadowView | undefined;
  await eventually(async () => {
    view = await rig.view();
    return view.recent.length >= n;
  }, timeoutMs);
  return view as ShadowView;
}

/** A prompt no other test sends (no cache or coalescing between tests). */
let seq = 0;
export const prompt = (what: string): string => `${what} #${(seq += 1)} ${Date.now()}`;
