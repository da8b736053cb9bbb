import type { GatewayAnswer } from '../gateway/gateway.service';
import { MessageAccumulator } from '../protocol/accumulate';
import { GatewayError, statusForErrorType } from '../protocol/errors';
import type { MessageResponse } from '../protocol/types';

/** Collects a whole answer; a terminal error event or a cut answer becomes a GatewayError. */
export async function collectMessage(answer: GatewayAnswer): Promise<MessageResponse> {
  const acc = new MessageAccumulator();
  try {
    answer.head.forEach((ev) => acc.push(ev));
    while (!acc.complete && !acc.error) {
      const next = await answer.events.next();
      if (next.done) {
        break;
      }
      acc.push(next.value);
    }
  } finally {
    await answer.events.return?.(undefined);
  }
  if (acc.error) {
    throw new GatewayError(statusForErrorType(acc.error.type), acc.error.message, { type: acc.error.type });
  }
  if (!acc.complete) {
    throw new GatewayError(502, 'upstream answer ended before it was complete', { type: 'api_error' });
  }
  return acc.message;
}
