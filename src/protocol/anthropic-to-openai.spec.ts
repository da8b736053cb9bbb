import { anthropicToOpenAIRequest, type OpenAIRequestOptions } from './anthropic-to-openai';
import type { OpenAIChatRequest } from './openai-types';
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

describe('anthropicToOpenAIRequest — PROTOCOL §7 golden vectors', () => {
  it.each<[string, Partial<CanonicalRequest>, Partial<OpenAIChatRequest>]>([
    [
      '1 plain text',
      { system: 'Be brief', messages: [{ role: 'user', content: 'Hi' }] },
      {
        model: 'up',
        max_tokens: 100,
        messages: [
          { role: 'system', content: 'Be brief' },
          { role: 'user', content: 'Hi' },
        ],
      },
    ],
    [
      '2 system blocks + cache_control',
      {
        system: [
          { type: 'text', text: 'A', cache_control: { type: 'ephemeral' } },
          { type: 'text', text: 'B' },
        ],
        messages: [{ role: 'user', content: 'Hi' }],
      },
      {
        messages: [
          { role: 'system', content: 'A\n\nB' },
          { role: 'user', content: 'Hi' },
        ],
      },
    ],
    [
      '3 tool round trip',
      {
        messages: [
          { role: 'user', content: 'add 1 and 2' },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Let me add' },
              { type: 'tool_use', id: 'toolu_1', name: 'add', input: { a: 1, b: 2 } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '3' }] },
              { type: 'text', text: 'thanks' },
            ],
          },
        ],
      },
      {
        messages: [
          { role: 'user', content: 'add 1 and 2' },
          {
            role: 'assistant',
            content: 'Let me add',
            tool_calls: [
              { id: 'toolu_1', type: 'function', function: { name: 'add', arguments: '{"a":1,"b":2}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'toolu_1', content: '3' },
          { role: 'user', content: [{ type: 'text', text: 'thanks' }] },
        ],
      },
    ],
    [
      '4 error tool result + images',
      {
        messages: [
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'run', input: {} }] },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 't1', is_error: true, content: 'boom' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } },
              { type: 'image', source: { type: 'url', url: 'https://x.test/a.png' } },
            ],
          },
        ],
      },
      {
        messages: [
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 't1', type: 'function', function: { name: 'run', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 't1', content: 'Error: boom' },
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } },
              { type: 'image_url', image_url: { url: 'https://x.test/a.png' } },
            ],
          },
        ],
      },
    ],
  ])('%s', (_name, req, expected) => {
    expect(convert(req)).toMatchObject(expected);
  });

  it('2 keeps cache_control as text parts when the upstream honours it', () => {
    const out = convert(
      {
        system: [{ type: 'text', text: 'A', cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: 'x' }],
      },
      { keepCacheControl: true },
    );
    expect(out.messages[0]).toEqual({
      role: 'system',
      content: [{ type: 'text', text: 'A', cache_control: { type: 'ephemeral' } }],
    });
  });
});

describe('anthropicToOpenAIRequest — fields', () => {
  const msgs: CanonicalMessage[] = [{ role: 'user', content: 'x' }];

  it('maps tools, tool_choice and parallel calls; drops server tools', () => {
    const out = convert({
      messages: msgs,
      tools: [
        { name: 'get', description: 'd', input_schema: { type: 'object', required: ['q'] } },
        { type: 'web_search_20250305', name: 'web_search' },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
    });
    expect(out.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get',
          description: 'd',
          parameters: { type: 'object', required: ['q'], properties: {} },
        },
      },
    ]);
    expect(out.tool_choice).toBe('required');
    expect(out.parallel_tool_calls).toBe(false);
  });

  it('omits tool_choice and parallel_tool_calls when no tool is sent; drops a force on a dropped tool', () => {
    const serverOnly = convert({
      messages: msgs,
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      tool_choice: { type: 'tool', name: 'web_search', disable_parallel_tool_use: true },
    });
    expect(serverOnly).not.toHaveProperty('tools');
    expect(serverOnly).not.toHaveProperty('tool_choice');
    expect(serverOnly).not.toHaveProperty('parallel_tool_calls');
    const mixed = convert({
      messages: msgs,
      tools: [{ name: 'a' }, { type: 'web_search_20250305', name: 'web_search' }],
      tool_choice: { type: 'tool', name: 'web_search' },
    });
    expect(mixed).not.toHaveProperty('tool_choice');
  });

  it('maps sampling, stop, format, max tokens cap and stream options', () => {
    const out = convert(
      {
        messages: msgs,
        max_tokens: 64000,
        temperature: 0.3,
        top_p: 0.9,
        top_k: 5,
        stop_sequences: ['a', 'b', 'c', 'd', 'e'],
        output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
        stream: true,
        context_management: { edits: [] },
        service_tier: 'auto',
        container: 'c',
      },
      { maxTokensField: 'max_completion_tokens', maxTokensCap: 8192, supportsTopK: true },
    );
    expect(out).toMatchObject({
      max_completion_tokens: 8192,
      temperature: 0.3,
      top_k: 5,
      stop: ['a', 'b', 'c', 'd'],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(out.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'structured_output', schema: { type: 'object' }, strict: true },
    });
    for (const dropped of ['top_p', 'max_tokens', 'context_management', 'service_tier', 'container']) {
      expect(out).not.toHaveProperty(dropped);
    }
    expect(convert({ messages: msgs, top_k: 5, stream: true }, { includeUsage: false })).not.toHaveProperty(
      'top_k',
    );
    expect(convert({ messages: msgs, stream: true }, { includeUsage: false })).not.toHaveProperty(
      'stream_options',
    );
  });

  it('hashes metadata.user_id to a stable ≤ 64-char user, per account rather than per session', () => {
    const a = convert({
      messages: msgs,
      metadata: { user_id: JSON.stringify({ device_id: 'dev', account_uuid: '', session_id: 's1' }) },
    }).user;
    const b = convert({
      messages: msgs,
      metadata: { user_id: JSON.stringify({ device_id: 'dev', account_uuid: '', session_id: 's2' }) },
    }).user;
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(b);
    expect(convert({ messages: msgs, metadata: { user_id: 'user_abc_account_u1_session_s1' } }).user).toBe(
      convert({ messages: msgs, metadata: { user_id: 'user_abc_account_u1_session_s2' } }).user,
    );
  });

  it('converts documents: PDF → file part, text → text part', () => {
    const out = convert({
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'document',
              source: { type: 'base64', media_type: 'application/pdf', data: 'JVBER' },
              title: 'a.pdf',
            },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hello' } },
            { type: 'text', text: '' },
          ],
        },
      ],
    });
    expect(out.messages[0].content).toEqual([
      { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBER' } },
      { type: 'text', text: 'hello' },
    ]);
  });
});
