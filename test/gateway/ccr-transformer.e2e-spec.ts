import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { DEFAULT_ROUTER, fakeProviders } from '../support/gateway';
import { startTestApp, type TestApp } from '../support/test-app';

// A CCR transformer (musistudio/llms contract) that answers { body, config }: the body goes upstream, to
// config.url, with config.headers over the usual ones.
const WRAPPED = `
module.exports = class {
  constructor(options) { this.name = 'wrapped'; this.options = options || {}; }
  async transformRequestIn(request, provider) {
    return {
      body: { ...request, plugin: this.options.tag },
      config: {
        url: new URL('/plugin/v1/chat/completions', provider.baseUrl),
        headers: { Authorization: 'Bearer plugin-token', 'X-Plugin': 'yes' },
      },
    };
  }
};
`;

describe('CCR custom transformer answering { body, config }', () => {
  let fake: FakeProvider;
  let app: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-ccr-transformer-'));
    const path = join(dir, 'wrapped.js');
    writeFileSync(path, WRAPPED);
    fake = await startFakeProvider();
    const providers = fakeProviders(fake.url).map((p) =>
      p.name === 'openai' ? { ...p, transformer: { use: [['wrapped', { tag: 't1' }]] } } : p,
    );
    app = await startTestApp({
      userConfig: { Providers: providers, Router: DEFAULT_ROUTER, transformers: [{ path }] },
    });
  });
  afterAll(async () => {
    await app.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the body, to config.url, with config.headers replacing ours case-insensitively', async () => {
    const before = fake.requests.length;
    const res = await fetch(`${app.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { content: Array<{ text: string }> }).content[0].text).toBe('Hello from fake provider');
    const [upstream] = fake.requests.slice(before);
    expect(upstream.path).toBe('/plugin/v1/chat/completions');
    expect(upstream.headers.authorization).toBe('Bearer plugin-token');
    expect(upstream.headers['x-plugin']).toBe('yes');
    expect(upstream.body).toMatchObject({ model: 'gpt-fake', plugin: 't1' });
    expect(upstream.body).not.toHaveProperty('config');
  });
});
