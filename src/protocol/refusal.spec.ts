/** Refusals reach an OpenAI client as `refusal`, whichever upstream refused (audit O-F8). */
import { MessageAccumulator, messageToEvents } from './accumulate';
import { AnthropicToOpenAIChunks, type OpenAIStreamItem } from './anthropic-stream-to-openai';
import { anthropicMessageToOpenAICompletion } from './anthropic-to-openai';
import { OPTS, convertSse, oChunk, oUsageChunk, sseBody } from './openai-stream.test-helpers';
import { REFUSAL_FALLBACK } from './stop-reason';
import type { StreamEvent } from './types';

/** What an OpenAI client sees, stream and non-stream, for one canonical event log. */
function openAIViews(events: StreamEvent[]) {
  const conv = new AnthropicToOpenAIChunks({ model: 'gpt', includeUsage: false });
  const chunks: OpenAIStreamItem[] = events.flatMap((ev) => conv.push(ev));
  const stream = { content: '', refusal: '', finish: null as unknown };
  for (const item of chunks) {
    const choice = typeof item === 'object' ? (item.choices as Record<string, any>[])[0] : undefined;
    stream.content += choice?.delta?.content ?? '';
    stream.refusal += choice?.delta?.refusal ?? '';
    stream.finish = choice?.finish_reason ?? stream.finish;
  }
  const acc = new MessageAccumulator();
  events.forEach((ev) => acc.push(ev));
  const choice = anthropicMessageToOpenAICompletion(acc.message, { model: 'gpt', notes: acc.notes })
    .choices[0];
  return {
    stream,
    whole: { content: choice.message.content, refusal: choice.message.refusal, finish: choice.finish_reason },
    anthropic: acc.message,
  };
}

const anthropicStart: StreamEvent = {
  type: 'message_start',
  message: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  },
};

describe('an OpenAI upstream refusal (delta.refusal)', () => {
  const events = convertSse(
    sseBody([
      oChunk({ role: 'assistant', content: null, refusal: null }),
      oChunk({ refusal: 'I cannot ' }),
      oChunk({ refusal: 'help with that.' }),
      oChunk({}, 'stop'),
      oUsageChunk({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 }),
      '[DONE]',
    ]),
    OPTS,
  );

  it('is a marked text block of its own; an Anthropic client gets the text and end_turn', () => {
    const start = events.find((e) => e.type === 'content_block_start');
    expect(start).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
      refusal: true,
    });
    const { anthropic } = openAIViews(events);
    expect(anthropic.content).toEqual([{ type: 'text', text: 'I cannot help with that.' }]);
    expect(anthropic.stop_reason).toBe('end_turn');
  });

  it('round-trips to an OpenAI client as refusal, stream and non-stream, finish as the upstream said', () => {
    const { stream, whole } = openAIViews(events);
    expect(stream).toEqual({ content: '', refusal: 'I cannot help with that.', finish: 'stop' });
    expect(whole).toEqual({ content: null, refusal: 'I cannot help with that.', finish: 'stop' });
  });

  it('content and refusal in one answer stay apart; replaying the Message with its notes keeps the mark', () => {
    const mixed = convertSse(
      sseBody([
        oChunk({ content: 'Sure. ' }),
        oChunk({ refusal: 'But not that.' }),
        oChunk({}, 'stop'),
        '[DONE]',
      ]),
      OPTS,
    );
    const views = openAIViews(mixed);
    expect(views.whole).toEqual({ content: 'Sure. ', refusal: 'But not that.', finish: 'stop' });
    const acc = new MessageAccumulator();
    mixed.forEach((ev) => acc.push(ev));
    expect(openAIViews(messageToEvents(acc.message, acc.notes)).stream).toEqual({
      content: 'Sure. ',
      refusal: 'But not that.',
      finish: 'stop',
    });
  });
});

describe('an Anthropic-style refusal (stop_reason "refusal")', () => {
  const refused = (stopDetails?: object): StreamEvent[] => [
    anthropicStart,
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Here is the start' } },
    { type: 'content_block_stop', index: 0 },
    {
      type: 'message_delta',
      delta: {
        stop_reason: 'refusal',
        stop_sequence: null,
        ...(stopDetails ? { stop_details: stopDetails } : {}),
      },
      usage: { output_tokens: 5 },
    },
    { type: 'message_stop' },
  ];

  it('OpenAI client: finish content_filter (PROTOCOL §6.5), refusal = stop_details.explanation', () => {
    const views = openAIViews(refused({ type: 'refusal', category: 'cyber', explanation: 'Policy: cyber' }));
    expect(views.stream).toEqual({
      content: 'Here is the start',
      refusal: 'Policy: cyber',
      finish: 'content_filter',
    });
    expect(views.whole).toEqual({
      content: 'Here is the start',
      refusal: 'Policy: cyber',
      finish: 'content_filter',
    });
  });

  it('without stop_details the refusal is a fixed sentence, never null; Anthropic clients keep stop_reason refusal', () => {
    const views = openAIViews(refused());
    expect(views.stream.refusal).toBe(REFUSAL_FALLBACK);
    expect(views.whole.refusal).toBe(REFUSAL_FALLBACK);
    expect(views.anthropic.stop_reason).toBe('refusal');
  });

  it('an OpenAI content_filter finish (no refusal text) becomes refusal and goes back as content_filter', () => {
    const events = convertSse(
      sseBody([oChunk({ content: 'Partial' }), oChunk({}, 'content_filter'), '[DONE]']),
      OPTS,
    );
    expect(events.find((e) => e.type === 'message_delta')).toMatchObject({
      delta: { stop_reason: 'refusal' },
    });
    expect(openAIViews(events).whole).toEqual({
      content: 'Partial',
      refusal: REFUSAL_FALLBACK,
      finish: 'content_filter',
    });
  });
});
