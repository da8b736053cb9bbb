import Anthropic from '@anthropic-ai/sdk';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

/**
 * The OpenAI path holds message_start back until the first content (so an error chunk before any content
 * can still fail over). The first-byte deadline must not move with it: the upstream's first SSE message (its
 * role-only chunk) answers it, so a slow prefill before the first token is not taken for a hang. An
 * upstream that sends nothing at all is still cut by it.
 */
describe('first-byte deadline on OpenAI-compatible upstreams', () => {
  let gw: GatewayUnderTest;
  let client: Anthropic;

  beforeAll(async () => {
    gw = await startGateway({
      config: {
        Failover: { timeout: 300 },
        AdaptiveTimeout: { idle: { k: 5, minMs: 100, maxMs: 5000 } },
        Cache: { enabled: false },
        Dedup: { enabled: false },
      },
    });
    client = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
  });
  afterAll(() => gw.stop());
  beforeEach(() => gw.fake.reset());

  it('a first token later than the deadline, after the role chunk, is a slow prefill: the answer completes', async () => {
    gw.fake.configure({ text: 'slow to think, then fine', chunkCount: 2, firstDeltaDelayMs: 900 });
    const msg = await client.messages.create({
      model: 'openai,gpt-fake',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'prefill takes a while' }],
    });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'slow to think, then fine' });
    const events: string[] = [];
    for await (const ev of client.messages.stream({
      model: 'openai,gpt-fake',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'prefill takes a while, streamed' }],
    })) {
      events.push(ev.type);
    }
    expect(events.at(-1)).toBe('message_stop');
  });

  it('an upstream that sends nothing is still cut by the first-byte deadline', async () => {
    gw.fake.configure({ fault: { type: 'hang' } });
    const err = (await client.messages
      .create({ model: 'openai,gpt-fake', max_tokens: 64, messages: [{ role: 'user', content: 'hang' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.status).toBe(504);
  });
});
