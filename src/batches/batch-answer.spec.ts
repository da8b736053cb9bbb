import type { GatewayAnswer } from '../gateway/gateway.service';
import { messageToEvents } from '../protocol/accumulate';
import { GatewayError } from '../protocol/errors';
import type { MessageResponse, StreamEvent } from '../protocol/types';
import { collectMessage } from './batch-answer';

const message: MessageResponse = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'm',
  content: [{ type: 'text', text: 'Hello' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 3, output_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
};

function answer(events: StreamEvent[]): { answer: GatewayAnswer; returned: () => boolean } {
  let returned = false;
  const [head, ...rest] = events;
  async function* gen(): AsyncGenerator<StreamEvent> {
    try {
      yield* rest;
    } finally {
      returned = true;
    }
  }
  return {
    answer: { head: head ? [head] : [], events: gen() } as unknown as GatewayAnswer,
    returned: () => returned,
  };
}

describe('collectMessage', () => {
  it('folds the events into the Message a non-stream /v1/messages would answer', async () => {
    const a = answer(messageToEvents(message));
    expect(await collectMessage(a.answer)).toEqual(message);
    expect(a.returned()).toBe(true);
  });

  it('turns an in-stream error into a GatewayError of its type', async () => {
    const events = messageToEvents(message).slice(0, 3);
    events.push({ type: 'error', error: { type: 'overloaded_error', message: 'busy' } });
    const a = answer(events);
    await expect(collectMessage(a.answer)).rejects.toMatchObject({ status: 529, type: 'overloaded_error' });
    expect(a.returned()).toBe(true);
  });

  it('refuses a cut answer', async () => {
    const a = answer(messageToEvents(message).slice(0, 4));
    const err = await collectMessage(a.answer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 502, type: 'api_error' });
  });
});
