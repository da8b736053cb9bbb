import { prepareAnthropicUpstream, type PassthroughOptions } from './anthropic-passthrough';
import { loadClaudeCodeCaptures } from './claude-code-fixtures.test-helpers';
import { mintThinkingSignature } from './thinking-signature';
import type { CanonicalMessage, CanonicalRequest } from './types';

const base = (over: Partial<CanonicalRequest>): CanonicalRequest => ({
  model: 'claude-client',
  max_tokens: 32000,
  messages: [{ role: 'user', content: 'hi' }],
  ...over,
});
const firstParty: PassthroughOptions = { firstParty: true, model: 'claude-sonnet-4' };
const thirdParty: PassthroughOptions = { firstParty: false, model: 'deepseek-chat' };

const toolTurn = (thinking: CanonicalMessage['content']): CanonicalMessage[] => [
  { role: 'user', content: 'list files' },
  { role: 'assistant', content: thinking },
  { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'a.txt' }] },
];

describe('prepareAnthropicUpstream — thinking (golden 15)', () => {
  const minted = { type: 'thinking' as const, thinking: 'plan', signature: mintThinkingSignature('plan') };
  const toolUse = { type: 'tool_use' as const, id: 'toolu_1', name: 'ls', input: {} };

  it('removes minted-signature blocks for api.anthropic.com and disables thinking the turn no longer supports', () => {
    const { body } = prepareAnthropicUpstream(
      base({ thinking: { type: 'enabled', budget_tokens: 10000 }, messages: toolTurn([minted, toolUse]) }),
      firstParty,
    );
    expect((body.messages as CanonicalMessage[])[1].content).toEqual([toolUse]);
    expect(body).not.toHaveProperty('thinking');
  });

  it('keeps real signatures and thinking', () => {
    const real = { type: 'thinking' as const, thinking: 'plan', signature: 'EqsDreal' };
    const { body } = prepareAnthropicUpstream(
      base({ thinking: { type: 'enabled', budget_tokens: 10000 }, messages: toolTurn([real, toolUse]) }),
      firstParty,
    );
    expect((body.messages as CanonicalMessage[])[1].content).toEqual([real, toolUse]);
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 10000 });
  });

  it('keeps thinking when the last assistant turn is a finished text answer', () => {
    const messages: CanonicalMessage[] = [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: [minted, { type: 'text', text: 'answer' }] },
      { role: 'user', content: 'next' },
    ];
    const { body } = prepareAnthropicUpstream(base({ thinking: { type: 'adaptive' }, messages }), firstParty);
    expect(body.thinking).toEqual({ type: 'adaptive' });
    expect((body.messages as CanonicalMessage[])[1].content).toEqual([{ type: 'text', text: 'answer' }]);
  });

  it('fits budget_tokens under a capped max_tokens, or drops thinking when it cannot fit', () => {
    expect(
      prepareAnthropicUpstream(base({ thinking: { type: 'enabled', budget_tokens: 10000 } }), {
        ...firstParty,
        maxTokensCap: 8192,
      }).body,
    ).toMatchObject({ max_tokens: 8192, thinking: { budget_tokens: 8191 } });
    expect(
      prepareAnthropicUpstream(base({ thinking: { type: 'enabled', budget_tokens: 10000 } }), {
        ...firstParty,
        maxTokensCap: 1000,
      }).body,
    ).not.toHaveProperty('thinking');
  });
});

describe('prepareAnthropicUpstream — repairs', () => {
  it('drops empty blocks and messages, sanitises tool ids on both sides, merges neighbours', () => {
    const { body } = prepareAnthropicUpstream(
      base({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'go' }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: ' ' },
              { type: 'tool_use', id: 'functions.ls:0', name: 'ls', input: {} },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'functions.ls:0', content: [{ type: 'text', text: '' }] },
            ],
          },
          { role: 'assistant', content: [{ type: 'thinking', thinking: '', signature: 'x' }] },
          { role: 'user', content: 'more' },
        ],
      }),
      firstParty,
    );
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'go' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'functions_ls_0', name: 'ls', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'functions_ls_0' },
          { type: 'text', text: 'more' },
        ],
      },
    ]);
  });

  it('a user message that is only whitespace is refused (A rejects it; dropping it would change the conversation)', () => {
    for (const content of ['   ', [{ type: 'text' as const, text: ' \n ' }]]) {
      const messages: CanonicalMessage[] = [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content },
      ];
      for (const opts of [firstParty, thirdParty]) {
        expect(() => prepareAnthropicUpstream(base({ messages }), opts)).toThrow(
          /^messages\[2\]: text content blocks must contain non-whitespace text/,
        );
      }
    }
    // Whitespace beside real content is only a blank block, dropped as before.
    const { body } = prepareAnthropicUpstream(
      base({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: ' ' },
              { type: 'text', text: 'hi' },
            ],
          },
        ],
      }),
      firstParty,
    );
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
  });

  it('replaces the model, keeps temperature over top_p, clamps max_tokens, never mutates the input', () => {
    const req = base({
      temperature: 0.5,
      top_p: 0.9,
      messages: toolTurn([{ type: 'tool_use', id: 'a.b', name: 'x', input: {} }]),
    });
    const before = structuredClone(req);
    const { body } = prepareAnthropicUpstream(req, { ...firstParty, maxTokensCap: 4096 });
    expect(body).toMatchObject({ model: 'claude-sonnet-4', temperature: 0.5, max_tokens: 4096 });
    expect(body).not.toHaveProperty('top_p');
    expect(req).toEqual(before);
  });
});

