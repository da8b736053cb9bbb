/** Provider quirks (§5.4) and pitfalls (§6.12) beyond the golden vectors. */
import { accumulateEvents } from './accumulate';
import { A, OPTS, convertSse, oChunk, oUsageChunk, sseBody } from './openai-stream.test-helpers';
import { OpenAIStreamToAnthropic } from './openai-stream-to-anthropic';
import { streamGrammarViolations } from './stream-grammar';
import type { StreamEvent } from './types';

const tool = (index: number, fields: { id?: string | number; name?: string; args?: string }) => ({
  index,
  ...(fields.id === undefined ? {} : { id: fields.id, type: 'function' }),
  function: {
    ...(fields.name === undefined ? {} : { name: fields.name }),
    ...(fields.args === undefined ? {} : { arguments: fields.args }),
  },
});
const calls = (...tc: object[]) => oChunk({ tool_calls: tc });
const usage = (prompt: number, completion: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

describe('OpenRouter', () => {
  it('keep-alive comments, reasoning + reasoning_details (not doubled), upstream signature kept', () => {
    const body = sseBody([
      { comment: 'OPENROUTER PROCESSING' },
      oChunk({
        role: 'assistant',
        content: '',
        reasoning: 'Let me',
        reasoning_details: [
          { type: 'reasoning.text', text: 'Let me', format: 'anthropic-claude-v1', index: 0 },
        ],
      }),
      { comment: 'OPENROUTER PROCESSING' },
      oChunk({
        reasoning: ' think',
        reasoning_details: [{ type: 'reasoning.text', text: ' think', index: 0 }],
      }),
      oChunk({
        reasoning_details: [{ type: 'reasoning.text', text: '', signature: 'EqsDrealSig', index: 0 }],
      }),
      oChunk({ content: 'Answer' }),
      oChunk({}, 'stop', { usage: usage(20, 5) }),
      '[DONE]',
    ]);
    expect(convertSse(body)).toEqual([
      A.start(),
      A.thinking(0),
      A.thd(0, 'Let me'),
      A.thd(0, ' think'),
      A.sig(0, 'EqsDrealSig'),
      A.stop(0),
      A.text(1),
      A.td(1, 'Answer'),
      A.stop(1),
      ...A.end('end_turn', A.usage(20, 5)),
    ]);
  });

  it('reasoning_details alone, numeric tool ids, finish_reason "error" → api_error with the upstream message', () => {
    const body = sseBody([
      oChunk({
        reasoning_details: [
          { type: 'reasoning.summary', summary: 's' },
          { type: 'reasoning.text', text: 'hmm' },
        ],
      }),
      calls(tool(0, { id: 7, name: 'add', args: '{}' })),
      {
        ...oChunk({}, 'error'),
        choices: [
          { index: 0, delta: {}, finish_reason: 'error', error: { message: 'provider died', code: 502 } },
        ],
      },
    ]);
    expect(convertSse(body, { mintSignature: () => 'minted' })).toEqual([
      A.start(),
      A.thinking(0),
      A.thd(0, 'hmm'),
      A.sig(0, 'minted'),
      A.stop(0),
      A.tool(1, '7', 'add'),
      A.jd(1, '{}'),
      { type: 'error', error: { type: 'api_error', message: 'provider died' } },
    ]);
  });
});

describe('end of stream', () => {
  it('usage on every chunk (higress#3670) is not an end; the last one wins', () => {
    const body = sseBody([
      oChunk({ content: 'a' }, null, { usage: usage(9, 1) }),
      oChunk({ content: 'b' }, null, { usage: usage(9, 2) }),
      oChunk({}, 'stop', { usage: usage(9, 3) }),
      '[DONE]',
    ]);
    expect(convertSse(body)).toEqual([
      A.start(),
      A.text(0),
      A.td(0, 'a'),
      A.td(0, 'b'),
      A.stop(0),
      ...A.end('end_turn', A.usage(9, 3)),
    ]);
  });

  it('EOF after finish_reason without [DONE] finalizes; anything after the end is ignored', () => {
    const conv = new OpenAIStreamToAnthropic(OPTS);
    const events = [...conv.pushChunk(oChunk({ content: 'x' }, 'length')), ...conv.end()];
    expect(events).toEqual([
      A.start(),
      A.text(0),
      A.td(0, 'x'),
      A.stop(0),
      ...A.end('max_tokens', A.usage(42, 1)),
    ]);
    expect(conv.finished).toBe(true);
    expect([
      ...conv.pushData('[DONE]'),
      ...conv.pushChunk(oChunk({ content: 'late' })),
      ...conv.end(),
      ...conv.fail({ type: 'api_error', message: 'x' }),
    ]).toEqual([]);
  });

  it('a second [DONE] or chunks after [DONE] add nothing', () => {
    const events = convertSse(
      sseBody([oChunk({ content: 'x' }, 'stop'), '[DONE]', oChunk({ content: 'more' }), '[DONE]']),
    );
    expect(events.filter((e) => e.type === 'message_stop')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'content_block_delta')).toHaveLength(1);
  });

  it('finish_reason mapping, and "tool_calls" without any usable call is end_turn', () => {
    const stopOf = (body: string) => convertSse(body).find((e) => e.type === 'message_delta');
    expect(stopOf(sseBody([oChunk({ content: 'x' }, 'content_filter'), '[DONE]']))).toMatchObject({
      delta: { stop_reason: 'refusal' },
    });
    expect(stopOf(sseBody([oChunk({ content: 'x' }, 'tool_calls'), '[DONE]']))).toMatchObject({
      delta: { stop_reason: 'end_turn' },
    });
    expect(stopOf(sseBody(['[DONE]']))).toMatchObject({ delta: { stop_reason: 'end_turn' } });
  });

  it('DeepSeek insufficient_system_resource → overloaded_error, never a clean end', () => {
    const events = convertSse(
      sseBody([oChunk({ content: 'x' }), oChunk({}, 'insufficient_system_resource'), '[DONE]']),
    );
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(events.some((e) => e.type === 'message_stop')).toBe(false);
  });

  it('fail() ends with an error event; EOF before any chunk is an error too', () => {
    const conv = new OpenAIStreamToAnthropic(OPTS);
    const err = { type: 'timeout_error' as const, message: 'upstream stalled' };
    expect([...conv.pushChunk(oChunk({ content: 'x' })), ...conv.fail(err)]).toEqual([
      A.start(),
      A.text(0),
      A.td(0, 'x'),
      { type: 'error', error: err },
    ]);
    expect(conv.end()).toEqual([]);
    expect(new OpenAIStreamToAnthropic(OPTS).end()).toEqual([
      { type: 'error', error: expect.objectContaining({ type: 'api_error' }) },
    ]);
  });

  it('usage reporting 0 prompt tokens falls back to the estimate (Claude Code context meter)', () => {
    const events = convertSse(sseBody([oChunk({ content: 'x' }, 'stop', { usage: usage(0, 1) }), '[DONE]']));
    expect(events.find((e) => e.type === 'message_delta')).toMatchObject({ usage: A.usage(42, 1) });
  });
});

