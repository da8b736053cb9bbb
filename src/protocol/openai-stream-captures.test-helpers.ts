/*
 * Upstream SSE bodies shaped after the real captures of PROTOCOL §5.4 (charmbracelet/fantasy providertests):
 * test support only, nothing here runs in the gateway.
 */
import { oChunk, oUsageChunk, sseBody } from './openai-stream.test-helpers';

/** api.openai.com gpt-4o, two parallel tools, include_usage (charmbracelet/fantasy capture). */
export const OPENAI_PARALLEL_TOOLS = sseBody([
  oChunk({ role: 'assistant', content: null }, null, { usage: null, obfuscation: 'qnpNwYTQFp4' }),
  oChunk(
    {
      tool_calls: [
        {
          index: 0,
          id: 'call_MBriMTSHw1UFtzQAduPP0Mkj',
          type: 'function',
          function: { name: 'add', arguments: '' },
        },
      ],
    },
    null,
    { usage: null },
  ),
  oChunk({ tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] }, null, { usage: null }),
  oChunk({ tool_calls: [{ index: 0, function: { arguments: ': 2, ' } }] }, null, { usage: null }),
  oChunk({ tool_calls: [{ index: 0, function: { arguments: '"b": 3' } }] }, null, { usage: null }),
  oChunk({ tool_calls: [{ index: 0, function: { arguments: '}' } }] }, null, { usage: null }),
  oChunk(
    {
      tool_calls: [
        {
          index: 1,
          id: 'call_7sVj20JsN3VYpXv8pZuLDruY',
          type: 'function',
          function: { name: 'multiply', arguments: '' },
        },
      ],
    },
    null,
    { usage: null },
  ),
  oChunk({ tool_calls: [{ index: 1, function: { arguments: '{"a"' } }] }, null, { usage: null }),
  oChunk({ tool_calls: [{ index: 1, function: { arguments: ': 2, ' } }] }, null, { usage: null }),
  oChunk({ tool_calls: [{ index: 1, function: { arguments: '"b": 3' } }] }, null, { usage: null }),
  oChunk({ tool_calls: [{ index: 1, function: { arguments: '}' } }] }, null, { usage: null }),
  oChunk({}, 'tool_calls', { usage: null, obfuscation: 'fYPH' }),
  oUsageChunk({
    prompt_tokens: 106,
    completion_tokens: 50,
    total_tokens: 156,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  }),
  '[DONE]',
]);

/** Groq Kimi K2: whole tool calls in one chunk, `functions.x:n` ids, usage on the finish chunk and again. */
const GROQ_USAGE = {
  queue_time: 0.035,
  prompt_tokens: 207,
  prompt_time: 0.021,
  completion_tokens: 55,
  completion_time: 0.19,
  total_tokens: 262,
  total_time: 0.21,
};
export const GROQ_TEXT = [
  "I'll",
  ' help',
  ' you',
  ' add',
  ' and',
  ' multiply',
  ' the',
  ' numbers',
  ' ',
  '2',
  ' and',
  ' ',
  '3',
  '.',
];
export const GROQ_WHOLE_TOOLS = sseBody([
  oChunk({ role: 'assistant', content: '' }, null, { x_groq: { id: 'req_01k62v6abtexz9x4ehz7ept3nt' } }),
  ...GROQ_TEXT.map((content) => oChunk({ content })),
  oChunk({
    tool_calls: [
      {
        id: 'functions.add:0',
        type: 'function',
        function: { name: 'add', arguments: '{"a":2,"b":3}' },
        index: 0,
      },
    ],
  }),
  oChunk({
    tool_calls: [
      {
        id: 'functions.multiply:1',
        type: 'function',
        function: { name: 'multiply', arguments: '{"a":2,"b":3}' },
        index: 1,
      },
    ],
  }),
  oChunk({}, 'tool_calls', { x_groq: { id: 'req_01', usage: GROQ_USAGE }, usage: GROQ_USAGE }),
  { ...oUsageChunk(GROQ_USAGE), service_tier: 'on_demand' },
  '[DONE]',
]);

/** z.ai GLM-4.5: no `object`, role on every chunk, "\n" before reasoning, tool call in the finish chunk, duplicate finish. */
const glm = (delta: Record<string, unknown>, finish?: string, usage?: object) => ({
  id: '20250926190557',
  created: 1758884757,
  model: 'glm-4.5',
  choices: [
    { index: 0, ...(finish ? { finish_reason: finish } : {}), delta: { role: 'assistant', ...delta } },
  ],
  ...(usage ? { usage } : {}),
});
export const GLM_REASONING = ['The', ' user', ' wants', ' ', 'weather'];
export const GLM_STREAM = sseBody([
  glm({ content: '\n' }),
  ...GLM_REASONING.map((r) =>
    glm(r === ' ' ? { content: '', reasoning_content: r } : { reasoning_content: r }),
  ),
  glm({ content: '\n' }),
  glm({ content: 'I' }),
  glm({ content: "'ll check" }),
  glm(
    {
      tool_calls: [
        {
          id: 'call_51a97502d6444997b56fd204',
          index: 0,
          type: 'function',
          function: { name: 'weather', arguments: '{"location": "Florence,Italy"}' },
        },
      ],
    },
    'tool_calls',
  ),
  glm({ content: '' }, 'tool_calls', {
    prompt_tokens: 179,
    completion_tokens: 94,
    total_tokens: 273,
    prompt_tokens_details: { cached_tokens: 178 },
  }),
  '[DONE]',
]);
