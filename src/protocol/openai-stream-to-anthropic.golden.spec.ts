/** PROTOCOL.md §7 golden vectors 5–12 (stream side), with upstream chunks shaped after the §5.4 captures. */
import { accumulateEvents } from './accumulate';
import {
  GLM_REASONING,
  GLM_STREAM,
  GROQ_TEXT,
  GROQ_WHOLE_TOOLS,
  OPENAI_PARALLEL_TOOLS,
} from './openai-stream-captures.test-helpers';
import { A, convertSse, oChunk, oUsageChunk, sseBody } from './openai-stream.test-helpers';
import { encodeAnthropicEvent } from './sse';
import { mintThinkingSignature } from './thinking-signature';
import { sanitizeToolId } from './tool-ids';
import type { StreamEvent } from './types';

const cases: Array<{ name: string; body: string; expected: StreamEvent[] }> = [
  {
    name: '5. plain text: no block for the empty role chunk',
    body: sseBody([
      oChunk({ role: 'assistant', content: '', refusal: null }, null, { usage: null }),
      oChunk({ content: 'Hel' }, null, { usage: null }),
      oChunk({ content: 'lo' }, null, { usage: null }),
      oChunk({}, 'stop', { usage: null }),
      oUsageChunk({
        prompt_tokens: 10,
        completion_tokens: 2,
        total_tokens: 12,
        prompt_tokens_details: { cached_tokens: 4 },
      }),
      '[DONE]',
    ]),
    expected: [
      A.start(),
      A.text(0),
      A.td(0, 'Hel'),
      A.td(0, 'lo'),
      A.stop(0),
      ...A.end('end_turn', A.usage(6, 2, 4)),
    ],
  },
  {
    name: '6. OpenAI parallel tools (capture §5.4)',
    body: OPENAI_PARALLEL_TOOLS,
    expected: [
      A.start(),
      A.tool(0, 'call_MBriMTSHw1UFtzQAduPP0Mkj', 'add'),
      A.jd(0, '{"a"'),
      A.jd(0, ': 2, '),
      A.jd(0, '"b": 3'),
      A.jd(0, '}'),
      A.stop(0),
      A.tool(1, 'call_7sVj20JsN3VYpXv8pZuLDruY', 'multiply'),
      A.jd(1, '{"a"'),
      A.jd(1, ': 2, '),
      A.jd(1, '"b": 3'),
      A.jd(1, '}'),
      A.stop(1),
      ...A.end('tool_use', A.usage(106, 50)),
    ],
  },
  {
    name: '7. Groq whole-chunk tools with odd ids, usage sent twice',
    body: GROQ_WHOLE_TOOLS,
    expected: [
      A.start(),
      A.text(0),
      ...GROQ_TEXT.map((t) => A.td(0, t)),
      A.stop(0),
      A.tool(1, 'functions_add_0', 'add'),
      A.jd(1, '{"a":2,"b":3}'),
      A.stop(1),
      A.tool(2, 'functions_multiply_1', 'multiply'),
      A.jd(2, '{"a":2,"b":3}'),
      A.stop(2),
      ...A.end('tool_use', A.usage(207, 55)),
    ],
  },
  {
    name: '8. GLM reasoning + text + tool call in the finish chunk, duplicate finish',
    body: GLM_STREAM,
    expected: [
      A.start(),
      A.thinking(0),
      ...GLM_REASONING.map((r) => A.thd(0, r)),
      A.sig(0, mintThinkingSignature(GLM_REASONING.join(''))),
      A.stop(0),
      A.text(1),
      // The leading "\n" GLM sent before reasoning is held, not dropped, and never opens a block of its own.
      A.td(1, '\n'),
      A.td(1, '\n'),
      A.td(1, 'I'),
      A.td(1, "'ll check"),
      A.stop(1),
      A.tool(2, 'call_51a97502d6444997b56fd204', 'weather'),
      A.jd(2, '{"location": "Florence,Italy"}'),
      A.stop(2),
      ...A.end('tool_use', A.usage(1, 94, 178)),
    ],
  },
  {
    name: '9. finish_reason "stop" after a tool call (Ollama) forces tool_use',
    body: sseBody([
      oChunk({ role: 'assistant', content: '' }),
      oChunk({
        tool_calls: [
          {
            id: 'call_bd8jxwx1',
            index: 0,
            type: 'function',
            function: { name: 'add', arguments: '{"a":1,"b":2}' },
          },
        ],
      }),
      oChunk({ content: '' }, 'stop'),
      oUsageChunk({ prompt_tokens: 30, completion_tokens: 9, total_tokens: 39 }),
      '[DONE]',
    ]),
    expected: [
      A.start(),
      A.tool(0, 'call_bd8jxwx1', 'add'),
      A.jd(0, '{"a":1,"b":2}'),
      A.stop(0),
      ...A.end('tool_use', A.usage(30, 9)),
    ],
  },
  {
    name: '10. no usage chunk: message_delta still carries estimated usage',
    body: sseBody([
      oChunk({ role: 'assistant', content: '' }),
      oChunk({ content: 'Hello there' }),
      oChunk({}, 'stop'),
      '[DONE]',
    ]),
    expected: [
      A.start(),
      A.text(0),
      A.td(0, 'Hello there'),
      A.stop(0),
      ...A.end('end_turn', A.usage(42, Math.ceil(11 / 4))),
    ],
  },
];

