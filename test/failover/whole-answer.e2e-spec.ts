import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * A non-stream client sees nothing until the answer is complete, so an upstream that breaks halfway is failed
 * over for it like one that never answered (docs/failover.md, trigger `mid_answer`); a streaming client already
 * has the first events and gets the terminal error instead — unless `Failover.resume` is on (stream-resume spec).
 */
describe('failover of answers that break halfway (SDK clients)', () => {
  let cutting: FakeProvider;
  let healthy: FakeProvider;
  let app: TestApp;

  beforeAll(async () => {
    cutting = await startFakeProvider({ defaults: { fault: { type: 'cut' }, chunkCount: 6 } });
    healthy = await startFakeProvider();
    const provider = (name: string, fake: FakeProvider) => ({
      name,
      api_base_url: `${fake.url}/v1/chat/completions`,
      api_key: `${name}-key`,
      models: ['m1'],
    });
    app = await startTestApp({
      userConfig: {
        Providers: [provider('cutting', cutting), provider('healthy', healthy)],
        Router: { default: ['cutting,m1', 'healthy,m1'], longContextThreshold: 60000 },
        Failover: { breaker: { consecutiveFailures: 1000, minRequests: 1000 } },
        Cache: { enabled: false },
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([cutting.close(), healthy.close()]);
  });

  it('Anthropic SDK, non-stream: the answer comes whole from the fallback', async () => {
    const client = new Anthropic({ baseURL: app.url, apiKey: 'k', maxRetries: 0 });
    const { data, response } = await client.messages
      .create({ model: 'claude-x', max_tokens: 64, messages: [{ role: 'user', content: 'whole please' }] })
      .withResponse();
    expect(data.content).toEqual([expect.objectContaining({ type: 'text', text: 'Hello from fake provider' })]);
    expect(response.headers.get('x-switchyard-target')).toBe('healthy,m1');
    expect(response.headers.get('x-switchyard-attempts')).toBe('2');
    expect(cutting.requests.length).toBeGreaterThan(0);
  });

  it('OpenAI SDK, non-stream: the same', async () => {
    const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const done = await client.chat.completions.create({
      model: 'gpt-x',
      messages: [{ role: 'user', content: 'whole please, openai' }],
    });
    expect(done.choices[0].message.content).toBe('Hello from fake provider');
  });

  it('Anthropic SDK, stream: the stream started on the primary ends with an error event (Failover.resume off)', async () => {
    const client = new Anthropic({ baseURL: app.url, apiKey: 'k', maxRetries: 0 });
    const stream = client.messages.stream({
      model: 'claude-x',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'stream please' }],
    });
    await expect(stream.finalMessage()).rejects.toThrow();
    const calls = healthy.requests.filter((r) => JSON.stringify(r.body).includes('stream please'));
    expect(calls).toHaveLength(0);
  });
});
