import Anthropic from '@anthropic-ai/sdk';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Weather of a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

/** One target of each provider kind: the answer must look the same whatever serves it. */
const KINDS = [
  ['openai', 'openai,gpt-fake'],
  ['anthropic', 'anthropic,claude-fake'],
  ['gemini', 'gemini,gemini-fake'],
] as const;

describe('Anthropic SDK through the gateway', () => {
  let gw: GatewayUnderTest;
  let client: Anthropic;

  beforeAll(async () => {
    gw = await startGateway();
    client = new Anthropic({ baseURL: gw.url, apiKey: 'client-key', maxRetries: 0 });
  });
  afterAll(() => gw.stop());

  describe.each(KINDS)('%s kind', (kind, model) => {
    it('messages.create answers with a complete message', async () => {
      const msg = await client.messages.create({
        model,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(msg.type).toBe('message');
      expect(msg.role).toBe('assistant');
      expect(msg.content).toEqual([
        expect.objectContaining({ type: 'text', text: 'Hello from fake provider' }),
      ]);
      expect(msg.stop_reason).toBe('end_turn');
      expect(msg.usage.input_tokens).toBeGreaterThan(0);
      expect(msg.usage.output_tokens).toBeGreaterThan(0);
      const last = gw.fake.requests[gw.fake.requests.length - 1];
      expect(last.api).toBe(kind);
      // Upstreams are always called streaming (Failover.streamUpstream), so a hang hits the first-byte deadline.
      expect(last.stream).toBe(true);
    });

    it('messages.stream yields a final message with the tool input parsed', async () => {
      const stream = client.messages.stream({
        model,
        max_tokens: 200,
        tools: [WEATHER_TOOL],
        messages: [{ role: 'user', content: 'Weather please MOCK_TOOL_USE' }],
      });
      const types: string[] = [];
      stream.on('streamEvent', (ev) => types.push(ev.type));
      const final = await stream.finalMessage();
      expect(final.stop_reason).toBe('tool_use');
      const tool = final.content.find((b) => b.type === 'tool_use');
      expect(tool).toMatchObject({
        type: 'tool_use',
        name: 'get_weather',
        input: { city: expect.any(String) },
      });
      expect(tool?.type === 'tool_use' && tool.id).toMatch(/^[a-zA-Z0-9_-]+$/);
      expect(types[0]).toBe('message_start');
      expect(types).toContain('content_block_delta');
      expect(types[types.length - 1]).toBe('message_stop');
      expect(gw.fake.requests[gw.fake.requests.length - 1].stream).toBe(true);
    });

    it('a tool result round trip is accepted and answered', async () => {
      const first = await client.messages.create({
        model,
        max_tokens: 200,
        tools: [WEATHER_TOOL],
        messages: [{ role: 'user', content: 'MOCK_TOOL_USE' }],
      });
      const call = first.content.find((b) => b.type === 'tool_use');
      if (!call || call.type !== 'tool_use') {
        throw new Error('expected a tool call');
      }
      const second = await client.messages.create({
        model,
        max_tokens: 200,
        tools: [WEATHER_TOOL],
        messages: [
          { role: 'user', content: 'MOCK_TOOL_USE' },
          { role: 'assistant', content: first.content },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny, 21 degrees' }],
          },
        ],
      });
      expect(second.content[0]).toMatchObject({
        type: 'text',
        text: expect.stringContaining('sunny, 21 degrees'),
      });
    });
  });

  it('raw stream events follow the Anthropic grammar', async () => {
    const stream = await client.messages.create({
      model: 'openai,gpt-fake',
      max_tokens: 100,
      stream: true,
      // A prompt no other test sends: this checks the upstream's stream, not a cache replay.
      messages: [{ role: 'user', content: 'Hi, raw stream please' }],
    });
    const events: Anthropic.MessageStreamEvent[] = [];
    for await (const ev of stream) {
      events.push(ev);
    }
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const start = events[0] as Anthropic.RawMessageStartEvent;
    expect(start.message.content).toEqual([]);
    expect(start.message.usage.input_tokens).toBeGreaterThan(0);
    const delta = events[6] as Anthropic.RawMessageDeltaEvent;
    expect(delta.usage.output_tokens).toBe(20);
  });

  it('countTokens answers for every provider kind', async () => {
    for (const [, model] of KINDS) {
      const res = await client.messages.countTokens({
        model,
        system: 'You are terse.',
        messages: [{ role: 'user', content: 'How many tokens is this sentence?' }],
        tools: [WEATHER_TOOL],
      });
      expect(res.input_tokens).toBeGreaterThan(10);
    }
  });

  it('echoes the model the client asked for and says how the answer was routed', async () => {
    const { data, response } = await client.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    expect(data.model).toBe('claude-sonnet-4-5');
    expect(response.headers.get('x-switchyard-route')).toBe('default');
    expect(response.headers.get('x-switchyard-target')).toBe('openai,gpt-fake');
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });

  describe('errors become the SDK error classes', () => {
    const directive = (fault: object): string => `Hi [[fake:${JSON.stringify({ fault })}]]`;
    const cases: Array<[string, () => Promise<unknown>, unknown, number]> = [
      [
        '400',
        () => client.messages.create({ model: 'x', max_tokens: 0, messages: [] }),
        Anthropic.BadRequestError,
        400,
      ],
      [
        '404',
        () =>
          client.messages.create({
            model: 'nope,model',
            max_tokens: 5,
            messages: [{ role: 'user', content: 'x' }],
          }),
        Anthropic.NotFoundError,
        404,
      ],
      [
        '429',
        () =>
          client.messages.create({
            model: 'openai,gpt-fake',
            max_tokens: 5,
            messages: [{ role: 'user', content: directive({ type: 'status', status: 429, retryAfter: 7 }) }],
          }),
        Anthropic.RateLimitError,
        429,
      ],
      [
        '500',
        () =>
          client.messages.create({
            model: 'anthropic,claude-fake',
            max_tokens: 5,
            messages: [{ role: 'user', content: directive({ type: 'status', status: 500 }) }],
          }),
        Anthropic.InternalServerError,
        500,
      ],
      [
        '529',
        () =>
          client.messages.create({
            model: 'gemini,gemini-fake',
            max_tokens: 5,
            stream: true,
            messages: [{ role: 'user', content: directive({ type: 'status', status: 529 }) }],
          }),
        Anthropic.InternalServerError,
        529,
      ],
    ];
    it.each(cases)('%s', async (_name, call, errorClass, status) => {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(errorClass as new () => Error);
      expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(status);
    });

    it('401 with a gateway API key', async () => {
      const keyed = await startGateway({ userConfig: { APIKEY: 'right-key' } });
      try {
        const bad = new Anthropic({ baseURL: keyed.url, apiKey: 'wrong-key', maxRetries: 0 });
        await expect(
          bad.messages.create({
            model: 'openai,gpt-fake',
            max_tokens: 5,
            messages: [{ role: 'user', content: 'x' }],
          }),
        ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
        const good = new Anthropic({ baseURL: keyed.url, apiKey: 'right-key', maxRetries: 0 });
        const ok = await good.messages.create({
          model: 'openai,gpt-fake',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'x' }],
        });
        expect(ok.content.length).toBeGreaterThan(0);
      } finally {
        await keyed.stop();
      }
    });

    it('429 keeps the upstream retry-after and 529/503 become overloaded_error', async () => {
      // A fresh gateway: the 429 above put openai,gpt-fake into its retry-after cooldown on `gw`.
      const fresh = await startGateway();
      try {
        await expectUpstreamStatusMapping(fresh);
      } finally {
        await fresh.stop();
      }
    });
  });
});

async function expectUpstreamStatusMapping(gw: GatewayUnderTest): Promise<void> {
  const directive = (fault: object): string => `Hi [[fake:${JSON.stringify({ fault })}]]`;
  {
    {
      const limited = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'openai,gpt-fake',
          max_tokens: 5,
          stream: true,
          messages: [{ role: 'user', content: directive({ type: 'status', status: 429, retryAfter: 7 }) }],
        }),
      });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('7');
      expect(limited.headers.get('content-type')).toContain('application/json');
      expect(await limited.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
      // Other targets than the one the 429 just put into its retry-after cooldown.
      for (const [status, model] of [
        [503, 'anthropic,claude-fake'],
        [529, 'gemini,gemini-fake'],
      ] as const) {
        const res = await fetch(`${gw.url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model,
            max_tokens: 5,
            stream: true,
            messages: [{ role: 'user', content: directive({ type: 'status', status }) }],
          }),
        });
        expect(res.status).toBe(status);
        expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
      }
    }
  }
}
