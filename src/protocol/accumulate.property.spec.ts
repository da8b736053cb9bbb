import fc from 'fast-check';
import { MessageAccumulator, messageToEvents } from './accumulate';
import { SseParser, encodeAnthropicEvent } from './sse';
import type { MessageResponse, ResponseBlock, StreamEvent } from './types';

/** Property: Message → events → SSE bytes (split anywhere) → SseParser → JSON → accumulator → same Message. */
describe('round trip through the wire', () => {
  const str = fc.string({ unit: 'binary', maxLength: 40 });
  const jsonObject = fc
    .dictionary(
      fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'),
      fc.jsonValue({ maxDepth: 3 }),
      { maxKeys: 5 },
    )
    .map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);
  const block: fc.Arbitrary<ResponseBlock> = fc.oneof(
    fc.record({ type: fc.constant('text' as const), text: str }),
    fc.record({ type: fc.constant('thinking' as const), thinking: str, signature: str }),
    fc.record({
      type: fc.constant('tool_use' as const),
      id: fc.stringMatching(/^toolu_[a-zA-Z0-9]{1,12}$/),
      name: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_-]{0,20}$/),
      input: jsonObject,
    }),
    fc.record({ type: fc.constant('redacted_thinking' as const), data: str }),
  );
  const message: fc.Arbitrary<MessageResponse> = fc.record({
    id: fc.stringMatching(/^msg_[a-zA-Z0-9]{1,16}$/),
    type: fc.constant('message' as const),
    role: fc.constant('assistant' as const),
    model: str,
    content: fc.array(block, { maxLength: 6 }),
    stop_reason: fc.constantFrom(
      'end_turn' as const,
      'max_tokens' as const,
      'tool_use' as const,
      'stop_sequence' as const,
    ),
    stop_sequence: fc.option(str, { nil: null }),
    usage: fc.record({
      input_tokens: fc.nat(),
      output_tokens: fc.nat(),
      cache_creation_input_tokens: fc.nat(),
      cache_read_input_tokens: fc.nat(),
    }),
  });

  it('accumulates back to the original message', () => {
    fc.assert(
      fc.property(message, fc.array(fc.nat(), { maxLength: 12 }), (msg, cutSeeds) => {
        const wire = new TextEncoder().encode(messageToEvents(msg).map(encodeAnthropicEvent).join(''));
        const cuts = [...new Set(cutSeeds.map((s) => s % (wire.length + 1)))].sort((a, b) => a - b);
        const parser = new SseParser();
        const acc = new MessageAccumulator();
        let from = 0;
        for (const to of [...cuts, wire.length]) {
          for (const sse of parser.push(wire.subarray(from, to))) {
            const ev = JSON.parse(sse.data) as StreamEvent;
            expect(sse.event).toBe(ev.type);
            acc.push(ev);
          }
          from = to;
        }
        parser.end().forEach((sse) => acc.push(JSON.parse(sse.data) as StreamEvent));
        expect(acc.complete).toBe(true);
        expect(acc.message).toEqual(msg);
      }),
      { numRuns: 300 },
    );
  });
});
