import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

/**
 * The total deadline bounds an answer slower than any healthy model, not a long one (audit O-F3): a fake
 * upstream streaming steadily for ~3 s, far past what the old formula allowed with these settings
 * (baseTimeout 1 s + 0.5 ms × (input + max_tokens) ≈ 1.1 s), completes; one that stops is still cut by
 * the idle deadline (1 s here, reset on every event), streamed or not.
 */
describe('long answers under the total and idle deadlines', () => {
  let gw: GatewayUnderTest;
  let openai: OpenAI;
  let anthropic: Anthropic;
  const steady = { textBytes: 300, chunkCount: 30, chunkGapMs: 100 };

  beforeAll(async () => {
    gw = await startGateway({
      config: {
        Failover: { timeout: 2000 },
        AdaptiveTimeout: { baseTimeout: 1000, idle: { k: 5, minMs: 100, maxMs: 1000 } },
        Cache: { enabled: false },
        Dedup: { enabled: false },
      },
    });
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'client-key', maxRetries: 0 });
  });
  afterAll(() => gw.stop());
  beforeEach(() => gw.fake.reset());

  it('a steady OpenAI stream longer than the old total completes', async () => {
    gw.fake.configure(steady);
    const stream = await openai.chat.completions.create({
      model: 'openai,gpt-fake',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'a long answer, streamed' }],
      stream: true,
    });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toHaveLength(300);
    expect(finish).toBe('stop');
    expect(gw.fake.requests[0]).toMatchObject({ api: 'openai', stream: true, closedByClient: false });
  });

  it('the same answer to a non-stream client completes instead of a 504', async () => {
    gw.fake.configure(steady);
    const res = await openai.chat.completions.create({
      model: 'openai,gpt-fake',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'a long answer, in one piece' }],
    });
    expect(res.choices[0].message.content).toHaveLength(300);
    expect(res.choices[0].finish_reason).toBe('stop');
  });

  it('a steady Anthropic stream through /v1/messages completes', async () => {
    gw.fake.configure(steady);
    const stream = anthropic.messages.stream({
      model: 'anthropic,claude-fake',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'a long answer from claude' }],
    });
    const message = await stream.finalMessage();
    expect(message.stop_reason).toBe('end_turn');
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: expect.any(String) })]);
    expect((message.content[0] as { text: string }).text).toHaveLength(300);
  });

  it('a stream that stalls after its first event is cut by the idle deadline', async () => {
    gw.fake.configure({ ...steady, fault: { type: 'stall-after-first-byte' } });
    const stream = await openai.chat.completions.create({
      model: 'openai,gpt-fake',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'an answer that stops, streamed' }],
      stream: true,
    });
    const read = async (): Promise<void> => {
      for await (const chunk of stream) {
        void chunk;
      }
    };
    await expect(read()).rejects.toThrow(/idle deadline of 1000 ms exceeded/);
    await gw.fake.waitFor((rs) => rs.some((r) => r.closedByClient), 5000);
  });

  it('a non-stream answer that stalls is cut by the idle deadline too (504 timeout_error)', async () => {
    gw.fake.configure({ ...steady, fault: { type: 'stall-after-first-byte' } });
    const err = await openai.chat.completions
      .create({
        model: 'openai,gpt-fake',
        max_tokens: 200,
        messages: [{ role: 'user', content: 'an answer that stops, in one piece' }],
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: 504, type: 'timeout_error' });
    expect((err as Error).message).toMatch(/idle deadline of 1000 ms exceeded/);
    await gw.fake.waitFor((rs) => rs.some((r) => r.closedByClient), 5000);
  });
});
