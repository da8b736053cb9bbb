import { accumulateEvents } from '../../protocol/accumulate';
import { isMintedSignature } from '../../protocol/thinking-signature';
import { ToolNameMap } from '../../protocol/tool-ids';
import type { CanonicalRequest, StreamEvent } from '../../protocol/types';
import {
  anthropicToGeminiRequest,
  cleanGeminiSchema,
  GEMINI_SIGNATURE_PREFIX,
  GeminiStreamToAnthropic,
  SKIP_THOUGHT_SIGNATURE,
} from './gemini.codec';

describe('anthropicToGeminiRequest', () => {
  const req: CanonicalRequest = {
    model: 'claude-x',
    max_tokens: 2048,
    system: [
      { type: 'text', text: 'Be brief', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Really' },
    ],
    temperature: 0.3,
    top_p: 0.9,
    top_k: 40,
    stop_sequences: ['END'],
    thinking: { type: 'enabled', budget_tokens: 4096 },
    tool_choice: { type: 'tool', name: 'add' },
    tools: [
      {
        name: 'add',
        description: 'adds',
        input_schema: {
          $schema: 'http://json-schema.org/draft-07/schema#',
          type: 'object',
          additionalProperties: false,
          properties: {
            a: { type: 'number', exclusiveMinimum: 0 },
            b: { type: ['number', 'null'], default: 1 },
            mode: { const: 'fast' },
            when: { type: 'string', format: 'uri' },
          },
          required: ['a', 'ghost'],
        },
      },
      { name: 'noop', input_schema: { type: 'object', properties: {} } },
      { name: 'web_search', type: 'web_search_20250305' },
    ],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Add' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAA' } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'plan', signature: `${GEMINI_SIGNATURE_PREFIX}sig123` },
          { type: 'text', text: 'Adding' },
          { type: 'tool_use', id: 'toolu_1', name: 'add', input: { a: 1, b: 2 } },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '3' }] }],
      },
      { role: 'user', content: 'thanks' },
      { role: 'system', content: 'Mid-conversation note' },
    ],
  };

  it('maps contents, roles, parts, function calls and responses', () => {
    const body = anthropicToGeminiRequest(req);
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Add' }, { inlineData: { mimeType: 'image/png', data: 'AAA' } }] },
      {
        role: 'model',
        parts: [
          { text: 'Adding', thoughtSignature: 'sig123' },
          { functionCall: { name: 'add', args: { a: 1, b: 2 } }, thoughtSignature: SKIP_THOUGHT_SIGNATURE },
        ],
      },
      // consecutive user turns merge; the function name is looked up from the tool_use id
      {
        role: 'user',
        parts: [{ functionResponse: { name: 'add', response: { content: '3' } } }, { text: 'thanks' }],
      },
    ]);
    expect(body.systemInstruction).toEqual({
      parts: [{ text: 'Be brief\n\nReally\n\nMid-conversation note' }],
    });
  });

  it('maps tools with cleaned schemas, tool_choice and generationConfig', () => {
    const body = anthropicToGeminiRequest(req, { maxTokensCap: 1000 });
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: 'add',
            description: 'adds',
            parameters: {
              type: 'object',
              properties: {
                a: { type: 'number' },
                b: { type: 'number', nullable: true },
                mode: { enum: ['fast'], type: 'string' },
                when: { type: 'string' },
              },
              required: ['a'],
            },
          },
          { name: 'noop', description: '' },
        ],
      },
      { googleSearch: {} },
    ]);
    expect(body.toolConfig).toEqual({
      functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['add'] },
    });
    expect(body.generationConfig).toEqual({
      maxOutputTokens: 1000,
      temperature: 0.3,
      topP: 0.9,
      topK: 40,
      stopSequences: ['END'],
      thinkingConfig: { thinkingBudget: 4096, includeThoughts: true },
    });
  });

  it('cleans $ref/$defs, anyOf and allOf without mutating the input', () => {
    const schema = {
      $defs: { Pt: { type: 'object', properties: { x: { type: 'integer' } }, additionalProperties: false } },
      type: 'object',
      properties: {
        p: { $ref: '#/$defs/Pt' },
        q: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        r: { allOf: [{ type: 'string' }], description: 'r' },
      },
    };
    const copy = structuredClone(schema);
    expect(cleanGeminiSchema(schema)).toEqual({
      type: 'object',
      properties: {
        p: { type: 'object', properties: { x: { type: 'integer' } } },
        q: { nullable: true, anyOf: [{ type: 'string' }] },
        r: { type: 'string', description: 'r' },
      },
    });
    expect(schema).toEqual(copy);
  });
});

function run(chunks: unknown[], end = true): StreamEvent[] {
  const conv = new GeminiStreamToAnthropic({
    model: 'claude-x',
    inputTokensEstimate: 42,
    messageId: 'msg_1',
  });
  return [...conv.start(), ...chunks.flatMap((c) => conv.push(c)), ...(end ? conv.end() : [])];
}

