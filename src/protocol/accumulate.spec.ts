import { MessageAccumulator, accumulateEvents, messageToEvents } from './accumulate';
import { streamGrammarViolations } from './stream-grammar';
import type { MessageResponse, ResponseBlock, StopReason, StreamEvent, Usage } from './types';

const usage = (input: number, output: number, read = 0, write = 0): Usage => ({
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: write,
  cache_read_input_tokens: read,
});

const start = (u: Usage = usage(10, 1)): StreamEvent => ({
  type: 'message_start',
  message: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'm',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: u,
  },
});
const blockStart = (index: number, content_block: ResponseBlock): StreamEvent => ({
  type: 'content_block_start',
  index,
  content_block,
});
const text = (index: number, t: string): StreamEvent => ({
  type: 'content_block_delta',
  index,
  delta: { type: 'text_delta', text: t },
});
const json = (index: number, partial_json: string): StreamEvent => ({
  type: 'content_block_delta',
  index,
  delta: { type: 'input_json_delta', partial_json },
});
const stop = (index: number): StreamEvent => ({ type: 'content_block_stop', index });
/** `usage` is loose on purpose: the real API may repeat fields as null, which must not overwrite. */
const end = (
  u: { output_tokens: number; [k: string]: unknown },
  stop_reason: StopReason = 'end_turn',
): StreamEvent[] => [
  { type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage: u },
  { type: 'message_stop' },
];

describe('MessageAccumulator (SDK MessageStream semantics, PROTOCOL §3.4)', () => {
  const cases: Array<{ name: string; events: StreamEvent[]; expected: Partial<MessageResponse> }> = [
    {
      name: 'text and tool_use, input parsed at content_block_stop, usage merged',
      events: [
        start(usage(502, 4)),
        blockStart(0, { type: 'text', text: '' }),
        text(0, "I'll add"),
        text(0, ' them'),
        { type: 'ping' },
        stop(0),
        blockStart(1, { type: 'tool_use', id: 'toolu_1', name: 'add', input: {} }),
        json(1, ''),
        json(1, '{"a": '),
        json(1, '2, "b": 3}'),
        stop(1),
        ...end({ output_tokens: 137, input_tokens: null, cache_read_input_tokens: 7 }, 'tool_use'),
      ],
      expected: {
        content: [
          { type: 'text', text: "I'll add them" },
          { type: 'tool_use', id: 'toolu_1', name: 'add', input: { a: 2, b: 3 } },
        ],
        stop_reason: 'tool_use',
        usage: usage(502, 137, 7),
      },
    },
    {
      name: 'thinking: deltas appended, signature replaced',
      events: [
        start(),
        blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
        { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'a' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'first' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'b' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'second' } },
        stop(0),
        ...end({ output_tokens: 3 }),
      ],
      expected: { content: [{ type: 'thinking', thinking: 'ab', signature: 'second' }], usage: usage(10, 3) },
    },
    {
      name: 'malformed or non-object tool JSON becomes {}; no deltas keeps the start input',
      events: [
        start(),
        blockStart(0, { type: 'tool_use', id: 't0', name: 'a', input: {} }),
        json(0, '{"a": '),
        stop(0),
        blockStart(1, { type: 'tool_use', id: 't1', name: 'b', input: {} }),
        json(1, '[1,2]'),
        stop(1),
        blockStart(2, { type: 'tool_use', id: 't2', name: 'c', input: {} }),
        stop(2),
        ...end({ output_tokens: 1 }),
      ],
      expected: {
        content: [
          { type: 'tool_use', id: 't0', name: 'a', input: {} },
          { type: 'tool_use', id: 't1', name: 'b', input: {} },
          { type: 'tool_use', id: 't2', name: 'c', input: {} },
        ],
      },
    },
    {
      name: 'deltas are applied by index; mismatched or unknown-index deltas ignored',
      events: [
        start(),
        blockStart(0, { type: 'text', text: '' }),
        { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'nope' } },
        text(5, 'nowhere'),
        text(0, 'ok'),
        stop(0),
        ...end({ output_tokens: 1 }),
      ],
      expected: { content: [{ type: 'text', text: 'ok' }] },
    },
    {
      name: 'message_delta copies stop_sequence and extra delta fields (stop_details)',
      events: [
        start(),
        {
          type: 'message_delta',
          delta: { stop_reason: 'stop_sequence', stop_sequence: '###', stop_details: { x: 1 } },
          usage: { output_tokens: 2 },
        },
        { type: 'message_stop' },
      ],
      expected: {
        stop_reason: 'stop_sequence',
        stop_sequence: '###',
        stop_details: { x: 1 },
        usage: usage(10, 2),
      },
    },
    {
      name: 'redacted_thinking and citations_delta',
      events: [
        start(),
        blockStart(0, { type: 'redacted_thinking', data: 'opaque' }),
        stop(0),
        blockStart(1, { type: 'text', text: '' }),
        text(1, 'x'),
        {
          type: 'content_block_delta',
          index: 1,
          delta: { type: 'citations_delta', citation: { cited_text: 'c' } },
        },
        stop(1),
        ...end({ output_tokens: 1 }),
      ],
      expected: {
        content: [
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'text', text: 'x', citations: [{ cited_text: 'c' }] },
        ],
      },
    },
  ];

  it.each(cases)('$name', ({ events, expected }) => {
    const acc = new MessageAccumulator();
    events.forEach((ev) => acc.push(ev));
    expect(acc.complete).toBe(true);
    expect(acc.error).toBeUndefined();
    expect(acc.message).toMatchObject(expected);
    expect(accumulateEvents(events)).toEqual(acc.message);
  });

  it('is complete only after message_stop, and keeps the error of a failed stream', () => {
    const acc = new MessageAccumulator();
    expect(acc.started).toBe(false);
    expect(() => acc.message).toThrow('message_start');
    acc.push(start());
    acc.push(blockStart(0, { type: 'text', text: '' }));
    acc.push(text(0, 'partial'));
    expect(acc.complete).toBe(false);
    expect(acc.message.content).toEqual([{ type: 'text', text: 'partial' }]);
    acc.push({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(acc.complete).toBe(false);
    expect(acc.error).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
  });

  it('does not alias the events it was given', () => {
    const events = [
      start(),
      blockStart(0, { type: 'text', text: '' }),
      text(0, 'a'),
      stop(0),
      ...end({ output_tokens: 1 }),
    ];
    const msg = accumulateEvents(events);
    expect((events[1] as { content_block: { text: string } }).content_block.text).toBe('');
    expect((events[0] as { message: MessageResponse }).message.content).toEqual([]);
    expect(msg.content).toEqual([{ type: 'text', text: 'a' }]);
  });

  it('tolerates a message_start without content (cc-switch-cli#322)', () => {
    const ev = start();
    delete (ev as { message: Partial<MessageResponse> }).message.content;
    expect(accumulateEvents([ev, ...end({ output_tokens: 0 })]).content).toEqual([]);
  });
});

