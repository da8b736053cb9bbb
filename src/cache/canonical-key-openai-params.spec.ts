import type { OpenAIChatRequest } from '../protocol/openai-types';
import { openAIRequestToAnthropic } from '../protocol/openai-to-anthropic';
import { cacheKey, fieldDigests } from './canonical-key';

const key = (over: Partial<OpenAIChatRequest>): string =>
  cacheKey(
    openAIRequestToAnthropic({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }], ...over }),
    'p,m',
  );

describe('cache key of OpenAI ingress parameters (openai_params)', () => {
  it.each<[string, Partial<OpenAIChatRequest>, Partial<OpenAIChatRequest>]>([
    // Both clamp to the canonical temperature 1: only openai_params tells them apart.
    ['temperature above 1', { temperature: 1.2 }, { temperature: 1.9 }],
    ['seed', { seed: 1 }, { seed: 2 }],
    ['presence_penalty', {}, { presence_penalty: 1 }],
    ['frequency_penalty', {}, { frequency_penalty: 1 }],
    [
      'tool strict',
      { tools: [{ type: 'function', function: { name: 'f' } }] },
      { tools: [{ type: 'function', function: { name: 'f', strict: true } }] },
    ],
  ])('%s changes the key', (_name, a, b) => {
    expect(key(a)).not.toBe(key(b));
  });

  it('is absent from the key of a request that sent none of them', () => {
    const req = openAIRequestToAnthropic({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }] });
    expect(fieldDigests(req, 'p,m').openai_params).toBe('absent');
  });
});

describe('cache key of OpenAI JSON mode', () => {
  it('json_object, a json_schema and plain text are three keys', () => {
    const keys = new Set([
      key({}),
      key({ response_format: { type: 'json_object' } }),
      key({
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
      }),
    ]);
    expect(keys.size).toBe(3);
    expect(key({ response_format: { type: 'text' } })).toBe(key({}));
  });
});
