import { isRecord } from '../common/is-record';

/**
 * Answers for clients of OpenAI's deprecated function calling (a request with `functions`): OpenAI answers
 * them with `message.function_call` and `finish_reason: "function_call"`, never `tool_calls`, and makes one
 * call at most. Applied last, to what the converters built for the current shape.
 */
type Rec = Record<string, unknown>;

function legacyFinish(reason: unknown): unknown {
  return reason === 'tool_calls' ? 'function_call' : reason;
}

/** A `chat.completion` in the legacy shape: its first tool call becomes `function_call`. */
export function legacyFunctionCompletion<T extends { choices: unknown[] }>(completion: T): T {
  const choices = completion.choices.map((choice) => {
    if (!isRecord(choice) || !isRecord(choice.message)) {
      return choice;
    }
    const { tool_calls: calls, ...message } = choice.message;
    const first = Array.isArray(calls) && isRecord(calls[0]) ? calls[0] : undefined;
    const fn = first && isRecord(first.function) ? first.function : undefined;
    return {
      ...choice,
      message: fn ? { ...message, function_call: { name: fn.name, arguments: fn.arguments } } : message,
      finish_reason: legacyFinish(choice.finish_reason),
    };
  });
  return { ...completion, choices };
}

/**
 * A `chat.completion.chunk` in the legacy shape: deltas of the first tool call (index 0) become
 * `delta.function_call` (`name` in its first delta, then `arguments` pieces); later calls are dropped.
 */
export function legacyFunctionChunk(chunk: Rec): Rec {
  if (!Array.isArray(chunk.choices)) {
    return chunk;
  }
  const choices = chunk.choices.map((choice: unknown) => {
    if (!isRecord(choice)) {
      return choice;
    }
    const out: Rec = { ...choice, finish_reason: legacyFinish(choice.finish_reason) };
    if (isRecord(choice.delta) && choice.delta.tool_calls !== undefined) {
      const { tool_calls: calls, ...delta } = choice.delta;
      const first = Array.isArray(calls) ? calls.find((c) => isRecord(c) && c.index === 0) : undefined;
      const fn = isRecord(first) && isRecord(first.function) ? first.function : undefined;
      out.delta = fn ? { ...delta, function_call: fn } : delta;
    }
    return out;
  });
  return { ...chunk, choices };
}
