import type { CanonicalRequest } from '../../protocol/types';
import type { ProviderConfig } from '../provider.types';
import { enhancetool, tooluse } from './response.transformers';
import { repairToolArguments } from './tool-args-repair';
import type { JsonObject, ResponseTransform, TransformContext } from './transformer.types';

const provider: ProviderConfig = { name: 'p', api_base_url: 'https://example.test/v1', models: ['m'] };
const request: CanonicalRequest = {
  model: 'c',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hi' }],
  tools: [{ name: 'add', input_schema: { type: 'object' } }],
};
const ctx: TransformContext = { provider, model: 'm', kind: 'openai', request, stream: true };

function chunk(delta: JsonObject, finish: string | null = null): JsonObject {
  return {
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

function feed(h: ResponseTransform, chunks: JsonObject[]): JsonObject[] {
  return [...chunks.flatMap((c) => h.chunk!(c)), ...h.flush!()];
}

const toolCalls = (out: JsonObject[]): any[] =>
  out.flatMap((c: any) => c.choices?.[0]?.delta?.tool_calls ?? []);

describe('repairToolArguments', () => {
  it.each([
    ['{"a":1}', '{"a":1}'],
    ['', '{}'],
    ['```json\n{"a": 1}\n```', '{"a":1}'],
    ["{'a': 1,}", '{"a":1}'],
    ['{"a": {"b": [1, 2', '{"a":{"b":[1,2]}}'],
    ['{"path": "/tmp/x', '{"path":"/tmp/x"}'],
    ['"{\\"a\\":1}"', '{"a":1}'],
    ['not json at all', '{}'],
  ])('%s → %s', (raw, expected) => {
    expect(repairToolArguments(raw)).toBe(expected);
  });
});

describe('enhancetool', () => {
  it('releases each tool call whole, with repaired arguments, before the finish chunk', () => {
    const h = enhancetool({}).response!(ctx)!;
    const out = feed(h, [
      chunk({ content: 'Let me add' }),
      chunk({
        tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'add', arguments: '' } }],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: "{'a': 1," } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ' "b": 2' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_2', function: { name: 'add', arguments: '{"a":3}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    expect(out[0]).toMatchObject({ choices: [{ delta: { content: 'Let me add' } }] });
    expect(toolCalls(out)).toEqual([
      { index: 0, id: 'call_1', type: 'function', function: { name: 'add', arguments: '{"a":1,"b":2}' } },
      { index: 1, id: 'call_2', type: 'function', function: { name: 'add', arguments: '{"a":3}' } },
    ]);
    expect((out[out.length - 1] as any).choices[0].finish_reason).toBe('tool_calls');
  });

  it('treats a new id at a reused index as a new call and flushes at end of stream', () => {
    const h = enhancetool({}).response!(ctx)!;
    const out = feed(h, [
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'add', arguments: '{"a":1}' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'b', function: { name: 'add', arguments: '{"a":2' } }] }),
    ]);
    expect(toolCalls(out).map((t) => [t.id, t.function.arguments])).toEqual([
      ['a', '{"a":1}'],
      ['b', '{"a":2}'],
    ]);
  });

  it('repairs non-stream tool arguments', async () => {
    const h = enhancetool({}).response!(ctx)!;
    const body = {
      choices: [
        { message: { role: 'assistant', tool_calls: [{ function: { name: 'add', arguments: '{a:1}' } }] } },
      ],
    };
    expect(await h.body!(body)).toEqual({
      choices: [
        { message: { role: 'assistant', tool_calls: [{ function: { name: 'add', arguments: '{"a":1}' } }] } },
      ],
    });
  });
});

describe('tooluse', () => {
  it('forces tool mode: required tool_choice, ExitTool and a reminder, only when tools are present', async () => {
    const t = tooluse({});
    const body = await t.request!(
      {
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ type: 'function', function: { name: 'add' } }],
      },
      ctx,
    );
    expect(body.tool_choice).toBe('required');
    expect((body.tools as any[]).map((x) => x.function.name)).toEqual(['add', 'ExitTool']);
    expect((body.messages as any[])[1]).toMatchObject({ role: 'system' });
    expect(await t.request!({ messages: [] }, ctx)).toEqual({ messages: [] });
  });

  it('turns a streamed ExitTool call into text and the finish into stop', () => {
    const h = tooluse({}).response!(ctx)!;
    const out = feed(h, [
      chunk({
        tool_calls: [
          { index: 0, id: 'x', type: 'function', function: { name: 'ExitTool', arguments: '{"respo' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'nse":"All done"}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    expect(toolCalls(out)).toEqual([]);
    expect(out.map((c: any) => [c.choices[0].delta.content, c.choices[0].finish_reason])).toEqual([
      ['All done', null],
      [undefined, 'stop'],
    ]);
  });

  it('keeps real tool calls and tool_use finish next to an ExitTool call', () => {
    const h = tooluse({}).response!(ctx)!;
    const out = feed(h, [
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'add', arguments: '{}' } }] }),
      chunk({
        tool_calls: [{ index: 1, id: 'x', function: { name: 'ExitTool', arguments: '{"response":"hi"}' } }],
      }),
      chunk({}, 'tool_calls'),
    ]);
    expect(toolCalls(out).map((t) => t.function.name)).toEqual(['add']);
    expect((out[out.length - 1] as any).choices[0].finish_reason).toBe('tool_calls');
  });

  it('rewrites a non-stream ExitTool answer', async () => {
    const h = tooluse({}).response!(ctx)!;
    const body = {
      choices: [
        {
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [{ function: { name: 'ExitTool', arguments: '{"response":"Done"}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
    };
    expect(await h.body!(body)).toEqual({
      choices: [{ message: { role: 'assistant', content: 'Done' }, finish_reason: 'stop' }],
    });
  });
});
