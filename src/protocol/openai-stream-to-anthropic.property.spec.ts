/** Property: random OpenAI chunk streams convert to a grammatical A stream that accumulates to the expected message. */
import fc from 'fast-check';
import { accumulateEvents } from './accumulate';
import { convertSse, oChunk, oUsageChunk, sseBody } from './openai-stream.test-helpers';
import { mintThinkingSignature } from './thinking-signature';
import { sanitizeToolId } from './tool-ids';
import type { MessageResponse, ResponseBlock } from './types';

const fragment = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
const whitespace = fc.constantFrom(' ', '\n', '\t', '\r\n ');
const jsonObject = fc
  .dictionary(
    fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 4 },
  )
  .map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);
const toolCall = fc.record({
  id: fc.oneof(
    fc.stringMatching(/^call_[a-zA-Z0-9]{4,10}$/),
    fc.stringMatching(/^functions\.[a-z]{1,5}:[0-9]$/),
  ),
  name: fc.stringMatching(/^[a-z_]{1,10}$/),
  input: jsonObject,
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
  whole: fc.boolean(),
});
const scenario = fc.record({
  reasoning: fc.array(fragment, { maxLength: 5 }),
  text: fc.array(fc.oneof(fragment, whitespace), { maxLength: 8 }),
  tools: fc.array(toolCall, { maxLength: 3 }),
  finish: fc.constantFrom('stop', 'tool_calls'),
  usage: fc.option(fc.record({ prompt: fc.integer({ min: 1, max: 1e6 }), completion: fc.nat(1e5) }), {
    nil: undefined,
  }),
  chunkSize: fc.integer({ min: 1, max: 300 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function splitAt(s: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let from = 0;
  for (const p of [...points, s.length]) {
    parts.push(s.slice(from, p));
    from = p;
  }
  return parts.filter((p) => p !== '');
}

function upstreamBody(s: Scenario): string {
  const chunks: object[] = [oChunk({ role: 'assistant', content: '' })];
  s.reasoning.forEach((r) => chunks.push(oChunk({ reasoning_content: r })));
  s.text.forEach((t) => chunks.push(oChunk({ content: t })));
  s.tools.forEach((t, index) => {
    const args = JSON.stringify(t.input);
    const head = {
      index,
      id: t.id,
      type: 'function',
      function: { name: t.name, arguments: t.whole ? args : '' },
    };
    chunks.push(oChunk({ tool_calls: [head] }));
    if (!t.whole) {
      splitAt(args, t.cuts).forEach((arguments_) =>
        chunks.push(oChunk({ tool_calls: [{ index, function: { arguments: arguments_ } }] })),
      );
    }
  });
  chunks.push(oChunk({}, s.finish));
  if (s.usage) {
    chunks.push(oUsageChunk({ prompt_tokens: s.usage.prompt, completion_tokens: s.usage.completion }));
  }
  return sseBody([...chunks, '[DONE]']);
}

function expectedMessage(s: Scenario): MessageResponse {
  const content: ResponseBlock[] = [];
  const thinking = s.reasoning.join('');
  const text = s.text.join('');
  const hasText = /\S/.test(text);
  if (thinking !== '') {
    content.push({ type: 'thinking', thinking, signature: mintThinkingSignature(thinking) });
  }
  if (hasText) {
    content.push({ type: 'text', text });
  }
  s.tools.forEach((t) =>
    content.push({ type: 'tool_use', id: sanitizeToolId(t.id), name: t.name, input: t.input }),
  );
  const chars =
    thinking.length +
    (hasText ? text.length : 0) +
    s.tools.reduce((n, t) => n + JSON.stringify(t.input).length, 0);
  return {
    id: 'msg_test',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4',
    content,
    stop_reason: s.tools.length > 0 ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: s.usage
      ? {
          input_tokens: s.usage.prompt,
          output_tokens: s.usage.completion,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        }
      : {
          input_tokens: 42,
          output_tokens: Math.ceil(chars / 4),
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
  };
}

describe('OpenAIStreamToAnthropic properties', () => {
  it('random chunk streams accumulate to the expected message (grammar checked on every run)', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(accumulateEvents(convertSse(upstreamBody(s), {}, s.chunkSize))).toEqual(expectedMessage(s));
      }),
      { numRuns: 400 },
    );
  });

  it('a stream cut at any point ends in exactly one error event and stays grammatical', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), (s, cutSeed) => {
        const body = upstreamBody(s);
        const beforeDone = body.lastIndexOf('data: [DONE]');
        const finishAt = body.indexOf(`"finish_reason":"${s.finish}"`);
        // Cut strictly before the finish chunk is complete: no finish_reason, no [DONE] reached the parser.
        const cut = cutSeed % Math.max(1, Math.min(beforeDone, finishAt));
        const events = convertSse(body.slice(0, cut), {}, s.chunkSize);
        expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
        expect(events.at(-1)?.type).toBe('error');
        expect(events.some((e) => e.type === 'message_delta' || e.type === 'message_stop')).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
