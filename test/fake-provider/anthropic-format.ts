/** Anthropic Messages wire format (PROTOCOL §2, §3.2 grammar, §3.3 capture). */
import { fakeId, type AnswerPlan } from './behaviour';
import type { Frame } from './playback';

export const ANTHROPIC_MALFORMED_FRAME =
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"bro\n\n';

const STOP_REASON: Record<AnswerPlan['finish'], string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  content_filter: 'refusal',
  tool_calls: 'tool_use',
};

/** stop_reason, and for a refusal its stop_details (the real API's RefusalStopDetails). */
function stop(plan: AnswerPlan): Record<string, unknown> {
  if (plan.refusal !== null) {
    return {
      stop_reason: 'refusal',
      stop_details: { type: 'refusal', category: null, explanation: plan.refusal },
    };
  }
  return { stop_reason: STOP_REASON[plan.finish] };
}

function fakeSignature(thinking: string): string {
  return Buffer.from(`fake-provider-signature:${thinking.length}`).toString('base64');
}

function usage(plan: AnswerPlan, output: number): Record<string, number> {
  return {
    input_tokens: plan.usage.input,
    cache_creation_input_tokens: plan.usage.cacheCreation,
    cache_read_input_tokens: plan.usage.cacheRead,
    output_tokens: output,
  };
}

const event = (type: string, data: Record<string, unknown>): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

export function anthropicStreamFrames(plan: AnswerPlan): Frame[] {
  const frames: Frame[] = [];
  const push = (type: string, data: Record<string, unknown>, phase: Frame['phase'], delta = false) =>
    frames.push({ data: event(type, data), phase, delta });
  push(
    'message_start',
    {
      message: {
        id: fakeId('msg_'),
        type: 'message',
        role: 'assistant',
        model: plan.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usage(plan, 1),
      },
    },
    'head',
  );
  frames.push({ data: 'event: ping\ndata: {"type": "ping"}\n\n', phase: 'head' });

  let index = 0;
  if (plan.reasoning) {
    push(
      'content_block_start',
      { index, content_block: { type: 'thinking', thinking: '', signature: '' } },
      'body',
    );
    for (const piece of plan.reasoningChunks) {
      push(
        'content_block_delta',
        { index, delta: { type: 'thinking_delta', thinking: piece } },
        'body',
        true,
      );
    }
    const signature = fakeSignature(plan.reasoning);
    push('content_block_delta', { index, delta: { type: 'signature_delta', signature } }, 'body');
    push('content_block_stop', { index }, 'body');
    index++;
  }
  if (plan.textChunks.length > 0) {
    push('content_block_start', { index, content_block: { type: 'text', text: '' } }, 'body');
    for (const piece of plan.textChunks) {
      push('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }, 'body', true);
    }
    push('content_block_stop', { index }, 'body');
    index++;
  }
  const tc = plan.toolCall;
  if (tc) {
    const block = { type: 'tool_use', id: fakeId('toolu_'), name: tc.name, input: {} };
    push('content_block_start', { index, content_block: block }, 'body');
    push('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }, 'body');
    for (const fragment of tc.fragments) {
      push(
        'content_block_delta',
        { index, delta: { type: 'input_json_delta', partial_json: fragment } },
        'body',
        true,
      );
    }
    push('content_block_stop', { index }, 'body');
  }
  push(
    'message_delta',
    {
      delta: { ...stop(plan), stop_sequence: null },
      usage: usage(plan, plan.usage.output),
    },
    'tail',
  );
  push('message_stop', {}, 'done');
  return frames;
}

export function anthropicMessage(plan: AnswerPlan): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (plan.reasoning) {
    content.push({ type: 'thinking', thinking: plan.reasoning, signature: fakeSignature(plan.reasoning) });
  }
  if (plan.text) {
    content.push({ type: 'text', text: plan.text, citations: null });
  }
  if (plan.toolCall) {
    content.push({
      type: 'tool_use',
      id: fakeId('toolu_'),
      name: plan.toolCall.name,
      input: plan.toolCall.arguments,
    });
  }
  return {
    id: fakeId('msg_'),
    type: 'message',
    role: 'assistant',
    model: plan.model,
    content,
    ...stop(plan),
    stop_sequence: null,
    usage: usage(plan, plan.usage.output),
  };
}