describe('prepareAnthropicUpstream — third parties', () => {
  it('keeps only allowlisted fields, safe user ids and allowed betas', () => {
    const req = base({
      context_management: { edits: [] },
      service_tier: 'auto',
      output_config: { effort: 'low' },
      metadata: { user_id: 'user_1' },
    });
    const { body, betaHeader } = prepareAnthropicUpstream(req, {
      ...thirdParty,
      betas:
        'context-management-2025-06-27, interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14',
      allowBetas: ['interleaved-thinking-2025-05-14', 'context-management-2025-06-27'],
    });
    expect(Object.keys(body).sort()).toEqual(['max_tokens', 'messages', 'metadata', 'model']);
    expect(body.metadata).toEqual({ user_id: 'user_1' });
    expect(betaHeader).toBe('interleaved-thinking-2025-05-14');
    expect(
      prepareAnthropicUpstream(req, { ...thirdParty, betas: 'interleaved-thinking-2025-05-14' }).betaHeader,
    ).toBeUndefined();
  });

  it('drops a JSON-string user_id and turns adaptive thinking into an effort budget', () => {
    const { body } = prepareAnthropicUpstream(
      base({
        metadata: { user_id: '{"device_id":"d"}' },
        thinking: { type: 'adaptive' },
        output_config: { effort: 'high' },
      }),
      thirdParty,
    );
    expect(body).not.toHaveProperty('metadata');
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 24576 });
  });

  it('honours a custom field allowlist (but never context_management)', () => {
    const { body } = prepareAnthropicUpstream(
      base({ context_management: {}, output_config: { effort: 'low' } }),
      {
        ...thirdParty,
        allowFields: ['model', 'messages', 'max_tokens', 'output_config', 'context_management'],
      },
    );
    expect(Object.keys(body).sort()).toEqual(['max_tokens', 'messages', 'model', 'output_config']);
  });
});

describe('Claude Code captures → Anthropic-kind upstreams', () => {
  const captures = loadClaudeCodeCaptures().map((c) => [c.name, c] as const);

  it.each(captures)(
    '%s, third party: hoists the system entry, strips context_management',
    (_name, capture) => {
      const { body, betaHeader } = prepareAnthropicUpstream(capture.body, {
        ...thirdParty,
        betas: capture.headers['anthropic-beta'],
      });
      const messages = body.messages as CanonicalMessage[];
      const entry = capture.body.messages.find((m) => m.role === 'system')!;
      expect(messages.some((m) => m.role === 'system')).toBe(false);
      expect((body.system as Array<{ text: string }>).at(-1)).toEqual({ type: 'text', text: entry.content });
      expect(body.system).toHaveLength((capture.body.system as unknown[]).length + 1);
      expect(body).not.toHaveProperty('context_management');
      expect(body).not.toHaveProperty('metadata');
      expect(betaHeader).toBeUndefined();
      messages.forEach((m, i) => expect(m.role).not.toBe(messages[i - 1]?.role));
    },
  );

  it.each(captures)(
    '%s, first party with the mid-conversation-system beta: keeps everything',
    (_name, capture) => {
      const { body, betaHeader } = prepareAnthropicUpstream(capture.body, {
        ...firstParty,
        betas: capture.headers['anthropic-beta'],
      });
      expect(body.messages).toEqual(capture.body.messages);
      expect(body.system).toEqual(capture.body.system);
      expect(body.context_management).toEqual(capture.body.context_management);
      expect(body.metadata).toEqual(capture.body.metadata);
      expect(betaHeader).toBe(capture.headers['anthropic-beta']);
    },
  );

  it.each(captures)('%s, first party without the beta: hoists the system entry', (_name, capture) => {
    const betas = capture.headers['anthropic-beta']
      .split(',')
      .filter((b) => !b.startsWith('mid-conversation-system'))
      .join(',');
    const { body } = prepareAnthropicUpstream(capture.body, { ...firstParty, betas });
    expect((body.messages as CanonicalMessage[]).some((m) => m.role === 'system')).toBe(false);
    expect(body.context_management).toEqual(capture.body.context_management);
  });
});
