import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startFakeProvider, type FakeProvider } from './index';
import {
  anthropicBody,
  BASH_TOOL,
  dataLines,
  directive,
  jsonChunks,
  openaiBody,
  rawGet,
  rawPost,
  sseEvents,
} from './spec-helpers';

describe('fake provider: OpenAI and Anthropic APIs', () => {
  let fake: FakeProvider;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    fake = await startFakeProvider();
    openai = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'test', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: fake.url, apiKey: 'test', maxRetries: 0 });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  describe('OpenAI chat completions', () => {
    it('answers non-streaming with the default text and usage', async () => {
      const res = await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(res.object).toBe('chat.completion');
      expect(res.choices[0].message.content).toBe('Hello from fake provider');
      expect(res.choices[0].finish_reason).toBe('stop');
      expect(res.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 });
      expect(fake.requests[0]).toMatchObject({
        api: 'openai',
        path: '/v1/chat/completions',
        model: 'gpt-4o-mini',
        stream: false,
      });
      expect(fake.requests[0].body.messages[0].content).toBe('Hi');
    });

    it('streams deltas, a choices:[] usage chunk and [DONE]', async () => {
      fake.configure({ text: 'abcdef', chunkCount: 3, usage: { input: 7, output: 3, cacheRead: 4 } });
      const stream = await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const c of stream) {
        chunks.push(c);
      }
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('abcdef');
      expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBe(3);
      const last = chunks.at(-1)!;
      expect(last.choices).toEqual([]);
      expect(last.usage).toMatchObject({
        prompt_tokens: 11,
        completion_tokens: 3,
        prompt_tokens_details: { cached_tokens: 4 },
      });
      expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
      expect(fake.requests[0].stream).toBe(true);
    });

    it('omits the usage chunk without include_usage and also serves /chat/completions', async () => {
      const raw = await rawPost(fake.url, '/chat/completions', openaiBody('Hi', { stream: true }));
      expect(raw.headers['content-type']).toContain('text/event-stream');
      const chunks = jsonChunks(raw.text);
      expect(chunks.some((c) => c.choices.length === 0)).toBe(false);
      expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
      expect(dataLines(raw.text).at(-1)).toBe('[DONE]');
      expect(fake.count({ path: '/chat/completions' })).toBe(1);
    });

    it('answers MOCK_TOOL_USE with the first tool, arguments streamed as fragments (§5.4)', async () => {
      const tools = [
        { type: 'function' as const, function: { name: BASH_TOOL.name, parameters: BASH_TOOL.input_schema } },
      ];
      const final = await openai.chat.completions
        .stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'run it MOCK_TOOL_USE' }], tools })
        .finalChatCompletion();
      expect(final.choices[0].finish_reason).toBe('tool_calls');
      const call = final.choices[0].message.tool_calls![0];
      expect(call.type === 'function' && call.function.name).toBe('Bash');
      expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ command: 'echo hi' });

      const raw = jsonChunks(
        (
          await rawPost(fake.url, '/v1/chat/completions', {
            ...openaiBody('MOCK_TOOL_USE'),
            tools,
            stream: true,
          })
        ).text,
      );
      const toolDeltas = raw
        .filter((c) => c.choices[0]?.delta.tool_calls)
        .map((c) => c.choices[0].delta.tool_calls[0]);
      expect(toolDeltas[0]).toMatchObject({
        index: 0,
        type: 'function',
        function: { name: 'Bash', arguments: '' },
      });
      expect(toolDeltas[0].id).toMatch(/^call_/);
      expect(toolDeltas.length).toBeGreaterThan(2);
      expect(toolDeltas.slice(1).every((d) => d.id === undefined && d.index === 0)).toBe(true);
      expect(toolDeltas.map((d) => d.function.arguments).join('')).toBe('{"command":"echo hi"}');
    });

    it('defaults to get_weather(Paris) without tools, and streams reasoning_content', async () => {
      const res = await openai.chat.completions.create(
        openaiBody(`MOCK_TOOL_USE ${directive({ reasoning: 'hmm' })}`) as any,
      );
      const call = (res as any).choices[0].message.tool_calls[0];
      expect(call.function).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' });
      expect((res as any).choices[0].message.content).toBeNull();
      expect((res as any).choices[0].message.reasoning_content).toBe('hmm');
      const raw = jsonChunks(
        (
          await rawPost(
            fake.url,
            '/v1/chat/completions',
            openaiBody(directive({ reasoning: 'think' }), { stream: true }),
          )
        ).text,
      );
      expect(raw.map((c) => c.choices[0]?.delta.reasoning_content ?? '').join('')).toBe('think');
    });

    it('answers a tool result (role tool) with text so a tool loop ends', async () => {
      const res = await openai.chat.completions.create({
        model: 'gpt-4o',
        messages: [
          { role: 'user', content: 'MOCK_TOOL_USE' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'Bash', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'x'.repeat(100) },
        ],
      });
      expect(res.choices[0].message.content).toBe(`Tool result received: ${'x'.repeat(60)}`);
      expect(res.choices[0].message.tool_calls).toBeUndefined();
    });
  });

  describe('Anthropic messages', () => {
    it('answers non-streaming with a Message', async () => {
      const msg = await anthropic.messages.create(anthropicBody('Hi') as any);
      expect(msg).toMatchObject({
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-20250514',
        content: [{ type: 'text', text: 'Hello from fake provider' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: {
          input_tokens: 10,
          output_tokens: 20,
          cache_read_input_tokens: 0,
          cache_creation_input_tokens: 0,
        },
      });
      expect(fake.requests[0]).toMatchObject({ api: 'anthropic', path: '/v1/messages', stream: false });
    });

    it('streams thinking, text and tool_use that the SDK accumulates', async () => {
      const content = `MOCK_TOOL_USE ${directive({ reasoning: 'let me think', text: 'Running it.', usage: { input: 50, output: 9, cacheRead: 5 } })}`;
      const msg = await anthropic.messages
        .stream({ ...anthropicBody(content), tools: [BASH_TOOL] } as any)
        .finalMessage();
      expect(msg.content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
      expect(msg.content[0]).toMatchObject({ thinking: 'let me think' });
      expect((msg.content[0] as any).signature).toEqual(expect.any(String));
      expect(msg.content[1]).toMatchObject({ text: 'Running it.' });
      expect(msg.content[2]).toMatchObject({ name: 'Bash', input: { command: 'echo hi' } });
      expect((msg.content[2] as any).id).toMatch(/^toolu_[A-Za-z0-9_]+$/);
      expect(msg.stop_reason).toBe('tool_use');
      expect(msg.usage).toMatchObject({ input_tokens: 50, output_tokens: 9, cache_read_input_tokens: 5 });
    });

    it('follows the §3.2 grammar with event: lines on the wire', async () => {
      const body = {
        ...anthropicBody(`MOCK_TOOL_USE ${directive({ reasoning: 'abc', text: 'hi' })}`),
        stream: true,
        tools: [BASH_TOOL],
      };
      const raw = await rawPost(fake.url, '/v1/messages?beta=true', body);
      expect(raw.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(raw.headers['request-id']).toEqual(expect.any(String));
      const events = sseEvents(raw.text);
      expect(events.every((e) => e.event === e.data.type)).toBe(true);
      expect(events.map((e) => e.event).slice(0, 2)).toEqual(['message_start', 'ping']);
      expect(events[0].data.message).toMatchObject({ content: [], stop_reason: null, stop_sequence: null });
      expect(events.map((e) => e.event).slice(-2)).toEqual(['message_delta', 'message_stop']);
      expect(events.at(-2)!.data).toMatchObject({
        delta: { stop_reason: 'tool_use' },
        usage: { output_tokens: 20 },
      });
      const kinds = events
        .filter((e) => e.event === 'content_block_delta')
        .map((e) => `${e.data.index}:${e.data.delta.type}`);
      expect(kinds[kinds.indexOf('0:signature_delta') - 1]).toBe('0:thinking_delta');
      const afterSig = events[events.findIndex((e) => e.data.delta?.type === 'signature_delta') + 1];
      expect(afterSig.data).toEqual({ type: 'content_block_stop', index: 0 });
      const json = events
        .filter((e) => e.data.delta?.type === 'input_json_delta')
        .map((e) => e.data.delta.partial_json);
      expect(json[0]).toBe('');
      expect(json.join('')).toBe('{"command":"echo hi"}');
      expect(events.find((e) => e.data.content_block?.type === 'tool_use')!.data.content_block.input).toEqual(
        {},
      );
      expect(fake.requests[0].path).toBe('/v1/messages');
    });

    it('answers a tool_result turn with text', async () => {
      const msg = await anthropic.messages.create({
        model: 'claude-sonnet-4-20250514',
        max_tokens: 100,
        messages: [
          { role: 'user', content: 'MOCK_TOOL_USE' },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'echo hi' } }],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'hi\n' }] },
            ],
          },
        ],
        tools: [BASH_TOOL],
      } as any);
      expect(msg.content).toEqual([{ type: 'text', text: 'Tool result received: hi\n', citations: null }]);
      expect(msg.stop_reason).toBe('end_turn');
    });

    it('counts tokens and lists models in a shape both SDKs read', async () => {
      const counted = await anthropic.messages.countTokens({
        model: 'claude-sonnet-4-20250514',
        messages: [{ role: 'user', content: 'Hello there' }],
      });
      expect(counted.input_tokens).toBeGreaterThan(0);
      expect(fake.requests[0]).toMatchObject({ api: 'count_tokens', path: '/v1/messages/count_tokens' });
      const oModels = await openai.models.list();
      expect(oModels.data.map((m) => m.id)).toContain('fake-model');
      const aModels = await anthropic.models.list();
      expect(aModels.data[0]).toMatchObject({ type: 'model', id: 'fake-model' });
      expect(JSON.parse((await rawGet(fake.url, '/models')).text)).toMatchObject({
        object: 'list',
        data: expect.any(Array),
      });
      const one = await openai.models.retrieve('moonshotai/kimi-k2-instruct');
      expect(one).toMatchObject({ id: 'moonshotai/kimi-k2-instruct', object: 'model' });
      expect((await anthropic.models.retrieve('claude-x')).id).toBe('claude-x');
      expect(fake.count({ api: 'models' })).toBe(5);
    });
  });
});
