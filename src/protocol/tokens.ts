import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { estimateTokens } from './token-estimate';
import { TokenCounter, type CountableRequest, type TokenCounterStats } from './token-counter';
import type { CanonicalRequest } from './types';

/*
 * Local token counting: routing (long-context threshold), message_start input_tokens and count_tokens for
 * upstreams that have none. Claude's tokenizer is not public; cl100k_base is the usual stand-in (also what
 * claude-code-router counts with, so thresholds carry over) and loads twice as fast as o200k_base
 * (~0.7 s vs ~1.3 s to build the rank map, ~15 ms vs ~30 ms to require).
 *
 * js-tiktoken is slow for a gateway: ~0.5 µs per character on ordinary text (a 76 KB Claude Code body
 * takes ~35–50 ms), ~25 µs of fixed cost per encode() call, and its byte-pair merge is super-linear in
 * the length of one pre-token (a 64-letter run takes ~2 ms, 1 KB ~300 ms, 20 KB of "a" ~80 s). So
 * TokenCounter memoises every counted string by content (a resent body costs map lookups), runs BPE only
 * on short strings within a per-request budget, and counts the rest with the calibrated, allocation-free
 * `estimateTokens` (±10% of cl100k, ~1 ms per 400 KB).
 */

let encoder: Tiktoken | undefined;
let warmed = false;

function bpeCount(text: string): number {
  encoder ??= new Tiktoken(cl100k);
  try {
    // 'all': text that contains "<|endoftext|>" must be counted, not rejected.
    return encoder.encode(text, 'all').length;
  } catch {
    return estimateTokens(text);
  }
}

const counter = new TokenCounter(bpeCount);

/** Mixed prose, code and JSON, long enough for V8 to optimise the counting loops. */
const WARM_LINE =
  'Read the file `src/app.ts`, then call getUserById(42) and {"path": "/tmp/x", "limit": 200}.';

function warmUpRequest(): CountableRequest {
  const tool = {
    name: 'Read',
    description: WARM_LINE,
    input_schema: { type: 'object', properties: { path: { type: 'string' } } },
  };
  const messages = Array.from({ length: 60 }, (_, i) =>
    i % 2 === 0
      ? {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: `t${i}`, content: `${WARM_LINE} ${i}` }],
        }
      : {
          role: 'assistant',
          content: [
            { type: 'text', text: `${i} ${WARM_LINE}` },
            { type: 'tool_use', id: `t${i}`, name: 'Read', input: { i } },
          ],
        },
  );
  return { system: [{ type: 'text', text: `${WARM_LINE}\n`.repeat(400) }], messages, tools: [tool] };
}

/**
 * Builds the BPE rank map (~0.7 s) and lets V8 optimise the counting code: unwarmed, the first count of
 * a 76 KB body takes ~50–100 ms instead of a few. Call at boot to keep both off the request path; the
 * warm-up uses a throwaway counter, so the shared memo and its stats stay untouched.
 */
export function warmTokenizer(): void {
  if (warmed) {
    return;
  }
  warmed = true;
  encoder ??= new Tiktoken(cl100k);
  const request = warmUpRequest();
  for (let i = 0; i < 10; i++) {
    new TokenCounter(bpeCount).countRequest(request);
  }
}

/** Tokens of one string: exact BPE when it is short enough, otherwise the calibrated estimate. */
export function countTextTokens(text: string): number {
  return counter.countText(text);
}

/** Input tokens of a Messages / count_tokens request (system, messages, tools, tool_choice, thinking). */
export function countRequestTokens(
  req: Pick<CanonicalRequest, 'system' | 'messages' | 'tools'> & {
    tool_choice?: unknown;
    thinking?: unknown;
  },
): number {
  return counter.countRequest(req);
}

/** Memo counters of the shared counter, for tests and diagnostics. */
export function tokenCounterStats(): TokenCounterStats {
  return counter.stats();
}

/** Empties the shared memo and zeroes its counters (tests). */
export function resetTokenCounter(): void {
  counter.reset();
}
