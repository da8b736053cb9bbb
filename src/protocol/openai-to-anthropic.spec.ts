import { GatewayError } from './errors';
import { PLACEHOLDER_USER_TEXT } from './openai-messages-to-anthropic';
import type { OpenAIChatRequest } from './openai-types';
import { openAIRequestToAnthropic } from './openai-to-anthropic';

const req = (over: Partial<OpenAIChatRequest>): OpenAIChatRequest => ({
  model: 'gpt',
  messages: [{ role: 'user', content: 'hi' }],
  ...over,
});

describe('openAIRequestToAnthropic — golden 13 (OpenAI ingress with tools)', () => {
  it('maps system/developer, tool calls, grouped tool results and tool_choice', () => {
    const out = openAIRequestToAnthropic({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      tool_choice: 'required',
      parallel_tool_calls: false,
      tools: [
        {
          type: 'function',
          function: { name: 'add', parameters: { type: 'object', properties: { a: { type: 'number' } } } },
        },
        { type: 'function', function: { name: 'multiply' } },
      ],
      messages: [
        { role: 'system', content: 'You are a calculator.' },
        { role: 'developer', content: [{ type: 'text', text: 'Use tools.' }] },
        { role: 'user', content: 'Add 2+3 and multiply 2*3' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'add', arguments: '{"a":2,"b":3}' } },
            {
              id: 'functions.multiply:1',
              type: 'function',
              function: { name: 'multiply', arguments: '{"a":2,' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '5' },
        { role: 'tool', tool_call_id: 'functions.multiply:1', content: [{ type: 'text', text: '6' }] },
      ],
    });
    expect(out).toEqual({
      model: 'gpt-4o',
      max_tokens: 4096,
      stream: true,
      system: [
        { type: 'text', text: 'You are a calculator.' },
        { type: 'text', text: 'Use tools.' },
      ],
      tools: [
        { name: 'add', input_schema: { type: 'object', properties: { a: { type: 'number' } } } },
        { name: 'multiply', input_schema: { type: 'object', properties: {} } },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Add 2+3 and multiply 2*3' }] },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'call_1', name: 'add', input: { a: 2, b: 3 } },
            // Broken JSON arguments become {} — A never accepts a string input.
            { type: 'tool_use', id: 'functions_multiply_1', name: 'multiply', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: '5' },
            { type: 'tool_result', tool_use_id: 'functions_multiply_1', content: '6' },
          ],
        },
      ],
    });
  });

  it('appends the user content that follows tool messages after the tool results', () => {
    const out = openAIRequestToAnthropic(
      req({
        messages: [
          { role: 'user', content: 'go' },
          {
            role: 'assistant',
            content: 'ok',
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'c1', content: 'done' },
          { role: 'user', content: 'and now?' },
          { role: 'system', content: 'late rule' },
        ],
      }),
    );
    expect(out.messages[2]).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'c1', content: 'done' },
        { type: 'text', text: 'and now?' },
      ],
    });
    expect(out.system).toEqual([{ type: 'text', text: 'late rule' }]);
  });
});

