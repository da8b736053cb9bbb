import type { StopReason, StreamEvent } from '../protocol/types';

/** A complete canonical answer: one text block split into `parts`. */
export function answerEvents(
  parts: string[],
  opts: { input?: number; output?: number; stop?: StopReason } = {},
): StreamEvent[] {
  return [
    {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'm',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: opts.input ?? 10,
          output_tokens: 1,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
      },
    },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ...parts.map((text): StreamEvent => ({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text },
    })),
    { type: 'content_block_stop', index: 0 },
    {
      type: 'message_delta',
      delta: { stop_reason: opts.stop ?? 'end_turn', stop_sequence: null },
      usage: { output_tokens: opts.output ?? 20 },
    },
    { type: 'message_stop' },
  ];
}
