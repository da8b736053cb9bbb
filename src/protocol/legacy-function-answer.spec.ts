import { legacyFunctionChunk, legacyFunctionCompletion } from './legacy-function-answer';

describe('legacy function_call answers', () => {
  it('a completion keeps the first call only, as message.function_call', () => {
    const out = legacyFunctionCompletion({
      id: 'c',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'a', type: 'function', function: { name: 'one', arguments: '{"x":1}' } },
              { id: 'b', type: 'function', function: { name: 'two', arguments: '{}' } },
            ],
          },
        },
      ],
    });
    expect(out.choices[0]).toEqual({
      index: 0,
      finish_reason: 'function_call',
      message: { role: 'assistant', content: null, function_call: { name: 'one', arguments: '{"x":1}' } },
    });
  });

  it('a text answer is left as it is', () => {
    const choice = { index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'hi' } };
    expect(legacyFunctionCompletion({ choices: [choice] }).choices[0]).toEqual(choice);
  });

  it('chunks: deltas of call 0 become delta.function_call, later calls are dropped', () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const first = legacyFunctionChunk(
      chunk({
        tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'one', arguments: '' } }],
      }),
    );
    expect(first.choices).toEqual([
      { index: 0, delta: { function_call: { name: 'one', arguments: '' } }, finish_reason: null },
    ]);
    const second = legacyFunctionChunk(chunk({ tool_calls: [{ index: 1, function: { arguments: '{}' } }] }));
    expect(second.choices).toEqual([{ index: 0, delta: {}, finish_reason: null }]);
    expect(legacyFunctionChunk(chunk({}, 'tool_calls')).choices).toEqual([
      { index: 0, delta: {}, finish_reason: 'function_call' },
    ]);
    const text = chunk({ content: 'x' });
    expect(legacyFunctionChunk(text)).toEqual(text);
  });
});
