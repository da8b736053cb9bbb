import OpenAI from 'openai';
import type { RecordedRequest } from '../fake-provider';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

/**
 * OpenAI request parameters through the gateway, as the upstream receives them (the fake records bodies):
 * OpenAI-compatible upstreams get the client's values unchanged, Anthropic ones what Anthropic accepts
 * (audit O-F5).
 */
describe('OpenAI request parameters reach the upstream', () => {
  let gw: GatewayUnderTest;
  let client: OpenAI;

  beforeAll(async () => {
    gw = await startGateway();
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });
  afterAll(() => gw.stop());
  beforeEach(() => gw.fake.reset());

  const lastUpstream = (): RecordedRequest => gw.fake.requests[gw.fake.requests.length - 1];
  const sampled = (
    model: string,
    content: string,
  ): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming => ({
    model,
    messages: [{ role: 'user', content }],
    max_tokens: 50,
    temperature: 1.7,
    top_p: 0.5,
    seed: 7,
    presence_penalty: 1,
    frequency_penalty: 1,
    tools: [
      {
        type: 'function',
        function: {
          name: 'f',
          parameters: {
            type: 'object',
            properties: { a: { type: 'string' } },
            required: ['a'],
            additionalProperties: false,
          },
          strict: true,
        },
      },
    ],
  });

  it('an OpenAI-compatible upstream gets temperature, top_p, seed, penalties and strict as sent', async () => {
    await client.chat.completions.create(sampled('openai,gpt-fake', 'sampling, openai'));
    const body = lastUpstream().body;
    expect(body).toMatchObject({
      temperature: 1.7,
      top_p: 0.5,
      seed: 7,
      presence_penalty: 1,
      frequency_penalty: 1,
    });
    expect(body.tools[0].function).toMatchObject({ name: 'f', strict: true });
    expect(body).not.toHaveProperty('openai_params');
  });

  it('an Anthropic upstream gets temperature clamped to 1 and nothing it does not know', async () => {
    await client.chat.completions.create(sampled('anthropic,claude-fake', 'sampling, anthropic'));
    const body = lastUpstream().body;
    expect(lastUpstream().api).toBe('anthropic');
    expect(body.temperature).toBe(1);
    for (const field of ['openai_params', 'seed', 'presence_penalty', 'frequency_penalty', 'top_p']) {
      expect(body).not.toHaveProperty(field);
    }
    expect(body.tools[0]).not.toHaveProperty('strict');
  });

  it('a Gemini upstream gets the temperature as sent', async () => {
    await client.chat.completions.create({
      model: 'gemini,gemini-fake',
      messages: [{ role: 'user', content: 'sampling, gemini' }],
      temperature: 1.7,
    });
    expect(lastUpstream().body.generationConfig).toMatchObject({ temperature: 1.7 });
  });

  it('requests that differ only in seed do not share a cache entry', async () => {
    const ask = (seed: number) =>
      client.chat.completions
        .create({ model: 'openai,gpt-fake', messages: [{ role: 'user', content: 'seeded' }], seed })
        .withResponse();
    expect((await ask(1)).response.headers.get('x-switchyard-cache')).toBe('MISS');
    expect((await ask(1)).response.headers.get('x-switchyard-cache')).toBe('HIT');
    expect((await ask(2)).response.headers.get('x-switchyard-cache')).toBe('MISS');
    expect(gw.fake.requests.map((r) => r.body.seed)).toEqual([1, 2]);
  });

  describe('response_format (audit O-F4)', () => {
    const jsonSchema = {
      name: 'answer',
      schema: {
        type: 'object',
        properties: { a: { type: 'string' } },
        required: ['a'],
        additionalProperties: false,
      },
      strict: true,
    };

    it('json_object and json_schema reach an OpenAI-compatible upstream as sent', async () => {
      await client.chat.completions.create({
        model: 'openai,gpt-fake',
        messages: [{ role: 'user', content: 'answer in JSON' }],
        response_format: { type: 'json_object' },
      });
      expect(lastUpstream().body.response_format).toEqual({ type: 'json_object' });
      await client.chat.completions.create({
        model: 'openai,gpt-fake',
        messages: [{ role: 'user', content: 'answer in JSON, with a schema' }],
        response_format: { type: 'json_schema', json_schema: jsonSchema },
      });
      expect(lastUpstream().body.response_format).toEqual({ type: 'json_schema', json_schema: jsonSchema });
    });

    it('a Gemini upstream gets the JSON mime type (and the schema)', async () => {
      await client.chat.completions.create({
        model: 'gemini,gemini-fake',
        messages: [{ role: 'user', content: 'answer in JSON, gemini' }],
        response_format: { type: 'json_object' },
      });
      expect(lastUpstream().body.generationConfig).toMatchObject({ responseMimeType: 'application/json' });
      await client.chat.completions.create({
        model: 'gemini,gemini-fake',
        messages: [{ role: 'user', content: 'answer in JSON with a schema, gemini' }],
        response_format: { type: 'json_schema', json_schema: jsonSchema },
      });
      expect(lastUpstream().body.generationConfig).toMatchObject({
        responseMimeType: 'application/json',
        responseSchema: { type: 'object', required: ['a'] },
      });
    });

    it('a third-party Anthropic upstream that would drop a required schema: 400, nothing sent', async () => {
      const err = await client.chat.completions
        .create({
          model: 'anthropic,claude-fake',
          messages: [{ role: 'user', content: 'answer in JSON, anthropic' }],
          response_format: { type: 'json_schema', json_schema: jsonSchema },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as Error).message).toMatch(/does not get structured outputs/);
      expect(gw.fake.requests).toHaveLength(0);
    });
  });

  describe('reasoning_effort (audit O-F6)', () => {
    it.each([
      ['medium', 8192, 12_288],
      ['high', 24_576, 28_672],
    ] as const)(
      '%s without max tokens: an Anthropic upstream gets budget %i of max_tokens %i',
      async (effort, budget, maxTokens) => {
        await client.chat.completions.create({
          model: 'anthropic,claude-fake',
          messages: [{ role: 'user', content: `think, ${effort}` }],
          reasoning_effort: effort,
        });
        expect(lastUpstream().body).toMatchObject({
          max_tokens: maxTokens,
          thinking: { type: 'enabled', budget_tokens: budget },
        });
      },
    );
  });
});
