import fc from 'fast-check';
import { MISSING_TOOL_RESULT } from './anthropic-messages-to-openai';
import { anthropicToOpenAIRequest, type OpenAIRequestOptions } from './anthropic-to-openai';
import { loadClaudeCodeCaptures } from './claude-code-fixtures.test-helpers';
import type { OpenAIChatRequest, OpenAIMessage } from './openai-types';
import { openAICompletionToAnthropicMessage } from './openai-to-anthropic';
import { ToolNameMap } from './tool-ids';
import type { CanonicalMessage, CanonicalRequest } from './types';

const convert = (
  req: Partial<CanonicalRequest>,
  opts: Partial<OpenAIRequestOptions> = {},
): OpenAIChatRequest =>
  anthropicToOpenAIRequest(
    { model: 'claude', max_tokens: 100, messages: [], ...req },
    { model: 'up', ...opts },
  );

describe('anthropicToOpenAIRequest — whitespace-only user messages', () => {
  it('are sent as they are (O accepts them; dropping one would answer another conversation)', () => {
    for (const content of ['  ', [{ type: 'text' as const, text: ' \n ' }]]) {
      const out = convert({
        messages: [
          { role: 'user', content: 'first' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content },
        ],
      });
      expect(out.messages.at(-1)).toEqual({
        role: 'user',
        content: typeof content === 'string' ? content : ' \n ',
      });
      expect(out.messages).toHaveLength(3);
    }
  });

  it('beside real content a blank block is still left out', () => {
    const out = convert({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: ' ' },
            { type: 'text', text: 'hi' },
          ],
        },
      ],
    });
    expect(out.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
  });
});

describe('anthropicToOpenAIRequest — pairing repairs', () => {
  const call = (id: string): CanonicalMessage => ({
    role: 'assistant',
    content: [{ type: 'tool_use', id, name: 'f', input: {} }],
  });

  it('drops an orphan tool_result', () => {
    const out = convert({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'ghost', content: 'x' },
            { type: 'text', text: 'hi' },
          ],
        },
      ],
    });
    expect(out.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
  });

  it('synthesises a missing tool result, before the next user content', () => {
    const out = convert({
      messages: [{ role: 'user', content: 'go' }, call('toolu_a'), { role: 'user', content: 'interrupted' }],
    });
    expect(out.messages.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 'toolu_a', content: MISSING_TOOL_RESULT },
      { role: 'user', content: 'interrupted' },
    ]);
  });

  it('sanitises ids identically on both sides and holds a system entry back until results are out', () => {
    const out = convert({
      messages: [
        call('functions.add:0'),
        { role: 'system', content: 'reminder' },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'functions.add:0', content: '3' }] },
      ],
    });
    expect(out.messages.map((m) => [m.role, m.tool_call_id ?? m.tool_calls?.[0].id])).toEqual([
      ['assistant', 'functions_add_0'],
      ['tool', 'functions_add_0'],
      ['system', undefined],
    ]);
  });

  it('property: every tool_call is answered by exactly one tool message right after it', () => {
    const id = fc.constantFrom('toolu_1', 'toolu_2', 'call.3', 'functions.x:4', 'toolu_5');
    const block = fc.oneof(
      fc.record({ type: fc.constant('text'), text: fc.constantFrom('', 'hi', ' ') }),
      fc.record({
        type: fc.constant('tool_use'),
        id,
        name: fc.constantFrom('a', 'b'),
        input: fc.constant({}),
      }),
      fc.record({ type: fc.constant('tool_result'), tool_use_id: id, content: fc.constantFrom('r', '') }),
      fc.record({ type: fc.constant('thinking'), thinking: fc.constant('t'), signature: fc.constant('s') }),
    );
    const message = fc.record({
      role: fc.constantFrom<CanonicalMessage['role']>('user', 'assistant', 'system'),
      content: fc.oneof(fc.constantFrom('', 'text'), fc.array(block, { maxLength: 4 })),
    });
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 12 }),
        fc.constantFrom<OpenAIRequestOptions['reasoning']>('none', 'deepseek'),
        (messages, reasoning) => {
          const out = convert({ messages }, { reasoning }).messages;
          assertPaired(out);
        },
      ),
      { numRuns: 500 },
    );
  });
});

