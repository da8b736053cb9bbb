import type { CacheUsage, ProviderUsageView } from './affinity.types';

export const USAGE_COUNTERS = ['requests', 'inputTokens', 'cacheReadTokens', 'cacheCreationTokens'] as const;
export type UsageTotals = Record<(typeof USAGE_COUNTERS)[number], number>;

/** Providers tracked per instance; answers of further ones are not counted (labels stay bounded). */
export const MAX_PROVIDERS = 256;

const tokens = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : 0;

/** "provider,model" → provider (the whole string when it has no comma). */
export function providerOf(target: string): string {
  const comma = target.indexOf(',');
  return comma < 0 ? target : target.slice(0, comma);
}

/** One upstream answer's contribution to its provider's totals. */
export function usageDelta(usage: CacheUsage): UsageTotals {
  return {
    requests: 1,
    inputTokens: tokens(usage.input_tokens),
    cacheReadTokens: tokens(usage.cache_read_input_tokens),
    cacheCreationTokens: tokens(usage.cache_creation_input_tokens),
  };
}

/** `into += delta`, counter by counter. */
export function addUsage(into: UsageTotals, delta: UsageTotals): void {
  for (const counter of USAGE_COUNTERS) {
    into[counter] += delta[counter];
  }
}

export function usageView(t: UsageTotals): ProviderUsageView {
  const prompt = t.inputTokens + t.cacheReadTokens + t.cacheCreationTokens;
  return {
    ...t,
    cacheReadShare: prompt > 0 ? Math.round((t.cacheReadTokens / prompt) * 10_000) / 10_000 : 0,
  };
}

export function usageViews(totals: Iterable<[string, UsageTotals]>): Record<string, ProviderUsageView> {
  const out: Record<string, ProviderUsageView> = {};
  for (const [provider, t] of [...totals].sort(([a], [b]) => a.localeCompare(b))) {
    out[provider] = usageView(t);
  }
  return out;
}

/** Upstream token counters per provider, for this instance. */
export class ProviderUsageCounters {
  private readonly totals = new Map<string, UsageTotals>();

  constructor(private readonly maxProviders = MAX_PROVIDERS) {}

  /** False when the provider is new and the cap is reached (not counted). */
  add(provider: string, delta: UsageTotals): boolean {
    let t = this.totals.get(provider);
    if (!t) {
      if (this.totals.size >= this.maxProviders) {
        return false;
      }
      t = { requests: 0, inputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 };
      this.totals.set(provider, t);
    }
    addUsage(t, delta);
    return true;
  }

  view(): Record<string, ProviderUsageView> {
    return usageViews(this.totals.entries());
  }
}
