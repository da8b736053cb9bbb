import type { StopReason } from './types';

/**
 * OpenAI finish_reason → Anthropic stop_reason (PROTOCOL.md §6.5). Non-stop values return null. A tool call
 * makes it `tool_use` (Ollama, Gemini, gpt-4o say `stop` with calls), except when the answer was cut
 * (`length`: the last call's arguments are incomplete) or filtered: the client must not run those calls.
 */
export function finishReasonToStopReason(
  finish: string | null | undefined,
  sawToolCall = false,
): StopReason | null {
  if (sawToolCall && finish !== 'length' && finish !== 'content_filter' && !isErrorFinishReason(finish)) {
    return 'tool_use';
  }
  switch (finish) {
    case 'stop':
    case null:
    case undefined:
      return 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    case 'insufficient_system_resource':
    case 'error':
      return null;
    default:
      return 'end_turn';
  }
}

/** True for finish reasons that signal a failure rather than an end (DeepSeek, OpenRouter). */
export function isErrorFinishReason(finish: string | null | undefined): boolean {
  return finish === 'insufficient_system_resource' || finish === 'error';
}

/** Anthropic stop_reason → OpenAI finish_reason. Never pass A values through raw. */
export function stopReasonToFinishReason(stop: StopReason | null | undefined): string {
  switch (stop) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
    case null:
    case undefined:
      return 'stop';
  }
}

/** What an OpenAI client reads as `refusal` when the answer has no refusal text of its own. */
export const REFUSAL_FALLBACK = 'The model refused to answer this request.';

/**
 * The OpenAI `refusal` of an Anthropic-style refusal (`stop_reason: "refusal"`): the explanation of its
 * `stop_details` (PROTOCOL §2.1) when the upstream gave one, else a fixed sentence — OpenAI clients tell a
 * refusal from an answer by a non-null `refusal`.
 */
export function refusalMessage(stopDetails: unknown): string {
  const explanation = (stopDetails as { explanation?: unknown } | null | undefined)?.explanation;
  return typeof explanation === 'string' && explanation !== '' ? explanation : REFUSAL_FALLBACK;
}

/**
 * The finish_reason of an answer to an OpenAI client. O agents loop on `tool_calls`, so an answer that hands
 * back calls never says `stop`; but a cut answer (`length`) or a refusal says so even with calls, exactly as
 * the stream does, so an agent does not run a call whose arguments were truncated.
 */
export function finishReasonFor(stop: StopReason | null | undefined, hasToolCalls: boolean): string {
  const finish = stopReasonToFinishReason(stop);
  return hasToolCalls && finish === 'stop' ? 'tool_calls' : finish;
}
