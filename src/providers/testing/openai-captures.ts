/** Canned OpenAI Chat Completions answers for adapter specs (PROTOCOL.md §5.3, §5.4). */

const common = {
  id: 'chatcmpl-CRdy',
  object: 'chat.completion.chunk',
  created: 1760704577,
  model: 'gpt-4o-2024-08-06',
};
export const ck = (delta: object, finish: string | null = null, extra: object = {}): string =>
  JSON.stringify({ ...common, usage: null, choices: [{ index: 0, delta, finish_reason: finish }], ...extra });
export const tc = (index: number, fn: object, id?: string): object => ({
  tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: fn }],
});

/** PROTOCOL §5.4: real api.openai.com capture, gpt-4o, two parallel tools, include_usage. */
export const PARALLEL_TOOLS = [
  ck({ role: 'assistant', content: null }, null, { obfuscation: 'x' }),
  ck(tc(0, { name: 'add', arguments: '' }, 'call_43EjiOxHOpfmq7iAWmLhEPss')),
  ...['{"a"', ': 2, ', '"b": 3', '}'].map((a) => ck(tc(0, { arguments: a }))),
  ck(tc(1, { name: 'multiply', arguments: '' }, 'call_ZdPqPwLu0Jt3m2ZbvMxBsdtj')),
  ...['{"a"', ': 2, ', '"b": 3', '}'].map((a) => ck(tc(1, { arguments: a }))),
  ck({}, 'tool_calls'),
  JSON.stringify({
    ...common,
    choices: [],
    usage: {
      prompt_tokens: 106,
      completion_tokens: 50,
      total_tokens: 156,
      prompt_tokens_details: { cached_tokens: 0 },
    },
  }),
  '[DONE]',
];

export const COMPLETION = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }],
  usage: {
    prompt_tokens: 10,
    completion_tokens: 2,
    total_tokens: 12,
    prompt_tokens_details: { cached_tokens: 4 },
  },
};
