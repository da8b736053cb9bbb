import { startFakeProvider, type FakeBehaviour, type FakeProvider } from '../fake-provider';
import { startTestApp, type TestApp, type TestAppOptions } from './test-app';

export interface GatewayUnderTest extends TestApp {
  fake: FakeProvider;
  /** Stops the gateway and the fake provider. */
  stop(): Promise<void>;
}

/**
 * The providers every e2e test can use: one of each kind, all served by the same fake provider.
 * `openai,gpt-fake` is the default route, `anthropic,claude-fake` answers thinking requests,
 * `openai,haiku-fake` background ones.
 */
export function fakeProviders(fakeUrl: string): Record<string, unknown>[] {
  return [
    { name: 'openai', api_base_url: `${fakeUrl}/v1/chat/completions`, api_key: 'sk-openai-test', models: ['gpt-fake', 'haiku-fake', 'long-fake'] },
    {
      name: 'anthropic',
      api_base_url: `${fakeUrl}/v1/messages`,
      api_key: 'sk-ant-test',
      models: ['claude-fake'],
      transformer: { use: ['Anthropic'] },
    },
    {
      name: 'gemini',
      api_base_url: `${fakeUrl}/v1beta/models/`,
      api_key: 'gemini-test',
      models: ['gemini-fake'],
      transformer: { use: ['gemini'] },
    },
  ];
}

export const DEFAULT_ROUTER = {
  default: 'openai,gpt-fake',
  background: 'openai,haiku-fake',
  think: 'anthropic,claude-fake',
  longContext: 'openai,long-fake',
  longContextThreshold: 60000,
  webSearch: 'gemini,gemini-fake',
  image: 'anthropic,claude-fake',
};

export interface GatewayOptions extends TestAppOptions {
  fakeDefaults?: Partial<FakeBehaviour>;
  router?: Record<string, unknown>;
  /** Merged into the user config (after Providers and Router). */
  config?: Record<string, unknown>;
}

/** A fake provider plus a real gateway configured for it, both on loopback. */
export async function startGateway(options: GatewayOptions = {}): Promise<GatewayUnderTest> {
  const fake = await startFakeProvider({ defaults: options.fakeDefaults });
  const userConfig = {
    Providers: fakeProviders(fake.url),
    Router: { ...DEFAULT_ROUTER, ...(options.router ?? {}) },
    Server: { pingIntervalMs: 10_000 },
    ...(options.config ?? {}),
    ...(options.userConfig ?? {}),
  };
  const app = await startTestApp({ ...options, userConfig });
  return {
    ...app,
    fake,
    stop: async () => {
      await app.close();
      await fake.close();
    },
  };
}

/** Polls until `check` holds (for asynchronous effects such as the fake seeing a socket close). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await Promise.resolve(check()).catch(() => false)) {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met in time');
}
