import { isRecord } from '../common/is-record';
import { invalid } from './validation-errors';

type Rec = Record<string, unknown>;

/** The call id given to a legacy assistant `function_call` (and to the `function` message answering it). */
const legacyCallId = (messageIndex: number): string => `call_legacy_${messageIndex}`;

function legacyToolChoice(call: unknown): unknown {
  if (call === 'none' || call === 'auto') {
    return call;
  }
  if (isRecord(call) && typeof call.name === 'string') {
    return { type: 'function', function: { name: call.name } };
  }
  throw invalid('function_call', 'must be "none", "auto" or {"name": <function name>}');
}

/**
 * History written with legacy functions: an assistant `function_call` becomes a one-call `tool_calls`, and a
 * `role:"function"` message the `tool` message answering the closest such call before it.
 */
function legacyMessages(messages: unknown[]): unknown[] {
  let lastCall: { id: string; name: unknown } | undefined;
  return messages.map((m, i) => {
    if (!isRecord(m)) {
      return m;
    }
    if (m.role === 'assistant' && isRecord(m.function_call)) {
      const { function_call: call, ...rest } = m;
      lastCall = { id: legacyCallId(i), name: call.name };
      const toolCall = {
        id: lastCall.id,
        type: 'function',
        function: { name: call.name, arguments: call.arguments ?? '{}' },
      };
      return { ...rest, tool_calls: [...(Array.isArray(m.tool_calls) ? m.tool_calls : []), toolCall] };
    }
    if (m.role === 'function') {
      if (!lastCall || (m.name !== undefined && m.name !== lastCall.name)) {
        throw invalid(
          `messages[${i}]`,
          'a "function" message must answer an earlier assistant message\'s function_call of the same name',
        );
      }
      const { name: _name, ...rest } = m;
      return { ...rest, role: 'tool', tool_call_id: lastCall.id };
    }
    return m;
  });
}

/** The request uses OpenAI's deprecated `functions`: its answer then takes the legacy shape too. */
export function usesLegacyFunctions(body: unknown): boolean {
  return isRecord(body) && body.functions !== undefined && body.functions !== null;
}

/**
 * OpenAI's deprecated function calling (still accepted by OpenAI): `functions` → `tools`, `function_call`
 * → `tool_choice`, and the history that goes with them. Legacy function calling makes one call at a time
 * (`parallel_tool_calls: false`); the answer goes back as `message.function_call`
 * (src/protocol/legacy-function-answer.ts).
 */
export function fromLegacyFunctions(body: Rec): Rec {
  const hasFunctions = body.functions !== undefined && body.functions !== null;
  const hasCall = body.function_call !== undefined && body.function_call !== null;
  const messages = Array.isArray(body.messages) ? body.messages : undefined;
  const legacyHistory = messages?.some(
    (m) => isRecord(m) && (m.role === 'function' || (m.role === 'assistant' && isRecord(m.function_call))),
  );
  if (!hasFunctions && !hasCall && !legacyHistory) {
    return body;
  }
  const { functions, function_call: functionCall, ...out } = body;
  if (hasFunctions) {
    if (!Array.isArray(functions)) {
      throw invalid('functions', 'must be an array of function definitions');
    }
    if (out.tools !== undefined && out.tools !== null) {
      throw invalid('functions', 'cannot be combined with tools; send tools only');
    }
    out.tools = functions.map((fn: unknown, i) => {
      if (!isRecord(fn) || typeof fn.name !== 'string' || fn.name === '') {
        throw invalid(`functions[${i}].name`, 'must be a non-empty string');
      }
      return { type: 'function', function: fn };
    });
    out.parallel_tool_calls ??= false;
  }
  if (hasCall) {
    if (out.tool_choice !== undefined && out.tool_choice !== null) {
      throw invalid('function_call', 'cannot be combined with tool_choice; send tool_choice only');
    }
    out.tool_choice = legacyToolChoice(functionCall);
  }
  if (messages && legacyHistory) {
    out.messages = legacyMessages(messages);
  }
  return out;
}
