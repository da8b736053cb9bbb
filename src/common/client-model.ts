/**
 * The longest client model name the gateway repeats (outcomes and history rows, error messages, log lines).
 * The name is the client's own string — also on a request the API key refused, up to the body limit — and
 * real model ids are far shorter.
 */
export const MAX_CLIENT_MODEL_CHARS = 200;

/** The client's model name, cut to MAX_CLIENT_MODEL_CHARS (ending in `…` when cut). */
export function boundedModel<T extends string | undefined>(model: T): T {
  return (
    model === undefined || model.length <= MAX_CLIENT_MODEL_CHARS
      ? model
      : `${model.slice(0, MAX_CLIENT_MODEL_CHARS - 1)}…`
  ) as T;
}