describe('openAIRequestToAnthropic — fields', () => {
  it.each<[string, Partial<OpenAIChatRequest>, Record<string, unknown>]>([
    ['max_completion_tokens wins', { max_tokens: 10, max_completion_tokens: 20 }, { max_tokens: 20 }],
    ['stop string', { stop: 'END' }, { stop_sequences: ['END'] }],
    ['temperature clamped', { temperature: 1.7, top_p: 0.5 }, { temperature: 1, top_p: 0.5 }],
    ['user', { user: 'u-1' }, { metadata: { user_id: 'u-1' } }],
    [
      'json_schema',
      { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } } },
      { output_config: { format: { type: 'json_schema', schema: { type: 'object' } } } },
    ],
    [
      'effort low',
      { reasoning_effort: 'low', max_tokens: 4000 },
      { thinking: { type: 'enabled', budget_tokens: 1024 } },
    ],
    [
      'effort medium',
      { reasoning_effort: 'medium', max_tokens: 16000 },
      { thinking: { type: 'enabled', budget_tokens: 8192 } },
    ],
    [
      'effort high within the client max_tokens, leaving the answer 4096',
      { reasoning_effort: 'high', max_tokens: 10000 },
      { max_tokens: 10000, thinking: { type: 'enabled', budget_tokens: 5904 } },
    ],
    [
      'named tool_choice',
      {
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
      },
      { tool_choice: { type: 'tool', name: 'f' } },
    ],
  ])('%s', (_name, over, expected) => {
    expect(openAIRequestToAnthropic(req(over))).toMatchObject(expected);
  });

  it('omits thinking that does not fit max_tokens, and drops sampling A rejects with thinking', () => {
    expect(openAIRequestToAnthropic(req({ reasoning_effort: 'high', max_tokens: 1000 }))).not.toHaveProperty(
      'thinking',
    );
    const out = openAIRequestToAnthropic(
      req({ reasoning_effort: 'medium', max_tokens: 20000, temperature: 0.2, top_p: 0.5 }),
    );
    expect(out).not.toHaveProperty('temperature');
    expect(out).not.toHaveProperty('top_p');
  });

  it('uses defaultMaxTokens and drops tool fields when no tools are sent', () => {
    const out = openAIRequestToAnthropic(req({ tool_choice: 'auto', parallel_tool_calls: false }), {
      defaultMaxTokens: 1234,
    });
    expect(out.max_tokens).toBe(1234);
    expect(out).not.toHaveProperty('tool_choice');
  });

  it('maps image and file parts', () => {
    const out = openAIRequestToAnthropic(
      req({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4A' } },
              { type: 'image_url', image_url: { url: 'https://x.test/a.png' } },
              { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBER' } },
            ],
          },
        ],
      }),
    );
    expect(out.messages[0].content).toEqual([
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4A' } },
      { type: 'image', source: { type: 'url', url: 'https://x.test/a.png' } },
      {
        type: 'document',
        source: { type: 'base64', media_type: 'application/pdf', data: 'JVBER' },
        title: 'a.pdf',
      },
    ]);
  });

  it('guarantees alternation: merges same-role turns, adds a placeholder user turn', () => {
    const out = openAIRequestToAnthropic(
      req({
        messages: [
          { role: 'assistant', content: 'earlier' },
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ],
      }),
    );
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: PLACEHOLDER_USER_TEXT }] },
      { role: 'assistant', content: [{ type: 'text', text: 'earlier' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      },
    ]);
  });
});

describe('openAIRequestToAnthropic — validation', () => {
  it.each<[string, unknown, RegExp]>([
    ['model missing', { messages: [{ role: 'user', content: 'x' }] }, /^model/],
    ['messages empty', { model: 'm', messages: [] }, /^messages/],
    ['n > 1', req({ n: 2 }), /^n:/],
    ['logprobs', req({ logprobs: true }), /^logprobs/],
    ['audio', req({ audio: { voice: 'x' } }), /^audio/],
    ['bad max_tokens', req({ max_tokens: -1 }), /^max_tokens/],
    ['legacy function role', req({ messages: [{ role: 'function', content: 'x' }] }), /^messages\[0\]\.role/],
    ['tool without id', req({ messages: [{ role: 'tool', content: 'x' }] }), /^messages\[0\]\.tool_call_id/],
    [
      'audio part',
      req({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }),
      /^messages\[0\]\.content\[0\]/,
    ],
    [
      'ftp image',
      req({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x' } }] }] }),
      /image_url\.url/,
    ],
    ['only system', req({ messages: [{ role: 'system', content: 'x' }] }), /^messages/],
  ])('%s → 400', (_name, body, message) => {
    const run = (): unknown => openAIRequestToAnthropic(body as OpenAIChatRequest);
    expect(run).toThrow(GatewayError);
    expect(run).toThrow(message);
    try {
      run();
    } catch (err) {
      expect(err).toMatchObject({ status: 400, type: 'invalid_request_error' });
    }
  });
});
