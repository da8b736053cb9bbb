/**
 * The tokens a client request is charged before its answer exists (pure). It must be cheap — it runs in
 * a guard, before routing — and it is settled against the answer's real usage afterwards, so it only has to
 * be in the right range:
 * - input: the body's size / 4 (bytes from content-length, no re-serialisation); JSON framing makes this
 *   an over-estimate, which the settlement gives back;
 * - output: the request's max_tokens (OpenAI: max_completion_tokens, else max_tokens), capped at `cap`
 *   (`RateLimit.maxTokensEstimate`), or `cap` when absent. Claude Code asks for 32 000 on every call while
 *   most answers are far shorter: charging it all would refuse clients that are well within their limit.
 * A message batch counts each request's output the same way.
 */
export function estimateRequestTokens(
  body: unknown,
  bodyBytes: number | undefined,
  batch: boolean,
  cap: number,
): number {
  const bytes = bodyBytes ?? safeLength(body);
  const input = Math.ceil(bytes / 4);
  if (!isObject(body)) {
    return input;
  }
  if (!batch) {
    return input + outputOf(body, cap);
  }
  const requests = Array.isArray(body.requests) ? body.requests : [];
  let output = 0;
  for (const r of requests) {
    output += outputOf(isObject(r) && isObject(r.params) ? r.params : {}, cap);
  }
  return input + output;
}

function outputOf(params: Record<string, unknown>, cap: number): number {
  const asked = params.max_completion_tokens ?? params.max_tokens;
  return typeof asked === 'number' && Number.isFinite(asked) && asked > 0
    ? Math.min(Math.ceil(asked), cap)
    : cap;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function safeLength(body: unknown): number {
  if (body === undefined || body === null) {
    return 0;
  }
  try {
    return JSON.stringify(body).length;
  } catch {
    return 0;
  }
}
