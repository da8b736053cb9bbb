import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startGateway, type GatewayUnderTest } from '../support/gateway';

const FN = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } };
const TOOLS = [{ type: 'function' as const, function: FN }];
const hi = [{ role: 'user' as const, content: 'hi' }];

/** Values OpenAI itself answers 400 for: the gateway answers the same, naming the field in `param`. */
const OPENAI_BAD: Array<[string, Record<string, unknown>, string]> = [
  ['temperature above 2', { temperature: 5 }, 'temperature'],
  ['temperature below 0', { temperature: -0.5 }, 'temperature'],
  ['top_p above 1', { top_p: 1.5 }, 'top_p'],
  ['presence_penalty above 2', { presence_penalty: 3 }, 'presence_penalty'],
  ['frequency_penalty below -2', { frequency_penalty: -3 }, 'frequency_penalty'],
  ['n = 2 (unsupported)', { n: 2 }, 'n'],
  ['n = 0', { n: 0 }, 'n'],
  ['five stop sequences', { stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
  ['stop a number', { stop: 5 }, 'stop'],
  ['an unknown tool_choice string', { tools: TOOLS, tool_choice: 'bogus' }, 'tool_choice'],
  ['an unknown tool_choice shape', { tools: TOOLS, tool_choice: { type: 'bogus' } }, 'tool_choice.type'],
  [
    'tool_choice naming a tool that is not sent',
    { tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } },
    'tool_choice.function.name',
  ],
  ['an unknown reasoning_effort', { reasoning_effort: 'bogus' }, 'reasoning_effort'],
  ['an unknown response_format type', { response_format: { type: 'xml' } }, 'response_format.type'],
  ['a custom tool', { tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0].type'],
  ['a tool without a name', { tools: [{ type: 'function', function: {} }] }, 'tools[0].function.name'],
  ['legacy functions together with tools', { tools: TOOLS, functions: [FN] }, 'functions'],
  ['an invalid legacy function_call', { functions: [FN], function_call: 'bogus' }, 'function_call'],
  [
    'an unsupported content part',
    { messages: [{ role: 'user', content: [{ type: 'bogus' }] }] },
    'messages[0].content[0].type',
  ],
];

describe('request parameters', () => {
  let gw: GatewayUnderTest;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    gw = await startGateway();
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k' });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'k' });
  });
  afterAll(() => gw.stop());

  describe('OpenAI ingress', () => {
    it.each(OPENAI_BAD)('%s → 400 with param', async (_name, extra, param) => {
      const before = gw.fake.requests.length;
      const err = await openai.chat.completions
        .create({ model: 'openai,gpt-fake', messages: hi, ...extra } as never)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      const bad = err as InstanceType<typeof OpenAI.BadRequestError>;
      expect({ status: bad.status, type: bad.type, param: bad.param }).toEqual({
        status: 400,
        type: 'invalid_request_error',
        param,
      });
      expect(bad.message).toContain(`${param}: `);
      expect(gw.fake.requests.length).toBe(before);
    });

    it('values at the edges of the ranges still pass', async () => {
      const res = await openai.chat.completions.create({
        model: 'openai,gpt-fake',
        messages: [{ role: 'user', content: 'edge values' }],
        temperature: 0,
        top_p: 1,
        presence_penalty: -2,
        frequency_penalty: 2,
        n: 1,
        stop: ['a', 'b', 'c', 'd'],
        reasoning_effort: 'none',
        tools: TOOLS,
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      });
      expect(res.choices[0].finish_reason).toBeDefined();
    });

    it('every 400 whose message names a field carries it as param (conversion errors too)', async () => {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openai,gpt-fake', messages: [{ role: 'tool', content: 'x' }] }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: {
          message: expect.stringMatching(/^messages\[0\]\.tool_call_id: /),
          type: 'invalid_request_error',
          param: 'messages[0].tool_call_id',
          code: null,
        },
      });
    });

    describe('legacy functions / function_call become tools / tool_choice', () => {
      it.each([
        ['openai', 'openai,gpt-fake'],
        ['anthropic', 'anthropic,claude-fake'],
      ])('%s upstream gets the tools and the forced choice', async (kind, model) => {
        const res = await openai.chat.completions.create({
          model,
          messages: [{ role: 'user', content: `Weather in Paris? MOCK_TOOL_USE ${kind}` }],
          functions: [FN],
          function_call: { name: 'get_weather' },
        });
        const upstream = gw.fake.requests.at(-1)?.body as Record<string, any>;
        if (kind === 'openai') {
          expect(upstream.tools).toEqual([
            { type: 'function', function: expect.objectContaining({ name: 'get_weather' }) },
          ]);
          expect(upstream.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
        } else {
          expect(upstream.tools).toEqual([
            expect.objectContaining({ name: 'get_weather', input_schema: expect.any(Object) }),
          ]);
          expect(upstream.tool_choice).toEqual({
            type: 'tool',
            name: 'get_weather',
            disable_parallel_tool_use: true,
          });
        }
        // The answer uses the legacy shape, as OpenAI answers a `functions` request: one function_call.
        const message = res.choices[0].message;
        expect(message.tool_calls).toBeUndefined();
        expect(message.function_call).toEqual({ name: 'get_weather', arguments: expect.any(String) });
        expect(JSON.parse(message.function_call!.arguments)).toEqual(expect.any(Object));
        expect(res.choices[0].finish_reason).toBe('function_call');
      });

      it('a streamed legacy answer carries delta.function_call and finish_reason "function_call"', async () => {
        const stream = await openai.chat.completions.create({
          model: 'openai,gpt-fake',
          messages: [{ role: 'user', content: 'Weather in Rome, streamed? MOCK_TOOL_USE openai' }],
          functions: [FN],
          function_call: { name: 'get_weather' },
          stream: true,
        });
        let name = '';
        let args = '';
        const finishes: unknown[] = [];
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          expect(choice?.delta).not.toHaveProperty('tool_calls');
          name += choice?.delta.function_call?.name ?? '';
          args += choice?.delta.function_call?.arguments ?? '';
          if (choice?.finish_reason) {
            finishes.push(choice.finish_reason);
          }
        }
        expect(name).toBe('get_weather');
        expect(JSON.parse(args)).toEqual(expect.any(Object));
        expect(finishes).toEqual(['function_call']);
        // Legacy function calling makes one call at a time.
        expect((gw.fake.requests.at(-1)?.body as Record<string, unknown>).parallel_tool_calls).toBe(false);
      });

      it('a request with tools (not functions) keeps the current tool_calls shape', async () => {
        const res = await openai.chat.completions.create({
          model: 'openai,gpt-fake',
          messages: [{ role: 'user', content: 'Weather in Paris? MOCK_TOOL_USE openai' }],
          tools: TOOLS,
          tool_choice: { type: 'function', function: { name: 'get_weather' } },
        });
        expect(res.choices[0].message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather' } });
        expect(res.choices[0].message.function_call).toBeUndefined();
        expect(res.choices[0].finish_reason).toBe('tool_calls');
      });

      it('a legacy history (assistant function_call + role "function") is forwarded as a tool call and its result', async () => {
        await openai.chat.completions.create({
          model: 'openai,gpt-fake',
          functions: [FN],
          messages: [
            { role: 'user', content: 'Weather in Paris?' },
            {
              role: 'assistant',
              content: null,
              function_call: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            { role: 'function', name: 'get_weather', content: 'sunny' },
          ],
        });
        const messages = (gw.fake.requests.at(-1)?.body as { messages: any[] }).messages;
        const call = messages.find((m) => m.role === 'assistant');
        expect(call.tool_calls).toEqual([
          {
            id: expect.any(String),
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ]);
        expect(messages.find((m) => m.role === 'tool')).toEqual({
          role: 'tool',
          tool_call_id: call.tool_calls[0].id,
          content: 'sunny',
        });
      });
    });
  });

  describe('Anthropic ingress', () => {
    it.each([
      ['temperature above 1', { temperature: 1.5 }, 'temperature'],
      ['temperature below 0', { temperature: -1 }, 'temperature'],
      ['top_p above 1', { top_p: 2 }, 'top_p'],
    ])('%s → 400 invalid_request_error', async (_name, extra, field) => {
      const err = await anthropic.messages
        .create({ model: 'openai,gpt-fake', max_tokens: 8, messages: hi, ...extra })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      const bad = err as InstanceType<typeof Anthropic.BadRequestError>;
      expect(bad.error).toEqual({
        type: 'error',
        error: { type: 'invalid_request_error', message: `${field}: must be a number between 0 and 1` },
        request_id: expect.any(String),
      });
    });

    it('temperature 1 passes', async () => {
      // SDK 1.x typings dropped temperature (PROTOCOL.md §1.2); older clients still send it.
      const msg: Anthropic.Message = await anthropic.messages.create({
        model: 'openai,gpt-fake',
        max_tokens: 8,
        temperature: 1,
        messages: [{ role: 'user', content: 'temperature one' }],
      } as never);
      expect(msg.type).toBe('message');
    });
  });
});