describe('messageToEvents', () => {
  const msg: MessageResponse = {
    id: 'msg_x',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    content: [
      { type: 'thinking', thinking: 'plan', signature: 'sig' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'text', text: 'Hi' },
      { type: 'tool_use', id: 'toolu_1', name: 'add', input: { a: 2, b: 3 } },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: usage(502, 137, 3, 4),
  };

  it('emits the exact event sequence of the real API', () => {
    expect(messageToEvents(msg)).toEqual([
      {
        type: 'message_start',
        message: { ...msg, content: [], stop_reason: null, stop_sequence: null, usage: usage(502, 1, 3, 4) },
      },
      blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'plan' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } },
      stop(0),
      blockStart(1, { type: 'redacted_thinking', data: 'opaque' }),
      stop(1),
      blockStart(2, { type: 'text', text: '' }),
      text(2, 'Hi'),
      stop(2),
      blockStart(3, { type: 'tool_use', id: 'toolu_1', name: 'add', input: {} }),
      json(3, '{"a":2,"b":3}'),
      stop(3),
      ...end({ ...usage(502, 137, 3, 4) }, 'tool_use'),
    ]);
  });

  it('is grammatical and inverse to accumulation', () => {
    const events = messageToEvents(msg);
    expect(streamGrammarViolations(events, { complete: true })).toEqual([]);
    expect(accumulateEvents(events)).toEqual(msg);
  });

  it('an empty message still has message_start, message_delta and message_stop', () => {
    const empty = { ...msg, content: [], stop_reason: 'end_turn' as const, usage: usage(5, 0) };
    expect(messageToEvents(empty).map((e) => e.type)).toEqual([
      'message_start',
      'message_delta',
      'message_stop',
    ]);
    expect(accumulateEvents(messageToEvents(empty))).toEqual(empty);
  });
});
