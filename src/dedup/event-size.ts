import type { StreamEvent } from '../protocol/types';

/**
 * An event's size for the cap: its JSON length, computed without serialising the bulk of a stream (the
 * deltas), whose size is their payload plus a fixed envelope.
 */
export function eventSize(event: StreamEvent): number {
  if (event.type === 'content_block_delta') {
    const d = event.delta;
    switch (d.type) {
      case 'text_delta':
        return d.text.length + 80;
      case 'input_json_delta':
        return d.partial_json.length + 94;
      case 'thinking_delta':
        return d.thinking.length + 88;
      case 'signature_delta':
        return d.signature.length + 90;
      case 'citations_delta':
        break;
    }
  }
  return JSON.stringify(event).length;
}
