/* Builders shared by the OpenAI-stream specs (test support only; nothing here runs in the gateway). */
import { OpenAIStreamToAnthropic, type OpenAIStreamOptions } from './openai-stream-to-anthropic';
import { SseParser, encodeOpenAIData } from './sse';
import { streamGrammarViolations } from './stream-grammar';
import type { BlockDelta, ResponseBlock, StopReason, StreamEvent, Usage } from './types';
import { emptyUsage } from './usage';

export const OPTS: OpenAIStreamOptions = {
  model: 'claude-sonnet-4',
  inputTokensEstimate: 42,
  messageId: 'msg_test',
};

/** An OpenAI chunk with the common fields api.openai.com sends. */
export function oChunk(
  delta: Record<string, unknown>,
  finish: string | null = null,
  extra: Record<string, unknown> = {},
) {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1758884649,
    model: 'gpt-4o-2024-08-06',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...extra,
  };
}

export function oUsageChunk(usage: Record<string, unknown>) {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1758884649,
    model: 'gpt-4o-2024-08-06',
    choices: [],
    usage,
  };
}

export const sseBody = (payloads: Array<object | '[DONE]' | { comment: string }>): string =>
  payloads
    .map((p) =>
      typeof p === 'object' && 'comment' in p ? `: ${String(p.comment)}\n\n` : encodeOpenAIData(p),
    )
    .join('');

/**
 * Runs an upstream SSE body through SseParser and the converter the way an adapter does, in `chunkSize`-byte
 * pieces, and checks the result against the stream grammar.
 */
export function convertSse(
  body: string,
  opts: Partial<OpenAIStreamOptions> = {},
  chunkSize = 7,
  eof = true,
): StreamEvent[] {
  const conv = new OpenAIStreamToAnthropic({ ...OPTS, ...opts });
  const parser = new SseParser();
  const bytes = new TextEncoder().encode(body);
  const events: StreamEvent[] = [...conv.start()];
  for (let i = 0; i < bytes.length; i += chunkSize) {
    for (const msg of parser.push(bytes.subarray(i, i + chunkSize))) {
      events.push(...conv.pushData(msg.data));
    }
  }
  for (const msg of parser.end()) {
    events.push(...conv.pushData(msg.data));
  }
  if (eof) {
    events.push(...conv.end());
  }
  const problems = streamGrammarViolations(events, { complete: eof });
  if (problems.length > 0) {
    throw new Error(`grammar violations:\n${problems.join('\n')}`);
  }
  return events;
}

export const A = {
  start: (inputEstimate = 42, model = 'claude-sonnet-4'): StreamEvent => ({
    type: 'message_start',
    message: {
      id: 'msg_test',
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: emptyUsage(inputEstimate),
    },
  }),
  block: (index: number, content_block: ResponseBlock): StreamEvent => ({
    type: 'content_block_start',
    index,
    content_block,
  }),
  text: (index: number): StreamEvent => A.block(index, { type: 'text', text: '' }),
  thinking: (index: number): StreamEvent => A.block(index, { type: 'thinking', thinking: '', signature: '' }),
  tool: (index: number, id: string, name: string): StreamEvent =>
    A.block(index, { type: 'tool_use', id, name, input: {} }),
  delta: (index: number, delta: BlockDelta): StreamEvent => ({ type: 'content_block_delta', index, delta }),
  td: (index: number, text: string): StreamEvent => A.delta(index, { type: 'text_delta', text }),
  thd: (index: number, thinking: string): StreamEvent => A.delta(index, { type: 'thinking_delta', thinking }),
  sig: (index: number, signature: string): StreamEvent =>
    A.delta(index, { type: 'signature_delta', signature }),
  jd: (index: number, partial_json: string): StreamEvent =>
    A.delta(index, { type: 'input_json_delta', partial_json }),
  stop: (index: number): StreamEvent => ({ type: 'content_block_stop', index }),
  end: (stop_reason: StopReason, usage: Usage): StreamEvent[] => [
    { type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage },
    { type: 'message_stop' },
  ],
  usage: (input: number, output: number, read = 0, write = 0): Usage => ({
    input_tokens: input,
    output_tokens: output,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
  }),
};
