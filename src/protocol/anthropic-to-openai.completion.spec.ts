import { anthropicMessageToOpenAICompletion } from './anthropic-to-openai';
import type { MessageResponse } from './types';

describe('anthropicMessageToOpenAICompletion', () => {
  const msg: MessageResponse = {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model: 'claude',
    content: [
      { type: 'thinking', thinking: 'hmm', signature: 's' },
      { type: 'text', text: 'I will add' },
      { type: 'tool_use', id: 'toolu_1', name: 'add', input: { a: 2 } },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 4, cache_creation_input_tokens: 1 },
  };

  it('maps content, finish reason and usage', () => {
    expect(anthropicMessageToOpenAICompletion(msg, { model: 'gpt', created: 7 })).toEqual({
      id: 'chatcmpl-01',
      object: 'chat.completion',
      created: 7,
      model: 'gpt',
      choices: [
        {
          index: 0,
          logprobs: null,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: 'I will add',
            refusal: null,
            reasoning_content: 'hmm',
            tool_calls: [
              { id: 'toolu_1', type: 'function', function: { name: 'add', arguments: '{"a":2}' } },
            ],
          },
        },
      ],
      usage: {
        prompt_tokens: 15,
        completion_tokens: 5,
        total_tokens: 20,
        prompt_tokens_details: { cached_tokens: 4 },
      },
    });
  });

  it.each<[MessageResponse['stop_reason'], string]>([
    ['end_turn', 'stop'],
    ['max_tokens', 'length'],
    ['refusal', 'content_filter'],
  ])('stop_reason %s → %s; reasoning field can be disabled', (stop, finish) => {
    const out = anthropicMessageToOpenAICompletion(
      { ...msg, content: [msg.content[0], msg.content[1]], stop_reason: stop },
      { model: 'gpt', id: 'x', reasoningField: null },
    );
    expect(out.choices[0].finish_reason).toBe(finish);
    expect(out.choices[0].message).not.toHaveProperty('reasoning_content');
    expect(out.id).toBe('x');
  });
});
