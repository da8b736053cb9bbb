import { messageToEvents } from '../../src/protocol/accumulate';
import type { CanonicalRequest, StreamEvent } from '../../src/protocol/types';

/** A complete, storable answer's canonical events. */
export function answerEvents(text = 'The answer. '.repeat(50), id = 'msg_test'): StreamEvent[] {
  return messageToEvents({
    id,
    type: 'message',
    role: 'assistant',
    model: 'fake-model',
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: 12,
      output_tokens: 34,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    },
  });
}

export function request(text = 'hello', extra: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    model: 'claude-sonnet-4-5',
    max_tokens: 256,
    messages: [{ role: 'user', content: text }],
    ...extra,
  };
}

let n = 0;
/** A key prefix no other test uses, so specs sharing one redis-server never see each other's keys. */
export const uniquePrefix = (name: string): string => `sy-test-${name}-${process.pid}-${++n}:`;
