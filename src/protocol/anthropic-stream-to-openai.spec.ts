import { messageToEvents } from './accumulate';
import {
  AnthropicToOpenAIChunks,
  type OpenAIChunkOptions,
  type OpenAIStreamItem,
} from './anthropic-stream-to-openai';
import { SseParser, encodeAnthropicEvent } from './sse';
import type { MessageResponse, StreamEvent } from './types';

/** api.anthropic.com capture (PROTOCOL §3.3): text + 2 parallel tools, as wire text with a ping and padded JSON. */
const CAPTURE_3_3: StreamEvent[] = [
  {
    type: 'message_start',
    message: {
      id: 'msg_01Sp',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-20250514',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 502,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 4,
      },
    },
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: "I'll add an" } },
  { type: 'ping' },
  { type: 'content_block_stop', index: 0 },
  {
    type: 'content_block_start',
    index: 1,
    content_block: { type: 'tool_use', id: 'toolu_01GrN', name: 'add', input: {} },
  },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a": ' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '2' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: ', "b": 3}' } },
  { type: 'content_block_stop', index: 1 },
  {
    type: 'content_block_start',
    index: 2,
    content_block: { type: 'tool_use', id: 'toolu_0113', name: 'multiply', input: {} },
  },
  {
    type: 'content_block_delta',
    index: 2,
    delta: { type: 'input_json_delta', partial_json: '{"a": 2, "b": 3}' },
  },
  { type: 'content_block_stop', index: 2 },
  {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null },
    usage: {
      input_tokens: 502,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 137,
    },
  },
  { type: 'message_stop' },
];

const OPTS: OpenAIChunkOptions = {
  model: 'gpt-4o',
  id: 'chatcmpl-test',
  created: 1760704577,
  includeUsage: true,
};
const base = { id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1760704577, model: 'gpt-4o' };
const chunk = (delta: object, finish: string | null = null, usageKey = true) => ({
  ...base,
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  ...(usageKey ? { usage: null } : {}),
});

function convert(events: StreamEvent[], opts: Partial<OpenAIChunkOptions> = {}): OpenAIStreamItem[] {
  const conv = new AnthropicToOpenAIChunks({ ...OPTS, ...opts });
  return events.flatMap((ev) => conv.push(ev));
}

