/** A tool call cut off by max_tokens / `length` reads the same to a client in every shape (audit O-F2). */
import { MessageAccumulator, messageToEvents } from './accumulate';
import { AnthropicToOpenAIChunks, type OpenAIStreamItem } from './anthropic-stream-to-openai';
import { anthropicMessageToOpenAICompletion } from './anthropic-to-openai';
import { OPTS, convertSse, oChunk, sseBody } from './openai-stream.test-helpers';
import { finishReasonFor, finishReasonToStopReason } from './stop-reason';
import type { MessageResponse, StreamEvent } from './types';

const PARTIAL = '{"a": 1, "b';

/** The Anthropic wire shape of the cut call: the block is stopped, the message says max_tokens. */
const cutStream = (stopBlock = true): StreamEvent[] => [
  {
    type: 'message_start',
    message: {
      id: 'msg_cut',
      type: 'message',
      role: 'assistant',
      model: 'claude',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 3,
        output_tokens: 1,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    },
  },
  {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'tool_use', id: 'toolu_T', name: 'add', input: {} },
  },
  { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: PARTIAL } },
  ...(stopBlock ? [{ type: 'content_block_stop', index: 0 } as StreamEvent] : []),
  {
    type: 'message_delta',
    delta: { stop_reason: 'max_tokens', stop_sequence: null },
    usage: { output_tokens: 9 },
  },
  { type: 'message_stop' },
];

function accumulate(events: StreamEvent[]): MessageAccumulator {
  const acc = new MessageAccumulator();
  events.forEach((ev) => acc.push(ev));
  return acc;
}

function streamed(events: StreamEvent[]): { args: string; finish: unknown } {
  const conv = new AnthropicToOpenAIChunks({ model: 'gpt', includeUsage: false });
  const out: OpenAIStreamItem[] = events.flatMap((ev) => conv.push(ev));
  let args = '';
  let finish: unknown = null;
  for (const item of out) {
    const choice = typeof item === 'object' ? (item.choices as Record<string, any>[])[0] : undefined;
    for (const call of choice?.delta?.tool_calls ?? []) {
      args += call.function?.arguments ?? '';
    }
    finish = choice?.finish_reason ?? finish;
  }
  return { args, finish };
}

describe('a tool call cut off by max_tokens', () => {
  it.each([
    ['stopped', true],
    ['never stopped', false],
  ])(
    'block %s: stream and non-stream OpenAI answers both say length with the partial arguments',
    (_n, stop) => {
      const events = cutStream(stop);
      expect(streamed(events)).toEqual({ args: PARTIAL, finish: 'length' });

      const acc = accumulate(events);
      expect(acc.message.stop_reason).toBe('max_tokens'); // the Anthropic client's answer keeps it
      expect(acc.message.content[0]).toMatchObject({ type: 'tool_use', input: {} });
      const completion = anthropicMessageToOpenAICompletion(acc.message, { model: 'gpt', notes: acc.notes });
      expect(completion.choices[0].finish_reason).toBe('length');
      expect(completion.choices[0].message.tool_calls?.[0].function.arguments).toBe(PARTIAL);
    },
  );

  it('the notes never leak into the Message, and replaying it with them gives the stream back', () => {
    const acc = accumulate(cutStream());
    expect(JSON.stringify(acc.message)).not.toContain('"b');
    expect(streamed(messageToEvents(acc.message, acc.notes))).toEqual({ args: PARTIAL, finish: 'length' });
    expect(streamed(messageToEvents(acc.message))).toEqual({ args: '{}', finish: 'length' });
  });

  it('complete arguments are not noted; a complete but unstopped block is parsed at message_delta', () => {
    const events = cutStream(false).map((ev) =>
      ev.type === 'content_block_delta' &&
      ev.delta.type === 'input_json_delta' &&
      ev.delta.partial_json !== ''
        ? { ...ev, delta: { type: 'input_json_delta' as const, partial_json: '{"a": 1}' } }
        : ev,
    );
    const acc = accumulate(events);
    expect(acc.message.content[0]).toMatchObject({ input: { a: 1 } });
    expect(acc.notes.rawToolInputs.size).toBe(0);
  });

  it('OpenAI upstream: finish "length" with a call → max_tokens, its fragments kept', () => {
    const events = convertSse(
      sseBody([
        oChunk({ role: 'assistant', content: null }),
        oChunk({
          tool_calls: [
            { index: 0, id: 'call_1', type: 'function', function: { name: 'add', arguments: '' } },
          ],
        }),
        oChunk({ tool_calls: [{ index: 0, function: { arguments: PARTIAL } }] }),
        oChunk({}, 'length'),
        '[DONE]',
      ]),
      OPTS,
    );
    const delta = events.find((e) => e.type === 'message_delta');
    expect(delta).toMatchObject({ delta: { stop_reason: 'max_tokens' } });
    expect(streamed(events)).toEqual({ args: PARTIAL, finish: 'length' });
  });
});

describe('stop reason mapping with tool calls', () => {
  it.each([
    ['stop', 'tool_use'],
    ['tool_calls', 'tool_use'],
    [null, 'tool_use'],
    ['length', 'max_tokens'],
    ['content_filter', 'refusal'],
  ])('O finish %s with a call → %s', (finish, stop) => {
    expect(finishReasonToStopReason(finish, true)).toBe(stop);
  });

  it.each([
    ['end_turn', true, 'tool_calls'],
    ['tool_use', true, 'tool_calls'],
    ['max_tokens', true, 'length'],
    ['refusal', true, 'content_filter'],
    ['end_turn', false, 'stop'],
  ] as const)('A stop %s (calls: %s) → O finish %s', (stop, calls, finish) => {
    expect(finishReasonFor(stop, calls)).toBe(finish);
  });

  it('a message with a call and stop_reason end_turn says tool_calls in both shapes', () => {
    const msg: MessageResponse = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'c',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'add', input: { a: 1 } }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 1,
        output_tokens: 1,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    };
    expect(anthropicMessageToOpenAICompletion(msg, { model: 'g' }).choices[0].finish_reason).toBe(
      'tool_calls',
    );
    expect(streamed(messageToEvents(msg)).finish).toBe('tool_calls');
  });
});