describe('input handling', () => {
  it('junk data payloads are keep-alives; message_start only once', () => {
    const conv = new OpenAIStreamToAnthropic({ ...OPTS, messageId: 'abc' });
    const events: StreamEvent[] = [...conv.start(), ...conv.start()];
    for (const junk of ['', '   ', 'ping', '[1,2]', 'null', '"str"', '{"truncated":']) {
      events.push(...conv.pushData(junk));
    }
    expect(events).toEqual([
      { ...A.start(), message: { ...(A.start() as { message: object }).message, id: 'msg_abc' } },
    ]);
  });

  it('the first chunk starts the message when start() was not called; role/refusal handled', () => {
    const conv = new OpenAIStreamToAnthropic(OPTS);
    const events = [
      ...conv.pushChunk(oChunk({ role: 'assistant', refusal: 'I cannot help' }, 'content_filter')),
      ...conv.pushData('[DONE]'),
    ];
    expect(streamGrammarViolations(events, { complete: true })).toEqual([]);
    expect(accumulateEvents(events)).toMatchObject({
      content: [{ type: 'text', text: 'I cannot help' }],
      stop_reason: 'refusal',
    });
  });

  it('whitespace-only output never becomes a text block', () => {
    const events = convertSse(
      sseBody([oChunk({ content: '\n' }), oChunk({ content: '  ' }), oChunk({}, 'stop'), '[DONE]']),
    );
    expect(events.map((e) => e.type)).toEqual(['message_start', 'message_delta', 'message_stop']);
  });

  it('choices:[] and a missing delta are tolerated', () => {
    const events = convertSse(
      sseBody([oUsageChunk(usage(3, 1)), { choices: [{ index: 0, finish_reason: 'stop' }] }, '[DONE]']),
    );
    expect(events).toEqual([A.start(), ...A.end('end_turn', A.usage(3, 1))]);
  });
});
