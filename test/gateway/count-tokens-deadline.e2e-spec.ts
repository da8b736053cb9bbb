import Anthropic from '@anthropic-ai/sdk';
import { eventually, startGateway, type GatewayUnderTest } from '../support/gateway';

/**
 * count_tokens asks an Anthropic-kind upstream under a deadline and follows the client (audit A-F5): a count
 * endpoint that never answers gives the local estimate after the target's first-byte deadline, not after
 * API_TIMEOUT_MS (600 s by default), and a client that leaves takes the upstream request with it.
 */
const body = {
  system: 'Count me.',
  messages: [{ role: 'user' as const, content: 'How many tokens is this question?' }],
};

describe('count_tokens against a hanging upstream count endpoint', () => {
  let gw: GatewayUnderTest;
  let client: Anthropic;

  beforeAll(async () => {
    gw = await startGateway({ config: { Failover: { timeout: 1000 } } });
    // The SDK would wait 10 minutes; 20 s is far below API_TIMEOUT_MS and far above the 1 s deadline.
    client = new Anthropic({ baseURL: gw.url, apiKey: 'client-key', maxRetries: 0, timeout: 20_000 });
  });
  afterAll(() => gw.stop());
  beforeEach(() => gw.fake.reset());

  it('answers with the local estimate once the deadline passes, and aborts the upstream call', async () => {
    // An OpenAI-kind target has no count endpoint: its answer is the local estimate of the same body.
    const local = await client.messages.countTokens({ model: 'openai,gpt-fake', ...body });
    expect(local.input_tokens).toBeGreaterThan(0);

    gw.fake.configure({ fault: { type: 'hang' } });
    const counted = await client.messages.countTokens({ model: 'anthropic,claude-fake', ...body });
    expect(counted).toEqual({ input_tokens: local.input_tokens });
    const upstream = gw.fake.requests.filter((r) => r.api === 'count_tokens');
    expect(upstream).toHaveLength(1);
    await eventually(() => upstream[0].closedByClient);
  });

  it('a healthy upstream count is still used', async () => {
    const counted = await client.messages.countTokens({ model: 'anthropic,claude-fake', ...body });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(gw.fake.requests.filter((r) => r.api === 'count_tokens')).toEqual([
      expect.objectContaining({ status: 200, closedByClient: false }),
    ]);
  });
});

describe('count_tokens when the client leaves', () => {
  let gw: GatewayUnderTest;
  let client: Anthropic;

  beforeAll(async () => {
    // A first-byte deadline of a minute: only the client's departure can end the upstream call early.
    gw = await startGateway({ config: { Failover: { timeout: 60_000 } } });
    client = new Anthropic({ baseURL: gw.url, apiKey: 'client-key', maxRetries: 0 });
  });
  afterAll(() => gw.stop());

  it('aborts the upstream count request', async () => {
    gw.fake.configure({ fault: { type: 'hang' } });
    const controller = new AbortController();
    const pending = client.messages.countTokens(
      { model: 'anthropic,claude-fake', ...body },
      { signal: controller.signal },
    );
    await gw.fake.waitFor((rs) => rs.some((r) => r.api === 'count_tokens'), 5000);
    expect(gw.fake.inFlight()).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow(Anthropic.APIUserAbortError);
    await gw.fake.waitFor((rs) => rs.some((r) => r.api === 'count_tokens' && r.closedByClient), 5000);
    expect(gw.fake.inFlight()).toBe(0);
  });
});