describe('OpenAI stream → Anthropic events: golden vectors (PROTOCOL §7)', () => {
  it.each(cases)('$name', ({ body, expected }) => {
    for (const chunkSize of [1, 7, 64, 1 << 20]) {
      expect(convertSse(body, {}, chunkSize)).toEqual(expected);
    }
  });

  it('5. every event is written with its event: line', () => {
    for (const ev of convertSse(cases[0].body)) {
      expect(encodeAnthropicEvent(ev)).toMatch(
        new RegExp(`^event: ${ev.type}\ndata: \\{"type":"${ev.type}"`),
      );
    }
  });

  it('6. the SDK-accumulated message has both inputs as objects', () => {
    const msg = accumulateEvents(convertSse(OPENAI_PARALLEL_TOOLS));
    expect(msg.content).toEqual([
      { type: 'tool_use', id: 'call_MBriMTSHw1UFtzQAduPP0Mkj', name: 'add', input: { a: 2, b: 3 } },
      { type: 'tool_use', id: 'call_7sVj20JsN3VYpXv8pZuLDruY', name: 'multiply', input: { a: 2, b: 3 } },
    ]);
    expect(msg.stop_reason).toBe('tool_use');
  });

  it('7. tool ids match ^[a-zA-Z0-9_-]+$ and equal what tool_result ids are sanitized to', () => {
    const ids = convertSse(GROQ_WHOLE_TOOLS).flatMap((e) =>
      e.type === 'content_block_start' && e.content_block.type === 'tool_use'
        ? [String(e.content_block.id)]
        : [],
    );
    expect(ids).toEqual([sanitizeToolId('functions.add:0'), sanitizeToolId('functions.multiply:1')]);
    ids.forEach((id) => expect(id).toMatch(/^[a-zA-Z0-9_-]+$/));
  });

  it('10. the estimated usage is all integers', () => {
    const delta = convertSse(cases[5].body).find((e) => e.type === 'message_delta');
    expect(delta?.type === 'message_delta' && Object.values(delta.usage).every(Number.isInteger)).toBe(true);
  });
});

describe('11. truncated upstream', () => {
  const textChunks = [
    oChunk({ role: 'assistant', content: '' }),
    oChunk({ content: 'Hel' }),
    oChunk({ content: 'lo' }),
  ];
  const prefix = [A.start(), A.text(0), A.td(0, 'Hel'), A.td(0, 'lo')];

  it('EOF without finish_reason or [DONE] → error right after the last delta, no message_delta/stop', () => {
    const events = convertSse(sseBody(textChunks));
    expect(events.slice(0, -1)).toEqual(prefix);
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });

  it('a trailing {"error":{"message":"x"}} → error event carrying "x"', () => {
    const events = convertSse(sseBody([...textChunks, { error: { message: 'x' } }]));
    expect(events).toEqual([...prefix, { type: 'error', error: { type: 'api_error', message: 'x' } }]);
  });
});

describe('12. upstream error payloads map like HTTP statuses (stream part)', () => {
  it.each([
    [{ message: 'slow down', code: 429 }, 'rate_limit_error'],
    [{ message: 'slow down', code: '429' }, 'rate_limit_error'],
    [{ message: 'busy', status: 503 }, 'overloaded_error'],
    [{ message: 'bad', code: 400, type: 'invalid_request_error' }, 'invalid_request_error'],
    [{ message: 'boom', code: 'server_error' }, 'api_error'],
    [{ message: 'typed', type: 'invalid_request_error' }, 'api_error'],
  ])('%j → %s', (error, type) => {
    const events = convertSse(sseBody([oChunk({ content: 'a' }), { error }]));
    expect(events.at(-1)).toEqual({ type: 'error', error: { type, message: error.message } });
  });
});
