/** OpenAI tool_calls fragments → tool_use blocks (PROTOCOL §6.9 step 4, §6.12). */
import { accumulateEvents } from './accumulate';
import { A, convertSse, oChunk, sseBody } from './openai-stream.test-helpers';
import { ToolNameMap } from './tool-ids';

const tool = (index: number, fields: { id?: string | number; name?: string; args?: string }) => ({
  index,
  ...(fields.id === undefined ? {} : { id: fields.id, type: 'function' }),
  function: {
    ...(fields.name === undefined ? {} : { name: fields.name }),
    ...(fields.args === undefined ? {} : { arguments: fields.args }),
  },
});
const calls = (...tc: object[]) => oChunk({ tool_calls: tc });

describe('tool calls', () => {
  it('providers that put every call at index 0: a new id starts a new block', () => {
    const body = sseBody([
      calls(tool(0, { id: 'a1', name: 'add', args: '{"a":' })),
      calls(tool(0, { args: '1}' })),
      calls(tool(0, { id: 'b2', name: 'mul', args: '{}' })),
      oChunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(convertSse(body)).toEqual([
      A.start(),
      A.tool(0, 'a1', 'add'),
      A.jd(0, '{"a":'),
      A.jd(0, '1}'),
      A.stop(0),
      A.tool(1, 'b2', 'mul'),
      A.jd(1, '{}'),
      A.stop(1),
      ...A.end('tool_use', A.usage(42, Math.ceil('{"a":1}{}'.length / 4))),
    ]);
  });

  it('start deferred until the name arrives; buffered args flushed right after the start', () => {
    const body = sseBody([
      calls(tool(0, { id: 'c1', args: '{"q":' })),
      calls(tool(0, { name: 'search', args: '"x"}' })),
      oChunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(convertSse(body).slice(0, 5)).toEqual([
      A.start(),
      A.tool(0, 'c1', 'search'),
      A.jd(0, '{"q":'),
      A.jd(0, '"x"}'),
      A.stop(0),
    ]);
  });

  it('interleaved argument fragments of parallel calls never land in the wrong block', () => {
    const body = sseBody([
      calls(
        tool(0, { id: 'a', name: 'one', args: '{"x":' }),
        tool(1, { id: 'b', name: 'two', args: '{"y":' }),
      ),
      calls(tool(0, { args: '1}' })),
      calls(tool(1, { args: '2}' })),
      oChunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    const events = convertSse(body);
    expect(events).toEqual([
      A.start(),
      A.tool(0, 'a', 'one'),
      A.jd(0, '{"x":'),
      A.jd(0, '1}'),
      A.stop(0),
      A.tool(1, 'b', 'two'),
      A.jd(1, '{"y":'),
      A.jd(1, '2}'),
      A.stop(1),
      ...A.end('tool_use', A.usage(42, Math.ceil('{"x":1}{"y":2}'.length / 4))),
    ]);
    expect(accumulateEvents(events).content).toMatchObject([{ input: { x: 1 } }, { input: { y: 2 } }]);
  });

  it('shortened upstream names are mapped back; a missing id gets a toolu_ id; nameless calls are dropped', () => {
    const long = 'mcp__some_server_with_a_long_name__and_a_tool_with_an_even_longer_name';
    const names = ToolNameMap.fromNames([long]);
    const body = sseBody([
      calls(tool(0, { name: names.upstream(long), args: '{}' }), tool(1, { id: 'n', args: '{}' })),
      oChunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    const starts = convertSse(body, { toolNames: names }).filter((e) => e.type === 'content_block_start');
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({
      content_block: { type: 'tool_use', name: long, id: expect.stringMatching(/^toolu_[a-zA-Z0-9_-]+$/) },
    });
  });

  it('text after a tool opens a new block (never reopens one); thinking before text closes with a signature', () => {
    const body = sseBody([
      oChunk({ reasoning_content: 'r' }),
      oChunk({ content: 'a' }),
      calls(tool(0, { id: 't', name: 'f', args: '{}' })),
      oChunk({ content: 'b' }),
      oChunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(convertSse(body, { mintSignature: (t) => `sig(${t})` })).toEqual([
      A.start(),
      A.thinking(0),
      A.thd(0, 'r'),
      A.sig(0, 'sig(r)'),
      A.stop(0),
      A.text(1),
      A.td(1, 'a'),
      A.stop(1),
      A.tool(2, 't', 'f'),
      A.jd(2, '{}'),
      A.stop(2),
      A.text(3),
      A.td(3, 'b'),
      A.stop(3),
      ...A.end('tool_use', A.usage(42, 2)),
    ]);
  });

  it('a chunk carrying reasoning, content, a tool call and finish_reason loses nothing (litellm#25321)', () => {
    const body = sseBody([
      {
        ...oChunk(
          {
            reasoning_content: 'r',
            content: 'c',
            tool_calls: [tool(0, { id: 't', name: 'f', args: '{"k":1}' })],
          },
          'tool_calls',
        ),
      },
      '[DONE]',
    ]);
    const msg = accumulateEvents(convertSse(body));
    expect(msg.content).toMatchObject([
      { type: 'thinking', thinking: 'r' },
      { type: 'text', text: 'c' },
      { type: 'tool_use', input: { k: 1 } },
    ]);
  });
});