describe('Anthropic events → OpenAI chunks (PROTOCOL §6.10)', () => {
  it('13. capture 3.3 replayed: tool indices 0 and 1, finish tool_calls, usage 502/137, [DONE]', () => {
    // Through the real wire path: encoded, padded the way api.anthropic.com pads, re-parsed.
    const wire = CAPTURE_3_3.map(encodeAnthropicEvent).join('').replace(/\n\n/g, '   \n\n');
    const parser = new SseParser();
    const events = [...parser.push(wire), ...parser.end()].map((m) => JSON.parse(m.data) as StreamEvent);
    expect(convert(events)).toEqual([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: "I'll add an" }),
      chunk({
        tool_calls: [
          { index: 0, id: 'toolu_01GrN', type: 'function', function: { name: 'add', arguments: '' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a": ' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '2' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ', "b": 3}' } }] }),
      chunk({
        tool_calls: [
          { index: 1, id: 'toolu_0113', type: 'function', function: { name: 'multiply', arguments: '' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '{"a": 2, "b": 3}' } }] }),
      chunk({}, 'tool_calls'),
      {
        ...base,
        choices: [],
        usage: {
          prompt_tokens: 502,
          completion_tokens: 137,
          total_tokens: 639,
          prompt_tokens_details: { cached_tokens: 0 },
        },
      },
      '[DONE]',
    ]);
  });

  it('without include_usage: no usage key and no usage chunk', () => {
    const out = convert(CAPTURE_3_3, { includeUsage: false });
    expect(out.at(0)).toEqual(chunk({ role: 'assistant', content: '' }, null, false));
    expect(out.slice(-2)).toEqual([chunk({}, 'tool_calls', false), '[DONE]']);
    expect(out.some((c) => typeof c === 'object' && 'usage' in c)).toBe(false);
  });

  const thinkingMessage: MessageResponse = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude',
    content: [
      { type: 'thinking', thinking: 'hmm', signature: 'sig' },
      { type: 'text', text: 'Hi' },
    ],
    stop_reason: 'max_tokens',
    stop_sequence: null,
    usage: { input_tokens: 5, output_tokens: 7, cache_creation_input_tokens: 2, cache_read_input_tokens: 3 },
  };

  it.each([
    ['reasoning_content (default)', undefined, [chunk({ reasoning_content: 'hmm' })]],
    ['reasoning', 'reasoning' as const, [chunk({ reasoning: 'hmm' })]],
    ['dropped', null, []],
  ])('thinking → %s; cache tokens counted into prompt_tokens', (_name, reasoningField, reasoningChunks) => {
    expect(convert(messageToEvents(thinkingMessage), { reasoningField })).toEqual([
      chunk({ role: 'assistant', content: '' }),
      ...reasoningChunks,
      chunk({ content: 'Hi' }),
      chunk({}, 'length'),
      {
        ...base,
        choices: [],
        usage: {
          prompt_tokens: 10,
          completion_tokens: 7,
          total_tokens: 17,
          prompt_tokens_details: { cached_tokens: 3 },
        },
      },
      '[DONE]',
    ]);
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
  ] as const)('stop_reason %s → finish_reason %s (never raw)', (stop, finish) => {
    const out = convert([
      CAPTURE_3_3[0],
      {
        type: 'message_delta',
        delta: { stop_reason: stop, stop_sequence: null },
        usage: { output_tokens: 1 },
      },
    ]);
    // (a refusal also has a `delta.refusal` chunk ahead of the finish chunk)
    expect(out.at(-2)).toEqual(chunk({}, finish));
  });

  it('error event → OpenAI error payload, then nothing more (no [DONE])', () => {
    const conv = new AnthropicToOpenAIChunks(OPTS);
    conv.push(CAPTURE_3_3[0]);
    expect(conv.push({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })).toEqual([
      { error: { message: 'Overloaded', type: 'overloaded_error', param: null, code: null } },
    ]);
    expect(conv.push({ type: 'message_stop' })).toEqual([]);
  });

  it('one finish chunk even if message_delta repeats; nothing after message_stop', () => {
    const md: StreamEvent = {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 1 },
    };
    const out = convert([CAPTURE_3_3[0], md, md, { type: 'message_stop' }, { type: 'message_stop' }]);
    expect(
      out.filter((c) => typeof c === 'object' && Array.isArray(c.choices) && c.choices.length === 1),
    ).toHaveLength(2);
    expect(out.filter((c) => c === '[DONE]')).toHaveLength(1);
  });

  it('defaults: chatcmpl- id and created are stable across chunks', () => {
    const conv = new AnthropicToOpenAIChunks({ model: 'm', includeUsage: false });
    const out = CAPTURE_3_3.flatMap((ev) => conv.push(ev)).filter(
      (c): c is Record<string, unknown> => typeof c === 'object',
    );
    expect(new Set(out.map((c) => c.id)).size).toBe(1);
    expect(String(out[0].id)).toMatch(/^chatcmpl-[a-zA-Z0-9]+$/);
    expect(new Set(out.map((c) => c.created)).size).toBe(1);
    expect(out.every((c) => c.model === 'm' && c.object === 'chat.completion.chunk')).toBe(true);
  });

  describe('tool arguments are always valid JSON (O-F1)', () => {
    const start = (index: number, input: Record<string, unknown> = {}): StreamEvent => ({
      type: 'content_block_start',
      index,
      content_block: { type: 'tool_use', id: `toolu_${index}`, name: 'ping', input },
    });
    const args = (index: number, partial_json: string): StreamEvent => ({
      type: 'content_block_delta',
      index,
      delta: { type: 'input_json_delta', partial_json },
    });
    const stop = (index: number): StreamEvent => ({ type: 'content_block_stop', index });
    const end: StreamEvent[] = [
      {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { output_tokens: 1 },
      },
      { type: 'message_stop' },
    ];
    /** What openai-node's ChatCompletionStream builds: arguments concatenated per tool call index. */
    const argumentsOf = (out: OpenAIStreamItem[]): string[] => {
      const built: string[] = [];
      for (const item of out) {
        const calls = typeof item === 'object' ? (item.choices as any[])?.[0]?.delta?.tool_calls : undefined;
        for (const call of calls ?? []) {
          built[call.index] = (built[call.index] ?? '') + (call.function?.arguments ?? '');
        }
      }
      return built;
    };

    it('a tool without parameters (one empty input_json_delta, the real API shape) → "{}"', () => {
      const out = convert([CAPTURE_3_3[0], start(0), args(0, ''), stop(0), ...end]);
      expect(argumentsOf(out)).toEqual(['{}']);
      expect(out.at(-4)).toEqual(chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }));
    });

    it('no input_json_delta at all → "{}"; input given in content_block_start → that input', () => {
      const out = convert([CAPTURE_3_3[0], start(0), stop(0), start(1, { a: 1, b: 2 }), stop(1), ...end]);
      expect(argumentsOf(out)).toEqual(['{}', '{"a":1,"b":2}']);
    });

    it('real arguments still stream fragment by fragment, nothing is appended', () => {
      const out = convert([
        CAPTURE_3_3[0],
        start(0),
        args(0, ''),
        args(0, '{"a": '),
        args(0, '2}'),
        stop(0),
        ...end,
      ]);
      expect(argumentsOf(out)).toEqual(['{"a": 2}']);
      expect(
        out.filter((c) => typeof c === 'object' && JSON.stringify(c).includes('"arguments"')),
      ).toHaveLength(3);
    });

    it('whitespace-only arguments still parse; a block never stopped is closed before the finish chunk', () => {
      const out = convert([CAPTURE_3_3[0], start(0), args(0, ' '), stop(0), start(1), ...end]);
      expect(argumentsOf(out).map((a) => JSON.parse(a) as unknown)).toEqual([{}, {}]);
      const finish = out.findIndex((c) => typeof c === 'object' && (c.choices as any[])?.[0]?.finish_reason);
      expect(out[finish - 1]).toEqual(chunk({ tool_calls: [{ index: 1, function: { arguments: '{}' } }] }));
    });

    it('every tool call of a messageToEvents replay (cache, non-stream upstream) parses back to its input', () => {
      const message: MessageResponse = {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude',
        content: [
          { type: 'tool_use', id: 'toolu_a', name: 'now', input: {} },
          { type: 'tool_use', id: 'toolu_b', name: 'add', input: { a: 1 } },
        ],
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: {
          input_tokens: 1,
          output_tokens: 1,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
      };
      expect(argumentsOf(convert(messageToEvents(message))).map((a) => JSON.parse(a) as unknown)).toEqual([
        {},
        { a: 1 },
      ]);
    });
  });
});
