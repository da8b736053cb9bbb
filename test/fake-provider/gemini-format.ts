/** Gemini generateContent / streamGenerateContent wire format. */
import { fakeId, reasoningTokens, type AnswerPlan } from './behaviour';
import type { Frame } from './playback';

export const GEMINI_MALFORMED_FRAME =
  'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"bro\r\n\r\n';

const FINISH: Record<AnswerPlan['finish'], string> = {
  stop: 'STOP',
  length: 'MAX_TOKENS',
  content_filter: 'SAFETY',
  tool_calls: 'STOP',
};

const THOUGHT_SIGNATURE = Buffer.from('fake-provider-thought-signature').toString('base64');

export function geminiUsage(plan: AnswerPlan): Record<string, number> {
  const { input, output, cacheRead } = plan.usage;
  const thoughts = reasoningTokens(plan);
  const usage: Record<string, number> = {
    promptTokenCount: input + cacheRead,
    candidatesTokenCount: output - thoughts,
    totalTokenCount: input + cacheRead + output,
  };
  if (cacheRead > 0) {
    usage.cachedContentTokenCount = cacheRead;
  }
  if (thoughts > 0) {
    usage.thoughtsTokenCount = thoughts;
  }
  return usage;
}

function functionCallPart(plan: AnswerPlan): Record<string, unknown> | null {
  const tc = plan.toolCall;
  return tc
    ? { functionCall: { name: tc.name, args: tc.arguments }, thoughtSignature: THOUGHT_SIGNATURE }
    : null;
}

function response(
  plan: AnswerPlan,
  responseId: string,
  parts: Record<string, unknown>[],
  final: boolean,
): Record<string, unknown> {
  const candidate: Record<string, unknown> = { content: { role: 'model', parts }, index: 0 };
  if (final) {
    candidate.finishReason = plan.refusal !== null ? 'SAFETY' : FINISH[plan.finish];
  }
  const out: Record<string, unknown> = { candidates: [candidate] };
  if (final) {
    out.usageMetadata = geminiUsage(plan);
  }
  out.modelVersion = plan.model;
  out.responseId = responseId;
  return out;
}

/** `sse`: `data:` lines (alt=sse); otherwise the default JSON-array stream. */
export function geminiStreamFrames(plan: AnswerPlan, sse: boolean): Frame[] {
  const responseId = fakeId('');
  const frames: Frame[] = [];
  const push = (payload: Record<string, unknown>, phase: Frame['phase'], delta: boolean) => {
    const json = JSON.stringify(payload);
    const data = sse ? `data: ${json}\r\n\r\n` : `${frames.length === 0 ? '[' : ',\r\n'}${json}`;
    frames.push({ data, phase, delta });
  };
  for (const piece of plan.reasoningChunks) {
    push(response(plan, responseId, [{ text: piece, thought: true }], false), 'body', true);
  }
  for (const piece of plan.textChunks) {
    push(response(plan, responseId, [{ text: piece }], false), 'body', true);
  }
  const call = functionCallPart(plan);
  if (call) {
    push(response(plan, responseId, [call], false), 'body', true);
  }
  push(response(plan, responseId, [{ text: '' }], true), 'tail', false);
  if (!sse) {
    frames.push({ data: ']', phase: 'done' });
  }
  return frames;
}

export function geminiResponse(plan: AnswerPlan): Record<string, unknown> {
  const parts: Record<string, unknown>[] = [];
  if (plan.reasoning) {
    parts.push({ text: plan.reasoning, thought: true });
  }
  if (plan.text) {
    parts.push({ text: plan.text });
  }
  const call = functionCallPart(plan);
  if (call) {
    parts.push(call);
  }
  return response(plan, fakeId(''), parts, true);
}
