import type { CanonicalMessage, CanonicalRequest } from '../protocol/types';

/* The request that continues a broken streamed answer (docs/failover.md#stream-resume). */

export interface Continuation {
  request: CanonicalRequest;
  /**
   * Whitespace cut from the end of the prefill (Anthropic rejects a final assistant turn that ends with
   * whitespace). The client already has it, so the same leading whitespace is dropped from the continuation.
   */
  skip: string;
}

/** `text` without its trailing whitespace, and what was cut. */
function trimEnd(text: string): { text: string; cut: string } {
  const trimmed = text.trimEnd();
  return { text: trimmed, cut: text.slice(trimmed.length) };
}

/** The client's own prefill (its last message is the assistant's) with the partial text appended. */
function extendPrefill(
  prefill: CanonicalMessage,
  partial: string,
): { message?: CanonicalMessage; skip: string } {
  if (typeof prefill.content === 'string') {
    const { text, cut } = trimEnd(prefill.content + partial);
    return { message: text ? { ...prefill, content: text } : undefined, skip: cut };
  }
  const content = [...prefill.content];
  const last = content[content.length - 1] as { type: string; text?: unknown } | undefined;
  const lastText = last?.type === 'text' && typeof last.text === 'string' ? last.text : undefined;
  const { text, cut } = trimEnd((lastText ?? '') + partial);
  if (lastText !== undefined) {
    content.pop();
  }
  if (text) {
    content.push(
      lastText !== undefined ? { ...(last as object), type: 'text', text } : { type: 'text', text },
    );
  }
  return { message: content.length > 0 ? { ...prefill, content } : undefined, skip: cut };
}

/**
 * The request that continues an answer: the original one plus the partial text as an assistant prefill (or
 * appended to the client's own prefill), streaming. With a prefill, `max_tokens` shrinks by the tokens already
 * sent (the whole answer stays within what the client asked for) and extended thinking is turned off (a final
 * assistant turn must then begin with a thinking block; the answer being resumed had none).
 */
export function continuationRequest(
  original: CanonicalRequest,
  partialText: string,
  tokensSoFar: number,
): Continuation {
  const messages = [...original.messages];
  const last = messages[messages.length - 1];
  let skip: string;
  if (last?.role === 'assistant') {
    const extended = extendPrefill(last, partialText);
    skip = extended.skip;
    messages.pop();
    if (extended.message) {
      messages.push(extended.message);
    }
  } else {
    const { text, cut } = trimEnd(partialText);
    skip = cut;
    if (text) {
      messages.push({ role: 'assistant', content: [{ type: 'text', text }] });
    }
  }
  const request: CanonicalRequest = { ...original, messages, stream: true };
  if (messages[messages.length - 1]?.role === 'assistant' && partialText !== '') {
    request.max_tokens = Math.max(1, original.max_tokens - tokensSoFar);
    if (request.thinking && request.thinking.type !== 'disabled') {
      delete request.thinking;
    }
  }
  return { request, skip };
}
