import type { OpenAIUsage } from './openai-types';
import type { Usage } from './types';

const int = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.round(v)) : 0;

/** OpenAI usage → Anthropic usage (PROTOCOL.md §6.6): input excludes cache reads and writes. */
export function openAIUsageToAnthropic(u: Partial<OpenAIUsage> | null | undefined): Usage {
  const details = u?.prompt_tokens_details ?? {};
  const cacheRead = int(details.cached_tokens ?? u?.prompt_cache_hit_tokens);
  const cacheWrite = int(details.cache_write_tokens);
  return {
    input_tokens: Math.max(int(u?.prompt_tokens) - cacheRead - cacheWrite, 0),
    output_tokens: int(u?.completion_tokens),
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  };
}

/** Anthropic usage → OpenAI usage: prompt tokens include cache reads and writes. */
export function anthropicUsageToOpenAI(u: Partial<Usage> | null | undefined): OpenAIUsage {
  const prompt = int(u?.input_tokens) + int(u?.cache_read_input_tokens) + int(u?.cache_creation_input_tokens);
  const completion = int(u?.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: int(u?.cache_read_input_tokens) },
  };
}

const count = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.round(v)) : undefined;

/**
 * An Anthropic usage with all four counters as integers (PROTOCOL §6.6: Claude Code computes its context
 * meter from them), the ones the upstream left out taken from `known`; other fields (server_tool_use,
 * service_tier, cache_creation…) kept as they are.
 */
export function withAllCounters(u: Partial<Usage> | null | undefined, known: Usage): Usage {
  return {
    ...(u ?? {}),
    input_tokens: count(u?.input_tokens) ?? known.input_tokens,
    output_tokens: count(u?.output_tokens) ?? known.output_tokens,
    cache_creation_input_tokens: count(u?.cache_creation_input_tokens) ?? known.cache_creation_input_tokens,
    cache_read_input_tokens: count(u?.cache_read_input_tokens) ?? known.cache_read_input_tokens,
  };
}

export function emptyUsage(inputTokens = 0): Usage {
  return {
    input_tokens: int(inputTokens),
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}
