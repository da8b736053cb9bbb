import { GatewayError } from './errors';
import type { OpenAIChatCompletion, OpenAIMessage } from './openai-types';
import { openAICompletionToAnthropicMessage } from './openai-to-anthropic';
import { isMintedSignature } from './thinking-signature';

const completion = (
  message: Partial<OpenAIMessage>,
  over: Partial<OpenAIChatCompletion> = {},
  finish: string | null = 'stop',
): OpenAIChatCompletion => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt',
  choices: [{ index: 0, message: { content: null, ...message, role: 'assistant' }, finish_reason: finish }],
  ...over,
});

describe('openAICompletionToAnthropicMessage', () => {
  it('golden 1: text, end_turn and cached usage', () => {
    const out = openAICompletionToAnthropicMessage(
      completion(
        { content: 'Hello' },
        {
          usage: {
            prompt_tokens: 10,
            completion_tokens: 2,
            total_tokens: 12,
            prompt_tokens_details: { cached_tokens: 4 },
          },
        },
      ),
      { model: 'claude-x' },
    );
    expect(out).toEqual({
      id: 'msg_chatcmpl-1',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [{ type: 'text', text: 'Hello' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 6,
        output_tokens: 2,
        cache_read_input_tokens: 4,
        cache_creation_input_tokens: 0,
      },
    });
  });

  it('orders thinking → text → tool_use, mints signatures, sanitises ids, forces tool_use', () => {
    const out = openAICompletionToAnthropicMessage(
      completion(
        {
          content: 'Adding.',
          reasoning_content: 'think',
          tool_calls: [
            { id: 'functions.add:0', type: 'function', function: { name: 'add', arguments: '{"a":1}' } },
          ],
        },
        { id: 'msg_keep' },
        'stop',
      ),
      { model: 'c', inputTokensEstimate: 42 },
    );
    expect(out.id).toBe('msg_keep');
    expect(out.content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
    expect(isMintedSignature((out.content[0] as { signature?: string }).signature)).toBe(true);
    expect(out.content[2]).toEqual({ type: 'tool_use', id: 'functions_add_0', name: 'add', input: { a: 1 } });
    expect(out.stop_reason).toBe('tool_use');
    expect(out.usage.input_tokens).toBe(42);
    expect(out.usage.output_tokens).toBeGreaterThan(0);
  });

  it('keeps an upstream Anthropic signature from OpenRouter reasoning_details', () => {
    const out = openAICompletionToAnthropicMessage(
      completion({
        content: 'x',
        reasoning_details: [{ type: 'reasoning.text', text: 'deep', signature: 'EqsD' }],
      }),
      { model: 'c', mintSignature: () => 'never' },
    );
    expect(out.content[0]).toEqual({ type: 'thinking', thinking: 'deep', signature: 'EqsD' });
  });

  it.each<[string, number, string]>([
    ['error', 500, 'api_error'],
    ['insufficient_system_resource', 529, 'overloaded_error'],
  ])('finish_reason %s → GatewayError %i %s', (finish, status, type) => {
    const run = (): unknown =>
      openAICompletionToAnthropicMessage(completion({ content: 'x' }, {}, finish), { model: 'c' });
    expect(run).toThrow(GatewayError);
    try {
      run();
    } catch (err) {
      expect(err).toMatchObject({ status, type });
    }
  });

  it('tool_calls entries that are not calls (null, no name) are skipped, not a crash', () => {
    const msg = openAICompletionToAnthropicMessage(
      completion(
        {
          tool_calls: [
            null,
            { id: 'c0', type: 'function', function: { arguments: '{}' } },
            { id: 'c1', type: 'function', function: { name: 'ok', arguments: '{"a":1}' } },
          ] as unknown as OpenAIMessage['tool_calls'],
        },
        {},
        'tool_calls',
      ),
      { model: 'm' },
    );
    expect(msg.content).toEqual([{ type: 'tool_use', id: 'c1', name: 'ok', input: { a: 1 } }]);
    expect(msg.stop_reason).toBe('tool_use');
  });

  it('length → max_tokens; content_filter → refusal', () => {
    expect(
      openAICompletionToAnthropicMessage(completion({ content: 'x' }, {}, 'length'), { model: 'c' })
        .stop_reason,
    ).toBe('max_tokens');
    expect(
      openAICompletionToAnthropicMessage(completion({ content: 'x' }, {}, 'content_filter'), { model: 'c' })
        .stop_reason,
    ).toBe('refusal');
  });
});
