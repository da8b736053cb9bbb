/** One client limit as a response reports it: the per-minute limit and the whole units left now. */
export interface ClientWindow {
  limit: number;
  remaining: number;
}

const MINUTE_MS = 60_000;

/** A Go-style duration as OpenAI writes its resets: `20ms`, `1s`, `1.5s`, `6m0s`. */
export function goDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1000) {
    return `${whole}ms`;
  }
  const minutes = Math.floor(whole / MINUTE_MS);
  const seconds = Number(((whole % MINUTE_MS) / 1000).toFixed(3));
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}

/**
 * The rate-limit headers of a client response (pure): OpenAI's `x-ratelimit-{limit,remaining,reset}-<kind>`
 * on every route, and on Anthropic routes also Anthropic's `anthropic-ratelimit-<kind>-{limit,remaining,reset}`
 * (reset: an RFC 3339 time). A GCRA bucket refills continuously, so the reset is when it is full again:
 * the units missing times the time one unit takes.
 */
export function clientLimitHeaders(
  windows: { requests?: ClientWindow; tokens?: ClientWindow },
  anthropic: boolean,
  now: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of ['requests', 'tokens'] as const) {
    const w = windows[kind];
    if (!w) {
      continue;
    }
    const resetMs = (Math.max(0, w.limit - w.remaining) * MINUTE_MS) / w.limit;
    out[`x-ratelimit-limit-${kind}`] = String(w.limit);
    out[`x-ratelimit-remaining-${kind}`] = String(w.remaining);
    out[`x-ratelimit-reset-${kind}`] = goDuration(resetMs);
    if (anthropic) {
      const resetAt = new Date(Math.ceil((now + resetMs) / 1000) * 1000);
      out[`anthropic-ratelimit-${kind}-limit`] = String(w.limit);
      out[`anthropic-ratelimit-${kind}-remaining`] = String(w.remaining);
      out[`anthropic-ratelimit-${kind}-reset`] = resetAt.toISOString().replace('.000Z', 'Z');
    }
  }
  return out;
}
