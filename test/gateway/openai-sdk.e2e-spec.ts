import OpenAI from 'openai';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather of a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

describe('OpenAI SDK through the gateway', () => {
  let gw: GatewayUnderTest;
  let client: OpenAI;

  beforeAll(async () => {
    gw = await startGateway();
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });
  afterAll(() => gw.stop());

  it('non-stream with tools through an Anthropic-kind provider', async () => {
    const res = await client.chat.completions.create({
      model: 'anthropic,claude-fake',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris? MOCK_TOOL_USE' },
      ],
      tools: TOOLS,
    });
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('anthropic,claude-fake');
    const choice = res.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls?.[0];
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse((call as { function: { arguments: string } }).function.arguments)).toEqual({ city: expect.any(String) });
    expect(res.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: 20 });

    const upstream = gw.fake.requests[gw.fake.requests.length - 1];
    expect(upstream.api).toBe('anthropic');
    expect(upstream.body.system).toEqual([expect.objectContaining({ type: 'text', text: 'Be brief.' })]);
    expect(upstream.body.tools[0]).toMatchObject({ name: 'get_weather', input_schema: { type: 'object' } });
  });

  it('stream with include_usage through an Anthropic-kind provider, tool call assembled', async () => {
    const stream = await client.chat.completions.create({
      model: 'anthropic,claude-fake',
      messages: [{ role: 'user', content: 'MOCK_TOOL_USE' }],
      tools: TOOLS,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
    }
    const toolDeltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(toolDeltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather' } });
    const args = toolDeltas.map((d) => d.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ city: expect.any(String) });
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');
    const usageChunk = chunks[chunks.length - 1];
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ completion_tokens: 20 });
  });

  it('the SDK stream helper accumulates text', async () => {
    const runner = client.chat.completions.stream({
      model: 'openai,gpt-fake',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0].message.content).toBe('Hello from fake provider');
    expect(final.choices[0].finish_reason).toBe('stop');
  });

  it('a model name that is not provider,model goes through the router', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    expect(data.choices[0].message.content).toBe('Hello from fake provider');
    expect(response.headers.get('x-switchyard-route')).toBe('default');
    expect(response.headers.get('x-switchyard-target')).toBe('openai,gpt-fake');
  });

  it('lists models in the OpenAI shape for the OpenAI SDK', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['openai,gpt-fake', 'anthropic,claude-fake', 'gemini,gemini-fake']));
    expect(page.data[0].object).toBe('model');
  });

  describe('errors become the SDK error classes', () => {
    const withFault = (fault: object): string => `Hi [[fake:${JSON.stringify({ fault })}]]`;
    const cases: Array<[number, unknown, string, string]> = [
      [400, OpenAI.BadRequestError, 'openai,gpt-fake', 'bad'],
      [404, OpenAI.NotFoundError, 'unknown,provider', 'x'],
      [429, OpenAI.RateLimitError, 'anthropic,claude-fake', withFault({ type: 'status', status: 429, retryAfter: 3 })],
      [500, OpenAI.InternalServerError, 'gemini,gemini-fake', withFault({ type: 'status', status: 500 })],
      [529, OpenAI.InternalServerError, 'openai,gpt-fake', withFault({ type: 'status', status: 529 })],
    ];
    it.each(cases)('%d', async (status, errorClass, model, content) => {
      const body =
        content === 'bad'
          ? ({ model, messages: [] } as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming)
          : { model, messages: [{ role: 'user' as const, content }] };
      const err = await client.chat.completions.create(body).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(errorClass as new () => Error);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
      expect((err as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
    });

    it('401 with a gateway API key', async () => {
      const keyed = await startGateway({ userConfig: { APIKEY: 'right-key' } });
      try {
        const bad = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
        await expect(
          bad.chat.completions.create({ model: 'openai,gpt-fake', messages: [{ role: 'user', content: 'x' }] }),
        ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      } finally {
        await keyed.stop();
      }
    });
  });
});
