import type { StopReason } from './types';

/** OpenAI finish_reason → Anthropic stop_reason (PROTOCOL.md §6.5). Non-stop values return null. */
export function finishReasonToStopReason(
  finish: string | null | undefined,
  sawToolCall = false,
): StopReason | null {
  if (sawToolCall) {
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