function assertPaired(out: OpenAIMessage[]): void {
  for (let i = 0; i < out.length; i++) {
    const msg = out[i];
    if (msg.role === 'tool') {
      throw new Error(`tool message at ${i} does not follow its assistant`);
    }
    const ids = (msg.tool_calls ?? []).map((c) => c.id);
    const answers = out.slice(i + 1, i + 1 + ids.length);
    expect(answers.map((m) => m.role)).toEqual(ids.map(() => 'tool'));
    expect(answers.map((m) => m.tool_call_id).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      expect(id).toMatch(/^[a-zA-Z0-9_-]+$/);
    }
    i += ids.length;
  }
}

describe('Claude Code captures → OpenAI', () => {
  it.each(loadClaudeCodeCaptures().map((c) => [c.name, c] as const))('%s', (_name, capture) => {
    const out = anthropicToOpenAIRequest(capture.body, {
      model: 'gpt-x',
      reasoning: 'openai',
      toolNames: new ToolNameMap(),
    });
    const systemAt = capture.body.messages.findIndex((m) => m.role === 'system');
    // The top-level system message comes first, so the mid-conversation entry sits one further.
    expect(out.messages[0].role).toBe('system');
    expect(out.messages[systemAt + 1]).toEqual({
      role: 'system',
      content: capture.body.messages[systemAt].content,
    });
    expect(out.tools).toHaveLength(24);
    for (const tool of out.tools ?? []) {
      expect(tool.function.parameters).toMatchObject({ type: 'object', properties: expect.any(Object) });
    }
    expect(out).not.toHaveProperty('context_management');
    expect(out).not.toHaveProperty('output_config');
    expect(out).not.toHaveProperty('metadata');
    expect(out.user?.length).toBeLessThanOrEqual(64);
    expect(out.reasoning_effort).toBe('high');
    assertPaired(out.messages);
  });
});

describe('tool names longer than 64 characters', () => {
  it('round-trips through the shared ToolNameMap', () => {
    const long = 'mcp__' + 'very_long_server_name_'.repeat(4) + '__do_something';
    const names = new ToolNameMap();
    const req = convert(
      {
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ name: long, input_schema: { type: 'object' } }],
        tool_choice: { type: 'tool', name: long },
      },
      { toolNames: names },
    );
    const sent = req.tools![0].function.name;
    expect(sent.length).toBeLessThanOrEqual(64);
    expect(req.tool_choice).toEqual({ type: 'function', function: { name: sent } });
    const back = openAICompletionToAnthropicMessage(
      {
        id: 'c1',
        object: 'chat.completion',
        created: 0,
        model: 'm',
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: 'call_1', type: 'function', function: { name: sent, arguments: '{}' } }],
            },
          },
        ],
      },
      { model: 'claude', toolNames: names },
    );
    expect(back.content[0]).toMatchObject({ type: 'tool_use', name: long });
  });

  it('names every provider kind would reject (leading digit, dots, spaces) get a safe, distinct name', () => {
    const names = new ToolNameMap();
    const odd = ['1st_tool', 'web.search', 'get weather', '-dash', 'web_search'];
    const sent = odd.map((n) => names.upstream(n));
    for (const name of sent) {
      expect(name).toMatch(/^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$/);
    }
    expect(new Set(sent).size).toBe(odd.length);
    expect(sent[4]).toBe('web_search');
    expect(sent[1]).not.toBe('web_search');
    expect(odd.map((n, i) => names.original(sent[i]) === n)).toEqual(odd.map(() => true));
    expect(new ToolNameMap().upstream('web.search')).toBe(sent[1]);
  });
});
