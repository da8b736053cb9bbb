import { anthropicToGeminiRequest } from '../providers/gemini/gemini.codec';
import { anthropicToOpenAIRequest } from './anthropic-to-openai';
import type { OpenAIChatRequest } from './openai-types';
import { openAIRequestToAnthropic } from './openai-to-anthropic';

/**
 * reasoning_effort → a thinking budget with room for the answer (audit O-F6): without the client's max
 * tokens a budget of max_tokens − 1 left one token for the answer and medium equalled high.
 */
const req = (over: Partial<OpenAIChatRequest>): OpenAIChatRequest => ({
  model: 'gpt',
  messages: [{ role: 'user', content: 'think' }],
  ...over,
});

describe('reasoning_effort without max tokens: the budget on top of the default answer room', () => {
  it.each([
    ['minimal', 1024, 5120],
    ['low', 1024, 5120],
    ['medium', 8192, 12288],
    ['high', 24576, 28672],
    ['xhigh', 27904, 32000],
    ['max', 27904, 32000],
  ])('%s → budget %i, max_tokens %i', (effort, budget, maxTokens) => {
    const out = openAIRequestToAnthropic(req({ reasoning_effort: effort }));
    expect(out.thinking).toEqual({ type: 'enabled', budget_tokens: budget });
    expect(out.max_tokens).toBe(maxTokens);
    expect(out.max_tokens - budget).toBeGreaterThanOrEqual(4096);
  });

  it('medium and high differ', () => {
    const medium = openAIRequestToAnthropic(req({ reasoning_effort: 'medium' }));
    const high = openAIRequestToAnthropic(req({ reasoning_effort: 'high' }));
    expect(medium.thinking).not.toEqual(high.thinking);
  });

  it('none, or a forced tool, thinks not at all and keeps the default max_tokens', () => {
    expect(openAIRequestToAnthropic(req({ reasoning_effort: 'none' }))).toMatchObject({ max_tokens: 4096 });
    expect(openAIRequestToAnthropic(req({ reasoning_effort: 'none' }))).not.toHaveProperty('thinking');
    const forced = openAIRequestToAnthropic(
      req({
        reasoning_effort: 'high',
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: 'required',
      }),
    );
    expect(forced).not.toHaveProperty('thinking');
    expect(forced.max_tokens).toBe(4096);
  });

  it('a gateway defaultMaxTokens above the need is kept', () => {
    const out = openAIRequestToAnthropic(req({ reasoning_effort: 'low' }), { defaultMaxTokens: 64_000 });
    expect(out).toMatchObject({ max_tokens: 64_000, thinking: { budget_tokens: 1024 } });
  });
});

describe('reasoning_effort with the client max tokens: its limit holds, the answer keeps room', () => {
  it.each([
    // max_tokens, effort → budget (answer keeps min(4096, max/2))
    [32_000, 'high', 24_576],
    [10_000, 'high', 5_904],
    [4_096, 'high', 2_048],
    [4_096, 'medium', 2_048],
    [4_096, 'low', 1_024],
    [2_000, 'medium', 1_024],
  ])('max_tokens %i, %s → budget %i', (maxTokens, effort, budget) => {
    const out = openAIRequestToAnthropic(req({ max_completion_tokens: maxTokens, reasoning_effort: effort }));
    expect(out.max_tokens).toBe(maxTokens);
    expect(out.thinking).toEqual({ type: 'enabled', budget_tokens: budget });
  });

  it('no thinking when even the minimum budget (1024) does not fit below max_tokens', () => {
    expect(openAIRequestToAnthropic(req({ max_tokens: 1024, reasoning_effort: 'low' }))).not.toHaveProperty(
      'thinking',
    );
  });
});

describe('reasoning_effort at the upstreams', () => {
  it('Gemini: thinkingBudget and maxOutputTokens follow the canonical budget', () => {
    const body = anthropicToGeminiRequest(openAIRequestToAnthropic(req({ reasoning_effort: 'medium' })));
    expect(body.generationConfig).toMatchObject({
      maxOutputTokens: 12_288,
      thinkingConfig: { thinkingBudget: 8192, includeThoughts: true },
    });
  });

  it('an OpenAI reasoning upstream gets the effort as sent, beside the client tool_choice', () => {
    const tools: OpenAIChatRequest['tools'] = [{ type: 'function', function: { name: 'f' } }];
    for (const effort of ['minimal', 'xhigh', 'none']) {
      const body = anthropicToOpenAIRequest(
        openAIRequestToAnthropic(req({ reasoning_effort: effort, tools, tool_choice: 'required' })),
        { model: 'o3', reasoning: 'openai' },
      );
      expect(body.reasoning_effort).toBe(effort);
      expect(body.tool_choice).toBe('required');
    }
  });

  it('other dialects follow the canonical budget (OpenRouter reasoning.max_tokens)', () => {
    const body = anthropicToOpenAIRequest(openAIRequestToAnthropic(req({ reasoning_effort: 'medium' })), {
      model: 'm',
      reasoning: 'openrouter',
    });
    expect(body).toMatchObject({ reasoning: { max_tokens: 8192 }, max_tokens: 12_288 });
  });
});