describe('long tool names and odd content (A-F7, A-F1)', () => {
  const LONG = 'mcp__some_really_long_server_name__some_really_long_tool_name_that_exceeds_limit_xyz';
  const req: CanonicalRequest = {
    model: 'claude-x',
    max_tokens: 100,
    tools: [{ name: LONG, input_schema: { type: 'object', properties: {} } }, { name: 'short' }],
    tool_choice: { type: 'tool', name: LONG },
    messages: [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: LONG, input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: [null, 'x', { type: 'text', text: 'ok' }] },
        ],
      } as unknown as CanonicalRequest['messages'][number],
    ],
  };

  it('a name over 64 characters is shortened the same way everywhere it goes upstream, and mapped back', () => {
    const toolNames = new ToolNameMap();
    const body = anthropicToGeminiRequest(req, { toolNames }) as Record<string, any>;
    const short = body.tools[0].functionDeclarations[0].name as string;
    expect(short).toHaveLength(64);
    expect(short).toMatch(/^mcp__some_really_long_server_name__some_really_long_too_[0-9a-f]{8}$/);
    expect(body.tools[0].functionDeclarations[1].name).toBe('short');
    expect(body.contents[1].parts[0].functionCall.name).toBe(short);
    expect(body.contents[2].parts[0].functionResponse).toEqual({ name: short, response: { content: 'ok' } });
    expect(body.toolConfig.functionCallingConfig.allowedFunctionNames).toEqual([short]);

    const conv = new GeminiStreamToAnthropic({ model: 'claude-x', inputTokensEstimate: 1, toolNames });
    const answer = accumulateEvents([
      ...conv.start(),
      ...conv.push({
        candidates: [
          {
            content: { role: 'model', parts: [{ functionCall: { name: short, args: {} } }] },
            finishReason: 'STOP',
          },
        ],
      }),
      ...conv.end(),
    ]);
    expect(answer.content[0]).toMatchObject({ type: 'tool_use', name: LONG });
  });

  it('content lists with null or non-object items do not break the conversion (they are skipped)', () => {
    const odd = {
      ...req,
      messages: [
        { role: 'user', content: [null, { type: 'text', text: 'hi' }, 7] },
        { role: 'assistant', content: [null] },
      ],
    } as unknown as CanonicalRequest;
    const body = anthropicToGeminiRequest(odd) as Record<string, any>;
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'hi' }] }]);
  });
});

const types = (evs: StreamEvent[]): string[] =>
  evs.map((e) => (e.type === 'content_block_delta' ? e.delta.type : e.type));

describe('GeminiStreamToAnthropic', () => {
  it('maps thought parts, text and function calls to ordered blocks with usage', () => {
    const evs = run([
      { candidates: [{ content: { role: 'model', parts: [{ text: 'Let me ', thought: true }] } }] },
      {
        candidates: [
          { content: { role: 'model', parts: [{ text: 'think', thought: true }, { text: 'Sum:' }] } },
        ],
      },
      {
        candidates: [
          {
            content: { role: 'model', parts: [{ functionCall: { name: 'add', args: { a: 1 } } }] },
            finishReason: 'STOP',
          },
        ],
        usageMetadata: {
          promptTokenCount: 100,
          candidatesTokenCount: 20,
          cachedContentTokenCount: 60,
          thoughtsTokenCount: 5,
        },
      },
    ]);
    expect(types(evs)).toEqual([
      'message_start',
      'content_block_start',
      'thinking_delta',
      'thinking_delta',
      'signature_delta',
      'content_block_stop',
      'content_block_start',
      'text_delta',
      'content_block_stop',
      'content_block_start',
      'input_json_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const msg = accumulateEvents(evs);
    expect(msg.content[0]).toMatchObject({ type: 'thinking', thinking: 'Let me think' });
    expect(isMintedSignature((msg.content[0] as { signature: string }).signature)).toBe(true);
    expect(msg.content[1]).toEqual({ type: 'text', text: 'Sum:' });
    expect(msg.content[2]).toMatchObject({ type: 'tool_use', name: 'add', input: { a: 1 } });
    expect(msg.stop_reason).toBe('tool_use'); // forced: Gemini says STOP after a call
    expect(msg.usage).toEqual({
      input_tokens: 40,
      output_tokens: 25,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 60,
    });
    expect(msg.model).toBe('claude-x');
  });

  it('keeps a real thought signature inside the minted namespace', () => {
    const evs = run([
      {
        candidates: [
          {
            content: { parts: [{ text: 'hm', thought: true, thoughtSignature: 'abc' }] },
            finishReason: 'STOP',
          },
        ],
      },
    ]);
    expect(accumulateEvents(evs).content[0]).toMatchObject({ signature: `${GEMINI_SIGNATURE_PREFIX}abc` });
  });

  it.each([
    ['MAX_TOKENS', 'max_tokens'],
    ['SAFETY', 'refusal'],
    ['STOP', 'end_turn'],
  ])('finishReason %s → %s', (finish, stop) => {
    const evs = run([{ candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason: finish }] }]);
    expect(accumulateEvents(evs).stop_reason).toBe(stop);
  });

  it('a cut stream (EOF without finishReason) ends with an error event', () => {
    const evs = run([{ candidates: [{ content: { parts: [{ text: 'partial' }] } }] }]);
    expect(evs[evs.length - 1]).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'upstream stream ended before finishReason' },
    });
    expect(types(evs)).not.toContain('message_stop');
  });

  it('an error chunk and MALFORMED_FUNCTION_CALL are errors, never clean ends', () => {
    expect(run([{ error: { code: 500, message: 'boom' } }]).pop()).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'boom' },
    });
    expect(run([{ candidates: [{ finishReason: 'MALFORMED_FUNCTION_CALL' }] }]).pop()).toMatchObject({
      type: 'error',
    });
  });

  it('a blocked prompt (no candidates) is a refusal', () => {
    expect(accumulateEvents(run([{ promptFeedback: { blockReason: 'SAFETY' } }])).stop_reason).toBe(
      'refusal',
    );
  });
});
