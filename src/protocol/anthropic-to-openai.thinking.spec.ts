import { anthropicToOpenAIRequest, type OpenAIRequestOptions } from './anthropic-to-openai';
import type { OpenAIChatRequest } from './openai-types';
import { mintThinkingSignature } from './thinking-signature';
import type { CanonicalMessage, CanonicalRequest } from './types';

const base = (over: Partial<CanonicalRequest>): CanonicalRequest => ({
  model: 'claude',
  max_tokens: 100,
  messages: [],
  ...over,
});
const convert = (
  req: Partial<CanonicalRequest>,
  opts: Partial<OpenAIRequestOptions> = {},
): OpenAIChatRequest => anthropicToOpenAIRequest(base(req), { model: 'up', ...opts });

describe('anthropicToOpenAIRequest — thinking (golden 15)', () => {
  const enabled = {
    thinking: { type: 'enabled' as const, budget_tokens: 10000 },
    max_tokens: 20000,
    messages: [{ role: 'user' as const, content: 'x' }],
  };

  it.each<[OpenAIRequestOptions['reasoning'], Record<string, unknown>]>([
    ['openrouter', { reasoning: { max_tokens: 10000 } }],
    ['openai', { reasoning_effort: 'high' }],
    ['deepseek', { thinking: { type: 'enabled' } }],
  ])('enabled budget 10000 → %s', (reasoning, expected) => {
    expect(convert(enabled, { reasoning })).toMatchObject(expected);
  });

  it.each<[number, string]>([
    [1024, 'low'],
    [8192, 'medium'],
    [8193, 'high'],
  ])('budget %i → reasoning_effort %s', (budget, effort) => {
    expect(
      convert({ ...enabled, thinking: { type: 'enabled', budget_tokens: budget } }, { reasoning: 'openai' })
        .reasoning_effort,
    ).toBe(effort);
  });

  it('adaptive uses output_config.effort, else medium', () => {
    const adaptive = { ...enabled, thinking: { type: 'adaptive' as const } };
    expect(
      convert({ ...adaptive, output_config: { effort: 'high' } }, { reasoning: 'openrouter' }).reasoning,
    ).toEqual({ effort: 'high' });
    expect(convert(adaptive, { reasoning: 'openai' }).reasoning_effort).toBe('medium');
  });

  it('reasoning none (default) sends nothing', () => {
    const out = convert(enabled);
    expect(out).not.toHaveProperty('reasoning_effort');
    expect(out).not.toHaveProperty('reasoning');
    expect(out).not.toHaveProperty('thinking');
  });

  it('echoes thinking as reasoning_content for DeepSeek and reasoning for OpenRouter; drops redacted', () => {
    const messages: CanonicalMessage[] = [
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'plan', signature: mintThinkingSignature('plan') },
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'tool_use', id: 'toolu_9', name: 'ls', input: {} },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'ok' }] },
    ];
    expect(convert({ ...enabled, messages }, { reasoning: 'deepseek' }).messages[1]).toMatchObject({
      role: 'assistant',
      reasoning_content: 'plan',
    });
    expect(convert({ ...enabled, messages }, { reasoning: 'openrouter' }).messages[1]).toMatchObject({
      reasoning: 'plan',
    });
    expect(convert({ ...enabled, messages }, { reasoning: 'openai' }).messages[1]).not.toHaveProperty(
      'reasoning_content',
    );
  });

  it('downgrades a forced tool_choice to auto when reasoning is on', () => {
    const tools = [{ name: 'a', input_schema: { type: 'object' } }];
    expect(
      convert({ ...enabled, tools, tool_choice: { type: 'any' } }, { reasoning: 'deepseek' }).tool_choice,
    ).toBe('auto');
    expect(
      convert({ ...enabled, tools, tool_choice: { type: 'tool', name: 'a' } }, { reasoning: 'none' })
        .tool_choice,
    ).toEqual({ type: 'function', function: { name: 'a' } });
  });
});
